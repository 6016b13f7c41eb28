/*
 * Unit tests of exchanges (exchange.c, t_mq.c): declare / delete / list,
 * bind and unbind (idempotent, by key and arguments), direct, fanout,
 * the default exchange, topic matching - the tables RabbitMQ documents
 * and tests (the tutorial's, its routing suite's, and the edge cases:
 * "#" alone, "#.a", "a.#", "a.#.b", "*.a", "a.*.#", empty words, keys
 * with no dots, the empty key) - headers matching with every x-match,
 * each queue reached once, trie pruning, and publish refusals.
 */

#include "mq_util.h"


static void
reset(void)
{
    if (h != NULL) {
        th_free(h);
    }

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
}


/*
 * Publish to x with key, then say which of the queues "names" (space
 * separated) got it, in that order, and empty them again.
 */
static const char *
routes_with(const char *x, const char *key, const char *props,
    const char *names)
{
    static char  out[1024];
    char        *copy, *p, *save;

    runf("X.PUBLISH %s \"%s\" m %s", x, key, props);

    out[0] = '\0';
    copy = strdup(names);

    for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        if (ready(p) > 0) {
            if (out[0]) {
                strcat(out, " ");
            }

            strcat(out, p);

            if (ready(p) > 1) {
                strcat(out, "(twice!)");
            }

            runf("Q.PURGE %s", p);
        }
    }

    free(copy);

    return out;
}


static const char *
routes(const char *x, const char *key, const char *names)
{
    return routes_with(x, key, "", names);
}


static void
test_declare(void)
{
    reset();

    is("X.DECLARE d direct", "{\"exchange\":\"d\",\"created\"::1}");
    is("X.DECLARE d DIRECT", "{\"exchange\":\"d\",\"created\"::0}");
    is("X.DECLARE f fanout durable 1", "{\"exchange\":\"f\",\"created\"::1}");
    is("X.DECLARE t topic", "{\"exchange\":\"t\",\"created\"::1}");
    is("X.DECLARE hd headers", "{\"exchange\":\"hd\",\"created\"::1}");

    err("X.DECLARE d topic", "PRECONDITION",
        "inequivalent arg 'type' for exchange 'd'");
    err("X.DECLARE f fanout", "PRECONDITION",
        "inequivalent arg 'durable' for exchange 'f'");
    err("X.DECLARE z fancy", "BADREQ",
        "exchange type must be direct, fanout, topic or headers");
    err("X.DECLARE \"\" direct", "DENIED",
        "exchange name '' is reserved");
    err("X.DECLARE amq.direct direct", "DENIED",
        "exchange name 'amq.direct' is reserved");
    err("X.DECLARE z direct auto_delete 1", "BADREQ", "syntax error");

    is("X.LIST",
       "[{\"name\":\"d\",\"type\":\"direct\",\"durable\"::0,"
       "\"bindings\"::0},{\"name\":\"f\",\"type\":\"fanout\","
       "\"durable\"::1,\"bindings\"::0},{\"name\":\"hd\","
       "\"type\":\"headers\",\"durable\"::0,\"bindings\"::0},"
       "{\"name\":\"t\",\"type\":\"topic\",\"durable\"::0,"
       "\"bindings\"::0}]");

    run("Q.DECLARE q");
    err("X.BIND nope q k", "NOTFOUND", "no exchange 'nope'");
    err("X.BIND d nope k", "NOTFOUND", "no queue 'nope'");
    err("X.BIND \"\" q k", "DENIED",
        "operation not permitted on the default exchange");
    err("X.BIND hd q \"\" x-match some", "BADREQ",
        "x-match must be all, any, all-with-x or any-with-x");
    err("X.BIND hd q \"\" a", "BADREQ", "syntax error");

    is("X.BIND d q k", ":1");
    is("X.BIND d q k", ":0");
    is("X.BIND d q k2", ":1");
    is("X.BIND hd q \"\" a 1", ":1");
    is("X.BIND hd q \"\" a 1", ":0");
    is("X.BIND hd q \"\" a 2", ":1");
    is("X.UNBIND hd q \"\" a 2", ":1");
    is("X.UNBIND hd q \"\" a 2", ":0");
    is("X.UNBIND d q nothing", ":0");

    err("X.DELETE d if_unused", "PRECONDITION", "exchange 'd' in use");
    is("X.DELETE d", ":1");
    err("X.DELETE d", "NOTFOUND", "no exchange 'd'");
    err("X.DELETE \"\"", "DENIED", "the default exchange cannot be deleted");
    err("X.PUBLISH d k m", "NOTFOUND", "no exchange 'd'");
    tap_ok(queue("q")->bindings != NULL
           && queue("q")->bindings->qnext == NULL,
           "deleting an exchange unbinds its queues");

    run("Q.DELETE q");
    is("X.LIST",
       "[{\"name\":\"f\",\"type\":\"fanout\",\"durable\"::1,"
       "\"bindings\"::0},{\"name\":\"hd\",\"type\":\"headers\","
       "\"durable\"::0,\"bindings\"::0},{\"name\":\"t\","
       "\"type\":\"topic\",\"durable\"::0,\"bindings\"::0}]");
    tap_is_int((long long) h->db->mq->bindings, 0,
               "deleting a queue removes its bindings");
}


