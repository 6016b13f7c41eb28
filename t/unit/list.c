/*
 * Unit tests of the list type (src/t_list.c, src/quicklist.c): every
 * command with the edge cases of the Redis documentation (LINSERT with a
 * missing pivot, LPOS RANK/COUNT/MAXLEN, LMOVE on one list, LSET out of
 * range, LPOP/RPOP counts), WRONGTYPE for every command, the encodings
 * (one packed node growing through the slab classes, then a chain of
 * page-sized nodes, oversized items alone), a random walk checked
 * against a model with the structure's invariants, and NOMEM in the
 * middle of every write leaving the list as it was.
 */

#include "agg_util.h"
#include "../../src/quicklist.h"


#define T0  1700000000000LL


static kvmq_list_t *
list_of(const char *key)
{
    kvmq_entry_t  *e;

    e = entry(key);

    return (e != NULL && e->type == KVMQ_TYPE_LIST) ? e->val : NULL;
}


/* the quicklist invariants; 1 when they hold */
static int
ql_ok(const kvmq_list_t *l)
{
    uint32_t              i, off;
    uint64_t              len, nodes;
    const kvmq_qlnode_t  *n, *prev;

    len = 0;
    nodes = 0;
    prev = NULL;

    for (n = l->head; n != NULL; prev = n, n = n->next) {
        if (n->prev != prev || n->count == 0 || n->used > n->cap) {
            return 0;
        }

        if (KVMQ_QL_HDR + n->cap != kvmq_slab_round(KVMQ_QL_HDR + n->cap)) {
            return 0;
        }

        if (n->cap > KVMQ_QL_DATA_MAX && n->count != 1) {
            return 0;
        }

        for (off = 0, i = 0; i < n->count; i++) {
            off += (uint32_t) kvmq_lp_size(n->data + off);
        }

        if (off != n->used) {
            return 0;
        }

        len += n->count;
        nodes++;
    }

    return l->tail == prev && l->len == len && l->nodes == nodes;
}


static void
test_push_pop(void)
{
    is("RPUSH l a b c", ":3");
    is("LPUSH l x y", ":5");
    is("LRANGE l 0 -1", "[\"y\",\"x\",\"a\",\"b\",\"c\"]");
    is("LLEN l", ":5");
    is("LLEN nosuch", ":0");
    is("TYPE l", "+list");

    is("LPUSHX nosuch a", ":0");
    is("RPUSHX nosuch a b", ":0");
    is("EXISTS nosuch", ":0");
    is("LPUSHX l p q", ":7");
    is("RPUSHX l z", ":8");
    is("LRANGE l 0 -1",
       "[\"q\",\"p\",\"y\",\"x\",\"a\",\"b\",\"c\",\"z\"]");

    is("LPOP l", "\"q\"");
    is("RPOP l", "\"z\"");
    is("LPOP l 2", "[\"p\",\"y\"]");
    is("RPOP l 2", "[\"c\",\"b\"]");
    is("LPOP l 0", "[]");
    is("RPOP l 0", "[]");
    err("LPOP l -1", "BADREQ", "value is out of range, must be positive");
    err("LPOP l x", "BADREQ", "value is out of range, must be positive");
    err("LPOP l 1 2", "BADREQ", "wrong number of arguments for 'lpop' command");
    is("LRANGE l 0 -1", "[\"x\",\"a\"]");
    is("RPOP l 10", "[\"a\",\"x\"]");
    is("EXISTS l", ":0");

    is("LPOP nosuch", "nil");
    is("LPOP nosuch 2", "nil");
    is("LPOP nosuch 0", "nil");
    is("RPOP nosuch 1", "nil");

    is("RPUSH l \"\" \"a b\" \"\\x00\\xff\"", ":3");
    is("LRANGE l 0 -1", "[\"\",\"a b\",\"\\x00\\xff\"]");
    is("LPOP l 100", "[\"\",\"a b\",\"\\x00\\xff\"]");
    is("EXISTS l", ":0");

    is("LPUSH", "!BADREQ");
    is("LPUSH l", "!BADREQ");
    is("LLEN l x", "!BADREQ");
}