static void
test_direct_fanout_default(void)
{
    reset();

    run("Q.DECLARE q1");
    run("Q.DECLARE q2");
    run("Q.DECLARE q3");
    run("Q.DECLARE q4");

    run("X.DECLARE d direct");
    run("X.BIND d q1 k1");
    run("X.BIND d q2 k1");
    run("X.BIND d q3 k2");
    run("X.BIND d q4 #");
    run("X.BIND d q4 \"\"");

    tap_is_str(routes("d", "k1", "q1 q2 q3 q4"), "q1 q2",
               "direct: every queue bound with the key");
    tap_is_str(routes("d", "k2", "q1 q2 q3 q4"), "q3", "direct: k2");
    tap_is_str(routes("d", "k", "q1 q2 q3 q4"), "", "direct: no prefix");
    tap_is_str(routes("d", "a", "q1 q2 q3 q4"), "",
               "direct: # is no wildcard");
    tap_is_str(routes("d", "#", "q1 q2 q3 q4"), "q4", "direct: # literal");
    tap_is_str(routes("d", "", "q1 q2 q3 q4"), "q4", "direct: empty key");
    is("X.PUBLISH d k1 m", "{\"routed\"::2}");
    runf("Q.PURGE q1");
    runf("Q.PURGE q2");

    run("X.DECLARE f fanout");
    run("X.BIND f q1 x");
    run("X.BIND f q3 y");
    tap_is_str(routes("f", "anything", "q1 q2 q3 q4"), "q1 q3",
               "fanout: every bound queue, whatever the key");

    is("X.PUBLISH \"\" q2 m", "{\"routed\"::1}");
    tap_is_str(deliveries("Q.GET q2"), "m",
               "the default exchange routes to the queue named by the key");
    tap_ok(strstr(h->out, "\"exchange\":\"\",\"routing_key\":\"q2\"") != NULL,
           "... with exchange \"\"");
    is("X.PUBLISH \"\" nope m", "{\"routed\"::0}");

    /* a queue bound twice is reached once */
    run("X.DECLARE t topic");
    run("X.BIND t q1 a.*");
    run("X.BIND t q1 #");
    run("X.BIND t q1 a.b");
    is("X.PUBLISH t a.b m", "{\"routed\"::1}");
    tap_is_int(ready("q1"), 1, "a queue matched by 3 bindings gets it once");

    /* refusals: the others keep it */
    run("Q.DECLARE full max_length 0 overflow reject-publish");
    run("X.BIND f full z");
    err("X.PUBLISH f k m2", "QUEUEFULL",
        "message refused by 1 of 3 queues (max_length reached)");
    tap_ok(ready("q1") == 2 && ready("q3") == 1,
           "a refusing queue does not stop the others");
}


/* the tutorial's table (tutorial-five) */
static void
test_topic_tutorial(void)
{
    static const char  *names = "Q1 Q2";

    static const struct {
        const char  *key;
        const char  *expect;
    } cases[] = {
        { "quick.orange.rabbit", "Q1 Q2" },
        { "lazy.orange.elephant", "Q1 Q2" },
        { "quick.orange.fox", "Q1" },
        { "lazy.brown.fox", "Q2" },
        { "lazy.pink.rabbit", "Q2" },
        { "quick.brown.fox", "" },
        { "orange", "" },
        { "quick.orange.male.rabbit", "" },
        { "lazy.orange.male.rabbit", "Q2" },
    };

    size_t  i;
    char    name[128];

    reset();

    run("X.DECLARE topic_logs topic");
    run("Q.DECLARE Q1");
    run("Q.DECLARE Q2");
    run("X.BIND topic_logs Q1 *.orange.*");
    run("X.BIND topic_logs Q2 *.*.rabbit");
    run("X.BIND topic_logs Q2 lazy.#");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(name, sizeof(name), "tutorial: %s -> [%s]", cases[i].key,
                 cases[i].expect);
        tap_is_str(routes("topic_logs", cases[i].key, names),
                   cases[i].expect, name);
    }
}