static void
test_index_set_range(void)
{
    is("RPUSH l a b c d e", ":5");

    is("LINDEX l 0", "\"a\"");
    is("LINDEX l 4", "\"e\"");
    is("LINDEX l -1", "\"e\"");
    is("LINDEX l -5", "\"a\"");
    is("LINDEX l 5", "nil");
    is("LINDEX l -6", "nil");
    err("LINDEX l x", "BADREQ", "value is not an integer or out of range");
    is("LINDEX nosuch x", "nil");

    is("LSET l 0 A", "+OK");
    is("LSET l -1 E", "+OK");
    err("LSET l 5 x", "BADREQ", "index out of range");
    err("LSET l -6 x", "BADREQ", "index out of range");
    err("LSET l x x", "BADREQ", "value is not an integer or out of range");
    err("LSET nosuch 0 x", "NOTFOUND", "no such key");
    is("LRANGE l 0 -1", "[\"A\",\"b\",\"c\",\"d\",\"E\"]");

    is("LRANGE l 1 2", "[\"b\",\"c\"]");
    is("LRANGE l -2 -1", "[\"d\",\"E\"]");
    is("LRANGE l -100 100", "[\"A\",\"b\",\"c\",\"d\",\"E\"]");
    is("LRANGE l 3 1", "[]");
    is("LRANGE l 5 10", "[]");
    is("LRANGE l 0 -6", "[]");
    is("LRANGE nosuch 0 -1", "[]");
    err("LRANGE l a 1", "BADREQ", "value is not an integer or out of range");
    err("LRANGE nosuch 0 b", "BADREQ",
        "value is not an integer or out of range");

    is("LTRIM l 1 -2", "+OK");
    is("LRANGE l 0 -1", "[\"b\",\"c\",\"d\"]");
    is("LTRIM l -100 100", "+OK");
    is("LRANGE l 0 -1", "[\"b\",\"c\",\"d\"]");
    is("LTRIM nosuch 0 1", "+OK");
    err("LTRIM l x 1", "BADREQ", "value is not an integer or out of range");
    is("LTRIM l 2 1", "+OK");
    is("EXISTS l", ":0");

    is("RPUSH l a b", ":2");
    is("LTRIM l 5 10", "+OK");
    is("EXISTS l", ":0");
}


static void
test_insert_rem(void)
{
    is("RPUSH l a b c b", ":4");

    is("LINSERT l BEFORE b X", ":5");
    is("LINSERT l after b Y", ":6");
    is("LRANGE l 0 -1", "[\"a\",\"X\",\"b\",\"Y\",\"c\",\"b\"]");

    /* the documented edge cases: no pivot -1, no key 0 */
    is("LINSERT l BEFORE nope Z", ":-1");
    is("LINSERT nosuch BEFORE a Z", ":0");
    is("EXISTS nosuch", ":0");
    err("LINSERT l MIDDLE a Z", "BADREQ", "syntax error");
    err("LINSERT nosuch MIDDLE a Z", "BADREQ", "syntax error");
    is("LINSERT l BEFORE a first", ":7");
    is("LINSERT l AFTER b last", ":8");
    is("LRANGE l 0 -1",
       "[\"first\",\"a\",\"X\",\"b\",\"last\",\"Y\",\"c\",\"b\"]");

    is("DEL l", ":1");
    is("RPUSH l a b a c a a", ":6");
    is("LREM l 1 a", ":1");
    is("LRANGE l 0 -1", "[\"b\",\"a\",\"c\",\"a\",\"a\"]");
    is("LREM l -2 a", ":2");
    is("LRANGE l 0 -1", "[\"b\",\"a\",\"c\"]");
    is("LREM l 0 nope", ":0");
    is("LREM nosuch 0 a", ":0");
    err("LREM l x a", "BADREQ", "value is not an integer or out of range");
    is("RPUSH l a a", ":5");
    is("LREM l 0 a", ":3");
    is("LRANGE l 0 -1", "[\"b\",\"c\"]");
    is("LREM l 0 b", ":1");
    is("LREM l -1 c", ":1");
    is("EXISTS l", ":0");
}