/* the edge cases, one binding per queue */
static void
test_topic_edges(void)
{
    static const char  *bind[] = {
        "#", "#.a", "a.#", "a.#.b", "*.a", "a.*.#", "a..b", "a", "*",
        "a.*", "", "#.#", "a.*.b", "*.#.*"
    };

    static const char  *names =
        "p0 p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11 p12 p13";

    static const struct {
        const char  *key;
        const char  *expect;
    } cases[] = {
        { "a", "p0 p1 p2 p7 p8 p11" },
        { "a.b", "p0 p2 p3 p5 p9 p11 p13" },
        { "b.a", "p0 p1 p4 p11 p13" },
        { "a.a", "p0 p1 p2 p4 p5 p9 p11 p13" },
        { "a.x.y.b", "p0 p2 p3 p5 p11 p13" },
        { "a..b", "p0 p2 p3 p5 p6 p11 p12 p13" },
        { "a.", "p0 p2 p5 p9 p11 p13" },
        { ".a", "p0 p1 p4 p11 p13" },
        { "", "p0 p10 p11" },
        { "abc", "p0 p8 p11" },
        { "x.y.a", "p0 p1 p11 p13" },
        { "a.b.c", "p0 p2 p5 p11 p13" },
    };

    size_t  i;
    char    name[160];

    reset();

    run("X.DECLARE t topic");

    for (i = 0; i < sizeof(bind) / sizeof(bind[0]); i++) {
        runf("Q.DECLARE p%zu", i);
        runf("X.BIND t p%zu \"%s\"", i, bind[i]);
    }

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(name, sizeof(name), "topic: \"%s\" -> [%s]", cases[i].key,
                 cases[i].expect);
        tap_is_str(routes("t", cases[i].key, names), cases[i].expect, name);
    }
}


/* RabbitMQ's routing suite: its bindings, keys and expected queues */
static void
test_topic_rabbit_suite(void)
{
    static const char  *bind[][2] = {
        { "a.b.c", "t1" }, { "a.*.c", "t2" }, { "a.#.b", "t3" },
        { "a.b.b.c", "t4" }, { "#", "t5" }, { "#.#", "t6" },
        { "#.b", "t7" }, { "*.*", "t8" }, { "a.*", "t9" },
        { "*.b.c", "t10" }, { "a.#", "t11" }, { "a.#.#", "t12" },
        { "b.b.c", "t13" }, { "a.b.b", "t14" }, { "a.b", "t15" },
        { "b.c", "t16" }, { "", "t17" }, { "*.*.*", "t18" },
        { "vodka.martini", "t19" }, { "a.b.c", "t20" }, { "*.#", "t21" },
        { "#.*.#", "t22" }, { "*.#.#", "t23" }, { "*", "t25" },
        { "#.b.#", "t26" }
    };

    static const char  *names = "t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11 t12 "
                                "t13 t14 t15 t16 t17 t18 t19 t20 t21 t22 "
                                "t23 t25 t26 t27";

    static const struct {
        const char  *key;
        const char  *before;
        const char  *after;
    } cases[] = {
        { "a.b.c", "t1 t2 t5 t6 t10 t11 t12 t18 t20 t21 t22 t23 t26",
          "t2 t6 t10 t12 t18 t20 t22 t23 t26" },
        { "a.b", "t3 t5 t6 t7 t8 t9 t11 t12 t15 t21 t22 t23 t26",
          "t3 t6 t7 t8 t9 t12 t15 t22 t23 t26" },
        { "a.b.b", "t3 t5 t6 t7 t11 t12 t14 t18 t21 t22 t23 t26",
          "t3 t6 t7 t12 t14 t18 t22 t23 t26" },
        { "", "t5 t6 t17", "t6 t17" },
        { "b.c.c", "t5 t6 t18 t21 t22 t23 t26", "t6 t18 t22 t23 t26" },
        { "a.a.a.a.a", "t5 t6 t11 t12 t21 t22 t23", "t6 t12 t22 t23" },
        { "vodka.gin", "t5 t6 t8 t21 t22 t23", "t6 t8 t22 t23" },
        { "vodka.martini", "t5 t6 t8 t19 t21 t22 t23", "t6 t8 t22 t23" },
        { "b.b.c", "t5 t6 t10 t13 t18 t21 t22 t23 t26",
          "t6 t10 t13 t18 t22 t23 t26" },
        { "nothing.here.at.all", "t5 t6 t21 t22 t23", "t6 t22 t23" },
        { "oneword", "t5 t6 t21 t22 t23 t25", "t6 t22 t23 t25" },
        { "args-test", "t5 t6 t21 t22 t23 t25 t27",
          "t6 t22 t23 t25 t27" },
    };

    size_t            i;
    char              name[160];
    kvmq_exchange_t  *x;

    reset();

    run("X.DECLARE t topic");

    for (i = 0; i < sizeof(bind) / sizeof(bind[0]); i++) {
        runf("Q.DECLARE %s", bind[i][1]);
        runf("X.BIND t %s \"%s\"", bind[i][1], bind[i][0]);
    }

    run("Q.DECLARE t27");
    run("X.BIND t t27 args-test foo bar");
    run("X.BIND t t27 args-test foo baz");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(name, sizeof(name), "routing suite: \"%s\"", cases[i].key);
        tap_is_str(routes("t", cases[i].key, names), cases[i].before, name);
    }

    /* its removals: bindings 1, 5, 11, 19, 21 and the second args-test */
    run("X.UNBIND t t1 a.b.c");
    run("X.UNBIND t t5 #");
    run("X.UNBIND t t11 a.#");
    run("X.UNBIND t t19 vodka.martini");
    run("X.UNBIND t t21 *.#");
    run("X.UNBIND t t27 args-test foo baz");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(name, sizeof(name), "routing suite after unbinding: "
                 "\"%s\"", cases[i].key);
        tap_is_str(routes("t", cases[i].key, names), cases[i].after, name);
    }

    /* every node goes with the last binding */
    for (i = 0; i < sizeof(bind) / sizeof(bind[0]); i++) {
        runf("X.UNBIND t %s \"%s\"", bind[i][1], bind[i][0]);
    }

    run("X.UNBIND t t27 args-test foo bar");

    x = kvmq_exchange_find(&h->ctx, &(kvmq_slice_t) kvmq_slice("t"));
    tap_ok(x != NULL && x->nbindings == 0
           && kvmq_htable_size(&x->edges) == 0 && x->root->nkids == 0,
           "unbinding everything prunes the trie");
    tap_is_str(routes("t", "a.b.c", names), "", "nothing routes then");

    /* a deep "#" pattern against a long key stays polynomial */
    run("X.BIND t t1 #.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.z");
    tap_is_str(routes("t", "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."
                      "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.z", "t1"), "t1",
               "#.#.#... against 41 words");
}