static void
test_lpos(void)
{
    is("RPUSH l a b c 1 2 3 c c", ":8");

    is("LPOS l c", ":2");
    is("LPOS l nope", "nil");
    is("LPOS l c RANK 2", ":6");
    is("LPOS l c RANK -1", ":7");
    is("LPOS l c RANK -3", ":2");
    is("LPOS l c RANK 4", "nil");
    is("LPOS l c RANK -4", "nil");
    is("LPOS l c COUNT 2", "[:2,:6]");
    is("LPOS l c COUNT 0", "[:2,:6,:7]");
    is("LPOS l c COUNT 0 RANK -1", "[:7,:6,:2]");
    is("LPOS l c COUNT 2 RANK 2", "[:6,:7]");
    is("LPOS l c COUNT 0 RANK -2", "[:6,:2]");
    is("LPOS l c COUNT 1 MAXLEN 2", "[]");
    is("LPOS l c MAXLEN 3", ":2");
    is("LPOS l c MAXLEN 2", "nil");
    is("LPOS l c RANK -1 MAXLEN 1", ":7");
    is("LPOS l c RANK -1 MAXLEN 0", ":7");
    is("LPOS l a COUNT 0 MAXLEN 0", "[:0]");
    is("LPOS l nope COUNT 0", "[]");
    is("LPOS l 1", ":3");

    /* the documented errors */
    err("LPOS l c RANK 0", "BADREQ",
        "RANK can't be zero: use 1 to start from the first match, 2 from "
        "the second ... or use negative to start from the end of the "
        "list");
    err("LPOS l c COUNT -1", "BADREQ", "COUNT can't be negative");
    err("LPOS l c COUNT x", "BADREQ", "COUNT can't be negative");
    err("LPOS l c MAXLEN -1", "BADREQ", "MAXLEN can't be negative");
    err("LPOS l c RANK x", "BADREQ",
        "value is not an integer or out of range");
    err("LPOS l c RANK", "BADREQ", "syntax error");
    err("LPOS l c FOO 1", "BADREQ", "syntax error");

    /* the options are checked before the key */
    err("LPOS nosuch c RANK 0", "BADREQ",
        "RANK can't be zero: use 1 to start from the first match, 2 from "
        "the second ... or use negative to start from the end of the "
        "list");
    is("LPOS nosuch c", "nil");
    is("LPOS nosuch c COUNT 1", "[]");
    is("LPOS l c RANK -9223372036854775808", "nil");

    is("DEL l", ":1");
}


static void
test_move(void)
{
    is("RPUSH s 1 2 3", ":3");

    /* one list: a rotation, or nothing when both ends are the same */
    is("LMOVE s s LEFT RIGHT", "\"1\"");
    is("LRANGE s 0 -1", "[\"2\",\"3\",\"1\"]");
    is("LMOVE s s RIGHT LEFT", "\"1\"");
    is("LRANGE s 0 -1", "[\"1\",\"2\",\"3\"]");
    is("LMOVE s s LEFT LEFT", "\"1\"");
    is("LMOVE s s RIGHT RIGHT", "\"3\"");
    is("LRANGE s 0 -1", "[\"1\",\"2\",\"3\"]");
    is("RPOPLPUSH s s", "\"3\"");
    is("LRANGE s 0 -1", "[\"3\",\"1\",\"2\"]");

    is("LMOVE s d RIGHT LEFT", "\"2\"");
    is("LMOVE s d LEFT RIGHT", "\"3\"");
    is("LRANGE d 0 -1", "[\"2\",\"3\"]");
    is("RPOPLPUSH s d", "\"1\"");
    is("EXISTS s", ":0");
    is("LRANGE d 0 -1", "[\"1\",\"2\",\"3\"]");
    is("RPOPLPUSH s d", "nil");
    is("LMOVE s d LEFT LEFT", "nil");
    err("LMOVE d s UP LEFT", "BADREQ", "syntax error");
    err("LMOVE d s LEFT DOWN", "BADREQ", "syntax error");

    is("RPUSH one x", ":1");
    is("LMOVE one one LEFT RIGHT", "\"x\"");
    is("LRANGE one 0 -1", "[\"x\"]");

    /* a destination of another type: WRONGTYPE, the source untouched */
    is("SET str v", "+OK");
    wrongtype("LMOVE d str LEFT LEFT");
    wrongtype("RPOPLPUSH d str");
    is("LRANGE d 0 -1", "[\"1\",\"2\",\"3\"]");
    wrongtype("LMOVE str d LEFT LEFT");
    is("LMOVE nosuch str LEFT LEFT", "nil");

    is("DEL d one str", ":3");
}


static void
test_wrongtype(void)
{
    is("SET str v", "+OK");

    wrongtype("LPUSH str a");
    wrongtype("RPUSH str a");
    wrongtype("LPUSHX str a");
    wrongtype("RPUSHX str a");
    wrongtype("LLEN str");
    wrongtype("LINDEX str 0");
    wrongtype("LSET str 0 a");
    wrongtype("LINSERT str BEFORE a b");
    wrongtype("LREM str 0 a");
    wrongtype("LPOP str");
    wrongtype("RPOP str 2");
    wrongtype("LPOP str 0");
    wrongtype("LRANGE str 0 -1");
    wrongtype("LTRIM str 0 1");
    wrongtype("LPOS str a");
    wrongtype("RPOPLPUSH str x");
    wrongtype("LMOVE str x LEFT RIGHT");

    is("GET str", "\"v\"");
    is("ZADD z 1 a", ":1");
    wrongtype("LPUSH z a");
    wrongtype("LRANGE z 0 -1");
    is("DEL str z", ":2");
}


static void
test_encodings(void)
{
    int           i;
    char          line[128], big[6000];
    kvmq_list_t  *l;
    kvmq_slice_t  argv[5];

    /* small: one node, its block a slab size class */
    is("RPUSH e a b c", ":3");
    l = list_of("e");
    tap_ok(l != NULL && l->nodes == 1, "a small list is one packed node");
    tap_ok(KVMQ_QL_HDR + l->head->cap == 64, "  ... of a 64-byte block");

    for (i = 0; i < 200; i++) {
        snprintf(line, sizeof(line), "RPUSH e item%011d!", i);
        th_run(h, line);
    }

    l = list_of("e");
    tap_ok(l->nodes == 1 && KVMQ_QL_HDR + l->head->cap == 4096,
           "203 items: still one node, grown to a page");

    for (i = 200; i < 1000; i++) {
        snprintf(line, sizeof(line), "RPUSH e item%011d!", i);
        th_run(h, line);
    }

    l = list_of("e");
    tap_ok(l->nodes > 3, "1003 items: a chain of %llu nodes",
           (unsigned long long) l->nodes);
    tap_ok(ql_ok(l), "  ... with the quicklist invariants");
    tap_ok(l->head->count == 239 || l->head->next->count == 239,
           "  ... 239 items of 16 bytes per full page");

    is("LINDEX e 500", "\"item00000000497!\"");
    is("LINDEX e -1", "\"item00000000999!\"");

    /* an item longer than a page: a node of its own */
    memset(big, 'x', 5000);

    {
        argv[0].data = (const unsigned char *) "LINSERT";
        argv[0].len = 7;
        argv[1].data = (const unsigned char *) "e";
        argv[1].len = 1;
        argv[2].data = (const unsigned char *) "AFTER";
        argv[2].len = 5;
        argv[3].data = (const unsigned char *) "item00000000497!";
        argv[3].len = 16;
        argv[4].data = (const unsigned char *) big;
        argv[4].len = 5000;

        tap_is_str(th_runv(h, 5, argv), ":1004", "LINSERT of a 5000-byte item");
    }

    l = list_of("e");
    tap_ok(ql_ok(l), "  ... an oversized node, invariants hold");
    is("LINDEX e 502", "\"item00000000498!\"");
    is("STRLEN e", "!WRONGTYPE");
    is("LREM e 1 item00000000497!", ":1");
    tap_ok(ql_ok(list_of("e")), "  ... and after LREM next to it");

    is("DEL e", ":1");
}