static void
test_headers(void)
{
    static const char  *names = "all any allx anyx all0 any0 def";

    reset();

    run("X.DECLARE h headers");
    run("Q.DECLARE all");
    run("Q.DECLARE any");
    run("Q.DECLARE allx");
    run("Q.DECLARE anyx");
    run("Q.DECLARE all0");
    run("Q.DECLARE any0");
    run("Q.DECLARE def");

    run("X.BIND h all \"\" x-match all a 1 b 2 x-foo bar");
    run("X.BIND h any \"\" x-match any a 1 b 2 x-foo bar");
    run("X.BIND h allx \"\" x-match all-with-x a 1 x-foo bar");
    run("X.BIND h anyx \"\" x-match any-with-x x-foo bar a 9");
    run("X.BIND h all0 \"\" x-match all x-only yes");
    run("X.BIND h any0 \"\" x-match any x-only yes");
    run("X.BIND h def \"\" a 1");

    {
        static const struct {
            const char  *hdrs;
            const char  *expect;
        } cases[] = {
            { "", "all0" },
            { "header a 1 header b 2", "all any all0 def" },
            { "header a 1", "any all0 def" },
            { "header b 2 header c 3", "any all0" },
            { "header a 1 header b 2 header c 3", "all any all0 def" },
            { "header a 1 header b 3", "any all0 def" },
            { "header x-foo bar", "anyx all0" },
            { "header x-foo bar header a 1", "any allx anyx all0 def" },
            { "header x-only yes", "all0" },
            { "header a 2", "all0" },
        };

        size_t  i;
        char    name[160];

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            snprintf(name, sizeof(name), "headers {%s} -> [%s]",
                     cases[i].hdrs, cases[i].expect);
            tap_is_str(routes_with("h", "", cases[i].hdrs, names),
                       cases[i].expect, name);
        }
    }
}


int
main(void)
{
    test_declare();
    test_direct_fanout_default();
    test_topic_tutorial();
    test_topic_edges();
    test_topic_rabbit_suite();
    test_headers();

    th_free(h);

    return tap_done();
}