/* ---- a random walk against a model ------------------------------------- */


#define MODEL_MAX  6000

static char    *model[MODEL_MAX];
static size_t   model_n;


static void
model_insert(size_t at, const char *s)
{
    memmove(&model[at + 1], &model[at], (model_n - at) * sizeof(char *));
    model[at] = strdup(s);
    model_n++;
}


static void
model_delete(size_t at)
{
    free(model[at]);
    memmove(&model[at], &model[at + 1], (model_n - at - 1) * sizeof(char *));
    model_n--;
}


static const char *
rand_item(char *buf)
{
    int  r, len;

    r = rand() % 100;

    if (r < 2) {
        len = 3000 + rand() % 3000;
        memset(buf, 'a' + rand() % 26, (size_t) len);
        buf[len] = '\0';
        return buf;
    }

    snprintf(buf, 64, "v%d%.*s", rand() % 50, rand() % 20,
             "_________________________");

    return buf;
}


static int
model_matches(void)
{
    int          ok;
    size_t       i, len;
    char        *expect, *p;
    const char  *got;

    for (len = 3, i = 0; i < model_n; i++) {
        len += strlen(model[i]) + 3;
    }

    expect = malloc(len);
    p = expect;
    *p++ = '[';

    for (i = 0; i < model_n; i++) {
        p += sprintf(p, "%s\"%s\"", i ? "," : "", model[i]);
    }

    *p++ = ']';
    *p = '\0';

    got = th_run(h, "LRANGE m 0 -1");
    ok = strcmp(got, expect) == 0;

    if (model_n == 0) {
        ok = strcmp(got, "[]") == 0;
    }

    free(expect);

    return ok;
}


static void
test_model(void)
{
    int            step, r, bad, cnt;
    char           buf[6100], line[6300], want[6200];
    size_t         i, n, at;
    long           c, j;
    kvmq_list_t   *l;
    kvmq_slice_t   argv[8];

    srand(12345);
    bad = 0;

    for (step = 0; step < 20000 && !bad; step++) {
        r = rand() % 100;

        if (r < 30 && model_n < MODEL_MAX - 10) {
            /* push 1..5 at either end */
            n = 1 + (size_t) (rand() % 5);
            argv[0].data = (const unsigned char *) ((r & 1) ? "LPUSH"
                                                            : "RPUSH");
            argv[0].len = 5;
            argv[1].data = (const unsigned char *) "m";
            argv[1].len = 1;

            for (i = 0; i < n; i++) {
                char  *s = strdup(rand_item(buf));

                argv[2 + i].data = (const unsigned char *) s;
                argv[2 + i].len = strlen(s);
                model_insert((r & 1) ? 0 : model_n, s);
            }

            th_runv(h, (int) n + 2, argv);

            for (i = 0; i < n; i++) {
                free((void *) argv[2 + i].data);
            }

        } else if (r < 45 && model_n > 0) {
            /* pop a few from either end */
            n = 1 + (size_t) (rand() % 4);
            snprintf(line, sizeof(line), "%s m %zu", (r & 1) ? "LPOP" : "RPOP",
                     n);
            th_run(h, line);

            for (i = 0; i < n && model_n > 0; i++) {
                model_delete((r & 1) ? 0 : model_n - 1);
            }

        } else if (r < 60 && model_n > 0) {
            /* insert next to a random pivot (its first occurrence) */
            at = (size_t) rand() % model_n;

            for (i = 0; i < model_n; i++) {
                if (strcmp(model[i], model[at]) == 0) {
                    break;
                }
            }

            argv[0].data = (const unsigned char *) "LINSERT";
            argv[0].len = 7;
            argv[1].data = (const unsigned char *) "m";
            argv[1].len = 1;
            argv[2].data = (const unsigned char *) ((r & 1) ? "AFTER"
                                                            : "BEFORE");
            argv[2].len = strlen((const char *) argv[2].data);
            argv[3].data = (const unsigned char *) model[i];
            argv[3].len = strlen(model[i]);
            rand_item(buf);
            argv[4].data = (const unsigned char *) buf;
            argv[4].len = strlen(buf);

            snprintf(want, sizeof(want), ":%zu", model_n + 1);
            if (strcmp(th_runv(h, 5, argv), want) != 0) {
                tap_diag("LINSERT at %zu: %s", i, h->out);
                bad = 1;
            }

            model_insert(i + ((r & 1) ? 1 : 0), buf);

        } else if (r < 72 && model_n > 0) {
            at = (size_t) rand() % model_n;
            rand_item(buf);
            argv[0].data = (const unsigned char *) "LSET";
            argv[0].len = 4;
            argv[1].data = (const unsigned char *) "m";
            argv[1].len = 1;
            snprintf(want, sizeof(want), "%zu", at);
            argv[2].data = (const unsigned char *) want;
            argv[2].len = strlen(want);
            argv[3].data = (const unsigned char *) buf;
            argv[3].len = strlen(buf);
            th_runv(h, 4, argv);

            free(model[at]);
            model[at] = strdup(buf);

        } else if (r < 82 && model_n > 0) {
            /* LREM of a random item's value, count -2..2 */
            at = (size_t) rand() % model_n;
            strcpy(buf, model[at]);
            c = rand() % 5 - 2;

            argv[0].data = (const unsigned char *) "LREM";
            argv[0].len = 4;
            argv[1].data = (const unsigned char *) "m";
            argv[1].len = 1;
            snprintf(want, sizeof(want), "%ld", c);
            argv[2].data = (const unsigned char *) want;
            argv[2].len = strlen(want);
            argv[3].data = (const unsigned char *) buf;
            argv[3].len = strlen(buf);
            th_runv(h, 4, argv);

            cnt = 0;

            if (c >= 0) {
                for (j = 0; j < (long) model_n; ) {
                    if (strcmp(model[j], buf) == 0
                        && (c == 0 || cnt < c))
                    {
                        model_delete((size_t) j);
                        cnt++;
                        continue;
                    }

                    j++;
                }

            } else {
                for (j = (long) model_n - 1; j >= 0; j--) {
                    if (strcmp(model[j], buf) == 0 && cnt < -c) {
                        model_delete((size_t) j);
                        cnt++;
                    }
                }
            }

        } else if (r < 86 && model_n > 2) {
            /* trim one or two off the ends */
            snprintf(line, sizeof(line), "LTRIM m %d -%d", r & 1,
                     1 + ((r >> 1) & 1));

            th_run(h, line);

            n = (size_t) ((r >> 1) & 1);

            while (n--) {
                model_delete(model_n - 1);
            }

            if (r & 1) {
                model_delete(0);
            }

        } else if (r < 93 && model_n > 0) {
            th_run(h, (r & 1) ? "LMOVE m m LEFT RIGHT" : "RPOPLPUSH m m");

            if (r & 1) {
                char  *s = model[0];

                memmove(&model[0], &model[1], (model_n - 1) * sizeof(char *));
                model[model_n - 1] = s;

            } else {
                char  *s = model[model_n - 1];

                memmove(&model[1], &model[0], (model_n - 1) * sizeof(char *));
                model[0] = s;
            }

        } else if (model_n > 0) {
            at = (size_t) rand() % model_n;
            snprintf(line, sizeof(line), "LINDEX m -%zu", model_n - at);
            snprintf(want, sizeof(want), "\"%s\"", model[at]);

            if (strcmp(th_run(h, line), want) != 0) {
                tap_diag("LINDEX %zu", at);
                bad = 1;
            }
        }

        l = list_of("m");

        if ((l == NULL) != (model_n == 0)
            || (l != NULL && (l->len != model_n || !ql_ok(l))))
        {
            tap_diag("step %d: list broken (model %zu, r %d, len %llu)",
                     step, model_n, r,
                     l ? (unsigned long long) l->len : 0ULL);
            bad = 1;
        }

        if (step % 500 == 0 && !model_matches()) {
            tap_diag("step %d: LRANGE differs from the model", step);
            bad = 1;
        }
    }

    tap_ok(!bad && model_matches(),
           "20000 random writes agree with a model (%zu items at the end)",
           model_n);

    while (model_n) {
        model_delete(model_n - 1);
    }

    th_run(h, "DEL m");
}


/* ---- NOMEM ------------------------------------------------------------- */


static void
test_nomem(void)
{
    int     i;
    char    line[8192], *p;
    th_t   *saved;

    saved = h;
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    /* a multi-node list with full nodes */
    for (i = 0; i < 600; i++) {
        snprintf(line, sizeof(line), "RPUSH big item%011d!", i);
        th_run(h, line);
    }

    is("RPUSH small a b c", ":3");

    p = line + sprintf(line, "LPUSH big");

    for (i = 0; i < 250; i++) {
        p += sprintf(p, " new%012d!", i);
    }

    nomem_sweep(line, "LLEN big ; LRANGE big 0 5 ; LRANGE big -5 -1", 32,
                ":850", "LPUSH of 250 items onto full nodes");

    p = line + sprintf(line, "RPUSH small");

    for (i = 0; i < 240; i++) {
        p += sprintf(p, " x%d", i);
    }

    nomem_sweep(line, "LRANGE small 0 -1", 16, ":243",
                "RPUSH growing a packed node into a chain");

    nomem_sweep("RPUSH fresh a b c", "EXISTS fresh", 8, ":3",
                "RPUSH of a new key");
    nomem_sweep("LINSERT big BEFORE item00000000300! "
                "a-new-item-of-some-length", "LRANGE big 0 -1", 16,
                ":851", "LINSERT splitting a full node");
    nomem_sweep("LSET big 400 "
                "a-much-longer-item-than-what-was-there-before",
                "LRANGE big 0 -1", 16, "+OK",
                "LSET growing an item in a full node");
    nomem_sweep("LMOVE small dest LEFT RIGHT",
                "LRANGE small 0 -1 ; EXISTS dest", 8, "\"a\"",
                "LMOVE to a new key");

    /* two full nodes: the rotation needs a third */
    for (i = 0; i < 2 * 239; i++) {
        snprintf(line, sizeof(line), "RPUSH chain item%011d!", i);
        th_run(h, line);
    }

    tap_ok(list_of("chain")->nodes == 2, "478 items of 16 bytes: 2 nodes");
    nomem_sweep("LMOVE chain chain LEFT RIGHT", "LRANGE chain 0 -1", 8,
                "\"item00000000000!\"", "LMOVE rotating full nodes");
    /* after the rotation the head node has room: fill a fresh one */
    for (i = 0; i < 239; i++) {
        snprintf(line, sizeof(line), "RPUSH full item%011d!", i);
        th_run(h, line);
    }

    nomem_sweep("RPOPLPUSH big full", "LRANGE big 0 -1 ; LRANGE full 0 -1",
                8, "\"item00000000599!\"", "RPOPLPUSH onto a full node");

    th_free(h);
    h = saved;
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    test_push_pop();
    test_index_set_range();
    test_insert_rem();
    test_lpos();
    test_move();
    test_wrongtype();
    test_encodings();
    test_model();
    test_nomem();

    th_free(h);

    return tap_done();
}
