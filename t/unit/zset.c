/*
 * Unit tests of the sorted-set type (src/t_zset.c, src/t_zrange.c,
 * src/zskiplist.c): ZADD and every option and conflict, ZINCRBY and its
 * NaN error, score formatting, every reading command and every form of
 * ZRANGE run on both encodings, ZRANGEBYLEX with mixed scores, the
 * deletions and pops, the *STORE commands (WEIGHTS, AGGREGATE, sets as
 * inputs, any destination type overwritten, an empty result deleting
 * it), ZSCAN and its guarantee, the conversion between the encodings,
 * WRONGTYPE for every command, a random walk checked against a model
 * with the skiplist's invariants, and NOMEM in the middle of every write
 * leaving the set as it was.
 */

#include <math.h>

#include "agg_util.h"
#include "../../src/zset.h"


#define T0  1700000000000LL


static void *
zset_of(const char *key)
{
    kvmq_entry_t  *e;

    e = entry(key);

    return (e != NULL && e->type == KVMQ_TYPE_ZSET) ? e->val : NULL;
}


static int
enc_of(const char *key)
{
    void  *z;

    z = zset_of(key);

    return z ? kvmq_zset_enc(z) : 0;
}


/* a line with the key name put in */
static void
isk(const char *key, const char *fmt, const char *expect)
{
    char  line[1024];

    snprintf(line, sizeof(line), fmt, key);
    is(line, expect);
}


static void
errk(const char *key, const char *fmt, const char *msg)
{
    char  line[1024];

    snprintf(line, sizeof(line), fmt, key);
    err(line, "BADREQ", msg);
}


/* the skiplist invariants: order, backward links, spans (ranks), table */
static int
zsl_ok(kvmq_zset_t *z)
{
    uint64_t          i;
    kvmq_slice_t      m, pm;
    kvmq_zsl_node_t  *x, *prev;

    prev = NULL;
    i = 0;

    for (x = z->head->forward[0]; x != NULL; prev = x, x = x->forward[0]) {
        i++;
        m = kvmq_zsl_member(x);

        if (x->backward != prev) {
            return 0;
        }

        if (prev != NULL) {
            pm = kvmq_zsl_member(prev);

            if (prev->score > x->score
                || (prev->score == x->score
                    && kvmq_zset_member_cmp(pm.data, pm.len, m.data, m.len)
                       >= 0))
            {
                return 0;
            }
        }

        if (kvmq_zsl_rank(z, x) != i || kvmq_zsl_by_rank(z, i) != x
            || kvmq_zsl_find(&h->ctx, z, m.data, m.len) != x)
        {
            return 0;
        }
    }

    return z->tail == prev && z->length == i
           && kvmq_htable_size(&z->ht) == i;
}


/* ---- ZADD ZINCRBY ------------------------------------------------------ */


static void
test_zadd(void)
{
    is("ZADD z 1 a 2 b 3 c", ":3");
    is("ZADD z 1 a 20 b 4 d", ":1");
    is("ZRANGE z 0 -1 WITHSCORES",
       "[[\"a\",,1],[\"c\",,3],[\"d\",,4],[\"b\",,20]]");
    is("ZCARD z", ":4");
    is("TYPE z", "+zset");

    /* CH counts changed scores too */
    is("ZADD z CH 1 a 2 b 5 e", ":2");
    is("ZADD z CH 2 b", ":0");

    /* NX: only new members; XX: only existing ones */
    is("ZADD z NX 100 a 6 f", ":1");
    is("ZSCORE z a", ",1");
    is("ZADD z XX 100 a 7 g", ":0");
    is("ZSCORE z a", ",100");
    is("ZSCORE z g", "nil");
    is("ZADD nosuch XX 1 a", ":0");
    is("EXISTS nosuch", ":0");
    is("ZADD nosuch XX INCR 1 a", "nil");
    is("EXISTS nosuch", ":0");

    /* GT / LT: only updates that go the right way; new members still in */
    is("ZADD z GT CH 50 a 200 b 8 h", ":2");
    is("ZSCORE z a", ",100");
    is("ZSCORE z b", ",200");
    is("ZADD z LT CH 50 a 300 b", ":1");
    is("ZSCORE z a", ",50");
    is("ZSCORE z b", ",200");
    is("ZADD z XX GT CH 60 a 9 nope", ":1");
    is("ZSCORE z nope", "nil");

    /* the documented conflicts */
    err("ZADD z NX XX 1 a", "BADREQ",
        "XX and NX options at the same time are not compatible");
    err("ZADD z GT LT 1 a", "BADREQ",
        "GT, LT, and/or NX options at the same time are not compatible");
    err("ZADD z GT NX 1 a", "BADREQ",
        "GT, LT, and/or NX options at the same time are not compatible");
    err("ZADD z LT NX 1 a", "BADREQ",
        "GT, LT, and/or NX options at the same time are not compatible");
    err("ZADD z GT LT NX 1 a", "BADREQ",
        "GT, LT, and/or NX options at the same time are not compatible");
    err("ZADD z NX XX GT 1 a", "BADREQ",
        "XX and NX options at the same time are not compatible");
    err("ZADD z INCR 1 a 2 b", "BADREQ",
        "INCR option supports a single increment-element pair");
    err("ZADD z 1 a 2", "BADREQ", "syntax error");
    err("ZADD z NX 1", "BADREQ", "syntax error");
    err("ZADD z 1 a x b", "BADREQ", "value is not a valid float");
    err("ZADD z nan a", "BADREQ", "value is not a valid float");
    err("ZADD z FOO 1 a", "BADREQ", "syntax error");
    err("ZADD z FOO a", "BADREQ", "value is not a valid float");
    err("ZADD z \"\" a", "BADREQ", "value is not a valid float");
    is("ZADD", "!BADREQ");
    is("ZADD z 1", "!BADREQ");

    /* all or nothing: a bad score anywhere changes nothing */
    is("ZADD z 1 new1 x new2", "!BADREQ");
    is("ZSCORE z new1", "nil");

    /* INCR: the new score, nil when nothing was done */
    is("ZADD z INCR 5 a", ",65");
    is("ZADD z INCR -65 a", ",0");
    is("ZADD z NX INCR 5 a", "nil");
    is("ZADD z XX INCR 5 zz", "nil");
    is("ZADD z GT INCR -1 a", "nil");
    is("ZADD z INCR 2.5 new", ",2.5");

    /* a member named twice: the last pair wins, counted once */
    is("ZADD dup 1 a 2 a 3 a", ":1");
    is("ZRANGE dup 0 -1 WITHSCORES", "[[\"a\",,3]]");
    is("ZADD dup NX 1 b 2 b", ":1");
    is("ZSCORE dup b", ",1");

    is("ZINCRBY z 10 a", ",10");
    is("ZINCRBY z -2.5 a", ",7.5");
    is("ZINCRBY z 1 newmember", ",1");
    err("ZINCRBY z x a", "BADREQ", "value is not a valid float");
    err("ZINCRBY z 1 a b", "BADREQ",
        "wrong number of arguments for 'zincrby' command");

    is("DEL z dup", ":2");
}


static void
test_nan(void)
{
    void  *z;

    /* inf + -inf is NaN: an error, and the set is unchanged */
    is("ZADD n inf a 1 b", ":2");
    err("ZINCRBY n -inf a", "BADREQ",
        "resulting score is not a number (NaN)");
    err("ZADD n INCR -inf a", "BADREQ",
        "resulting score is not a number (NaN)");
    is("ZSCORE n a", ",inf");
    is("ZINCRBY n inf a", ",inf");
    is("ZINCRBY n -inf b", ",-inf");

    /* the same on a skiplist set */
    z = NULL;
    is("ZADD n 0 "
       "a-member-longer-than-sixty-four-bytes-makes-the-set-a-skiplist-xx",
       ":1");
    z = zset_of("n");
    tap_ok(z && kvmq_zset_enc(z) == KVMQ_ZSET_SKIPLIST, "  ... a skiplist");
    err("ZINCRBY n -inf a", "BADREQ",
        "resulting score is not a number (NaN)");
    is("ZSCORE n a", ",inf");
    is("ZCARD n", ":3");

    is("DEL n", ":1");
}


static void
test_scores(void)
{
    /* Redis prints scores with %.17g, integers without a point */
    is("ZADD f 1 a 1.5 b 0.1 c -2.5e-10 d 1e300 e 3 f 100000000000000000 g",
       ":7");
    is("ZSCORE f a", ",1");
    is("ZSCORE f b", ",1.5");
    is("ZSCORE f c", ",0.10000000000000001");
    is("ZSCORE f d", ",-2.5000000000000002e-10");
    is("ZSCORE f e", ",1.0000000000000001e+300");
    is("ZSCORE f g", ",100000000000000000");
    is("ZADD f +inf pinf -inf ninf", ":2");
    is("ZSCORE f pinf", ",inf");
    is("ZSCORE f ninf", ",-inf");
    is("ZRANGE f 0 0 WITHSCORES", "[[\"ninf\",,-inf]]");
    is("ZRANGE f -1 -1 WITHSCORES", "[[\"pinf\",,inf]]");
    is("ZMSCORE f a b nope", "[,1,,1.5,nil]");
    is("ZMSCORE nosuch a b", "[nil,nil]");
    is("ZADD f 1e400 x", "!BADREQ");

    /* -0: Redis' packed encoding stores it as the integer 0 */
    is("ZADD f -0 z", ":1");
    is("ZSCORE f z", ",0");

    is("DEL f", ":1");
}


/* ---- both encodings ---------------------------------------------------- */


/*
 * The same reads and ranges on a set of either encoding: k holds
 * a=1 b=2 c=3 d=3 e=5 (and nothing else).
 */
static void
check_reads(const char *k)
{
    isk(k, "ZCARD %s", ":5");
    isk(k, "ZSCORE %s c", ",3");
    isk(k, "ZSCORE %s nope", "nil");
    isk(k, "ZRANK %s a", ":0");
    isk(k, "ZRANK %s d", ":3");
    isk(k, "ZREVRANK %s a", ":4");
    isk(k, "ZREVRANK %s e", ":0");
    isk(k, "ZRANK %s nope", "nil");

    /* by rank */
    isk(k, "ZRANGE %s 0 -1", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");
    isk(k, "ZRANGE %s 1 2 WITHSCORES", "[[\"b\",,2],[\"c\",,3]]");
    isk(k, "ZRANGE %s -2 -1", "[\"d\",\"e\"]");
    isk(k, "ZRANGE %s -100 100", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");
    isk(k, "ZRANGE %s 3 1", "[]");
    isk(k, "ZRANGE %s 5 10", "[]");
    isk(k, "ZRANGE %s 0 -1 REV", "[\"e\",\"d\",\"c\",\"b\",\"a\"]");
    isk(k, "ZRANGE %s 1 2 REV WITHSCORES", "[[\"d\",,3],[\"c\",,3]]");
    isk(k, "ZREVRANGE %s 0 1", "[\"e\",\"d\"]");
    isk(k, "ZREVRANGE %s -1 -1 WITHSCORES", "[[\"a\",,1]]");

    /* by score: inclusive, exclusive, infinities */
    isk(k, "ZRANGE %s 2 3 BYSCORE", "[\"b\",\"c\",\"d\"]");
    isk(k, "ZRANGE %s (2 3 BYSCORE", "[\"c\",\"d\"]");
    isk(k, "ZRANGE %s (2 (3 BYSCORE", "[]");
    isk(k, "ZRANGE %s -inf +inf BYSCORE", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");
    isk(k, "ZRANGE %s (-inf (+inf BYSCORE", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");
    isk(k, "ZRANGE %s 3 3 BYSCORE WITHSCORES", "[[\"c\",,3],[\"d\",,3]]");
    isk(k, "ZRANGE %s (3 3 BYSCORE", "[]");
    isk(k, "ZRANGE %s 4 2 BYSCORE", "[]");
    isk(k, "ZRANGE %s 6 +inf BYSCORE", "[]");
    isk(k, "ZRANGE %s -inf 0 BYSCORE", "[]");
    isk(k, "ZRANGE %s +inf -inf BYSCORE REV",
        "[\"e\",\"d\",\"c\",\"b\",\"a\"]");
    isk(k, "ZRANGE %s 3 (1 BYSCORE REV", "[\"d\",\"c\",\"b\"]");
    isk(k, "ZRANGE %s -inf +inf BYSCORE LIMIT 1 2", "[\"b\",\"c\"]");
    isk(k, "ZRANGE %s -inf +inf BYSCORE LIMIT 1 -1",
        "[\"b\",\"c\",\"d\",\"e\"]");
    isk(k, "ZRANGE %s -inf +inf BYSCORE LIMIT 1 0", "[]");
    isk(k, "ZRANGE %s -inf +inf BYSCORE LIMIT -1 2", "[]");
    isk(k, "ZRANGE %s -inf +inf BYSCORE LIMIT 5 2", "[]");
    isk(k, "ZRANGE %s +inf -inf BYSCORE REV LIMIT 1 2 WITHSCORES",
        "[[\"d\",,3],[\"c\",,3]]");
    isk(k, "ZRANGEBYSCORE %s 1 (3", "[\"a\",\"b\"]");
    isk(k, "ZRANGEBYSCORE %s -inf +inf WITHSCORES LIMIT 4 10",
        "[[\"e\",,5]]");
    isk(k, "ZREVRANGEBYSCORE %s 3 -inf", "[\"d\",\"c\",\"b\",\"a\"]");
    isk(k, "ZREVRANGEBYSCORE %s +inf (3 WITHSCORES", "[[\"e\",,5]]");
    isk(k, "ZRANGEBYSCORE %s \" 2\" 2.0", "[\"b\"]");
    isk(k, "ZRANGEBYSCORE %s \"\" 1e400", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");
    isk(k, "ZCOUNT %s -inf +inf", ":5");
    isk(k, "ZCOUNT %s (1 3", ":3");
    isk(k, "ZCOUNT %s 3 3", ":2");
    isk(k, "ZCOUNT %s (3 3", ":0");
    isk(k, "ZCOUNT %s 10 20", ":0");

    /* by lex (the scores differ: each encoding's own walk answers) */
    isk(k, "ZRANGE %s - + BYLEX", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");
    isk(k, "ZRANGE %s [b (d BYLEX", "[\"b\",\"c\"]");
    isk(k, "ZRANGE %s (b [d BYLEX", "[\"c\",\"d\"]");
    isk(k, "ZRANGE %s + - BYLEX REV", "[\"e\",\"d\",\"c\",\"b\",\"a\"]");
    isk(k, "ZRANGE %s - + BYLEX LIMIT 1 2", "[\"b\",\"c\"]");
    isk(k, "ZRANGEBYLEX %s [c +", "[\"c\",\"d\",\"e\"]");
    isk(k, "ZRANGEBYLEX %s + -", "[]");
    isk(k, "ZRANGEBYLEX %s [b [b", "[\"b\"]");
    isk(k, "ZRANGEBYLEX %s (b (b", "[]");
    isk(k, "ZREVRANGEBYLEX %s [d - LIMIT 0 2", "[\"d\",\"c\"]");
    isk(k, "ZLEXCOUNT %s - +", ":5");
    isk(k, "ZLEXCOUNT %s (a [c", ":2");

    /* ZRANGE's option rules */
    errk(k, "ZRANGE %s 0 -1 LIMIT 0 1",
         "syntax error, LIMIT is only supported in combination with "
         "either BYSCORE or BYLEX");
    errk(k, "ZRANGE %s - + BYLEX WITHSCORES",
         "syntax error, WITHSCORES not supported in combination with BYLEX");
    errk(k, "ZRANGE %s 0 -1 BYSCORE BYLEX", "syntax error");
    errk(k, "ZRANGE %s 0 -1 REV REV", "syntax error");
    errk(k, "ZRANGE %s 0 -1 LIMIT 0", "syntax error");
    errk(k, "ZREVRANGE %s 0 -1 REV", "syntax error");
    errk(k, "ZRANGEBYSCORE %s 0 1 BYLEX", "syntax error");
    errk(k, "ZRANGEBYLEX %s - + WITHSCORES",
         "syntax error, WITHSCORES not supported in combination with BYLEX");
    errk(k, "ZRANGE %s a 1", "value is not an integer or out of range");
    errk(k, "ZRANGE %s x 1 BYSCORE", "min or max is not a float");
    errk(k, "ZRANGE %s nan 1 BYSCORE", "min or max is not a float");
    errk(k, "ZRANGE %s a b BYLEX", "min or max not valid string range item");
    errk(k, "ZRANGE %s -x + BYLEX", "min or max not valid string range item");
    errk(k, "ZCOUNT %s 1 x", "min or max is not a float");
    errk(k, "ZLEXCOUNT %s [a b", "min or max not valid string range item");
    errk(k, "ZRANGE %s 0 1 LIMIT x 1 BYSCORE",
         "value is not an integer or out of range");
    isk(k, "ZRANGE %s 0 -1 LIMIT 0 -1", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");
}


/* deletions on either encoding; k holds a=1 b=2 c=3 d=3 e=5 */
static void
check_writes(const char *k)
{
    isk(k, "ZREM %s a nope a", ":1");
    isk(k, "ZREMRANGEBYRANK %s -1 -1", ":1");
    isk(k, "ZRANGE %s 0 -1", "[\"b\",\"c\",\"d\"]");
    isk(k, "ZREMRANGEBYRANK %s 5 10", ":0");
    isk(k, "ZREMRANGEBYSCORE %s (2 3", ":2");
    isk(k, "ZADD %s 4 x 5 y 6 z", ":3");
    isk(k, "ZREMRANGEBYLEX %s [x (z", ":2");
    isk(k, "ZRANGE %s 0 -1", "[\"b\",\"z\"]");
    isk(k, "ZPOPMIN %s", "[[\"b\",,2]]");
    isk(k, "ZADD %s 7 p 8 q 9 r", ":3");
    isk(k, "ZPOPMAX %s 2", "[[\"r\",,9],[\"q\",,8]]");
    isk(k, "ZPOPMIN %s 0", "[]");
    errk(k, "ZPOPMIN %s -1", "value is out of range, must be positive");
    errk(k, "ZPOPMIN %s 1 2", "syntax error");
    isk(k, "ZPOPMIN %s 100", "[[\"z\",,6],[\"p\",,7]]");
    isk(k, "EXISTS %s", ":0");
}


static void
make_set(const char *k, int skiplist)
{
    char  line[256];

    snprintf(line, sizeof(line), "ZADD %s 1 a 2 b 3 c 3 d 5 e", k);
    is(line, ":5");

    if (skiplist) {
        /* a member over 64 bytes converts it; it stays so without it */
        snprintf(line, sizeof(line), "ZADD %s 0 %.70d", k, 7);
        is(line, ":1");
        snprintf(line, sizeof(line), "ZREM %s %.70d", k, 7);
        is(line, ":1");
    }

    tap_ok(enc_of(k) == (skiplist ? KVMQ_ZSET_SKIPLIST : KVMQ_ZSET_PACKED),
           "%s is %s", k, skiplist ? "a skiplist" : "packed");
}


static void
test_encodings_both(void)
{
    make_set("zp", 0);
    check_reads("zp");
    check_writes("zp");

    make_set("zs", 1);
    check_reads("zs");
    tap_ok(zsl_ok(zset_of("zs")), "zs: skiplist invariants");
    check_writes("zs");

    is("ZCARD nosuch", ":0");
    is("ZRANGE nosuch 0 -1", "[]");
    is("ZRANGE nosuch x y BYSCORE", "!BADREQ");
    is("ZCOUNT nosuch 0 1", ":0");
    is("ZLEXCOUNT nosuch - +", ":0");
    is("ZREM nosuch a", ":0");
    is("ZREMRANGEBYRANK nosuch 0 1", ":0");
    is("ZPOPMAX nosuch", "[]");
    is("ZRANK nosuch a", "nil");
}


static void
test_conversion(void)
{
    int    i;
    char   line[128];
    void  *z;

    for (i = 0; i < 128; i++) {
        snprintf(line, sizeof(line), "ZADD c %d m%03d", i, i);
        th_run(h, line);
    }

    tap_ok(enc_of("c") == KVMQ_ZSET_PACKED, "128 members: packed");
    z = zset_of("c");
    tap_ok(kvmq_zset_bytes(z) <= 2048, "  ... in one block of %zu bytes",
           kvmq_zset_bytes(z));

    is("ZADD c XX 1000 m000", ":0");
    tap_ok(enc_of("c") == KVMQ_ZSET_PACKED, "an update keeps it packed");

    is("ZADD c 128 m128", ":1");
    tap_ok(enc_of("c") == KVMQ_ZSET_SKIPLIST, "the 129th member: a skiplist");
    tap_ok(zsl_ok(zset_of("c")), "  ... with the invariants");
    is("ZRANGE c 0 2 WITHSCORES",
       "[[\"m001\",,1],[\"m002\",,2],[\"m003\",,3]]");
    is("ZRANGE c -1 -1 WITHSCORES", "[[\"m000\",,1000]]");
    is("ZRANK c m128", ":127");

    /* never back down on deletes, as in Redis 7.0 */
    is("ZREMRANGEBYRANK c 0 120", ":121");
    tap_ok(enc_of("c") == KVMQ_ZSET_SKIPLIST, "8 members left: a skiplist");
    tap_ok(zsl_ok(zset_of("c")), "  ... with the invariants");

    /* conversion in the middle of one ZADD: all pairs applied */
    is("ZADD p 1 a 2 b", ":2");
    is("ZADD p 3 c 4 "
       "a-member-longer-than-sixty-four-bytes-makes-the-set-a-skiplist-xx "
       "0 a 5 d", ":3");
    tap_ok(enc_of("p") == KVMQ_ZSET_SKIPLIST, "a 65-byte member: a skiplist");
    is("ZRANGE p 0 -1", "[\"a\",\"b\",\"c\","
       "\"a-member-longer-than-sixty-four-bytes-makes-the-set-a-skiplist-xx\""
       ",\"d\"]");

    /* the stores build the encoding the result calls for */
    is("ZUNIONSTORE small 1 c", ":8");
    tap_ok(enc_of("small") == KVMQ_ZSET_PACKED, "ZUNIONSTORE of 8: packed");
    is("ZUNIONSTORE smallp 1 p", ":5");
    tap_ok(enc_of("smallp") == KVMQ_ZSET_SKIPLIST,
           "ZUNIONSTORE with a 65-byte member: a skiplist");

    /* the conversion function, both ways */
    z = kvmq_zset_convert(&h->ctx, zset_of("c"), KVMQ_ZSET_PACKED);
    tap_ok(z != NULL && kvmq_zset_enc(z) == KVMQ_ZSET_PACKED
           && kvmq_zset_length(z) == 8, "kvmq_zset_convert to packed");

    if (z != NULL) {
        void  *z2;

        z2 = kvmq_zset_convert(&h->ctx, z, KVMQ_ZSET_SKIPLIST);
        tap_ok(z2 != NULL && zsl_ok(z2) && kvmq_zset_length(z2) == 8,
               "  ... and back to a skiplist");
        kvmq_zset_free(&h->ctx, z2);
        kvmq_zset_free(&h->ctx, z);
    }

    is("DEL c p small smallp", ":4");
}


static void
test_lex_mixed(void)
{
    /*
     * ZRANGEBYLEX on members of different scores is undefined in Redis;
     * it answers what its walk finds, and so does kvmq, the same walk:
     * a packed set is scanned from its start for the first member >= min,
     * then while <= max.
     */
    is("ZADD mix 0 b 1 a 2 d 3 c", ":4");
    is("ZRANGEBYLEX mix - +", "[\"b\",\"a\",\"d\",\"c\"]");
    is("ZRANGEBYLEX mix [b [c", "[\"b\",\"a\"]");
    is("ZRANGEBYLEX mix (a +", "[\"b\",\"a\",\"d\",\"c\"]");
    is("ZRANGEBYLEX mix [c +", "[\"d\",\"c\"]");
    is("ZREVRANGEBYLEX mix [c -", "[\"c\",\"d\",\"a\",\"b\"]");
    is("ZLEXCOUNT mix [b [c", ":2");
    is("ZREMRANGEBYLEX mix [b [c", ":2");
    is("ZRANGE mix 0 -1", "[\"d\",\"c\"]");

    /* with one score the lex order is the set's order */
    is("ZADD same 0 e 0 a 0 c 0 b 0 d", ":5");
    is("ZRANGEBYLEX same (b [d", "[\"c\",\"d\"]");
    is("ZRANGEBYLEX same - (c", "[\"a\",\"b\"]");
    is("ZREVRANGEBYLEX same + (c LIMIT 0 1", "[\"e\"]");
    is("ZLEXCOUNT same (a (e", ":3");
    is("ZRANGEBYLEX same \"[\" \"(\"", "[]");
    is("ZRANGEBYLEX same \"[\" +", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");

    is("DEL mix same", ":2");
}


/* ---- stores ------------------------------------------------------------ */


static void
test_store(void)
{
    is("ZADD s1 1 a 2 b 3 c", ":3");
    is("ZADD s2 10 b 20 c 30 d", ":3");

    is("ZUNIONSTORE out 2 s1 s2", ":4");
    is("ZRANGE out 0 -1 WITHSCORES",
       "[[\"a\",,1],[\"b\",,12],[\"c\",,23],[\"d\",,30]]");
    is("ZUNIONSTORE out 2 s1 s2 WEIGHTS 2 0.5", ":4");
    is("ZRANGE out 0 -1 WITHSCORES",
       "[[\"a\",,2],[\"b\",,9],[\"d\",,15],[\"c\",,16]]");
    is("ZUNIONSTORE out 2 s1 s2 AGGREGATE MIN", ":4");
    is("ZRANGE out 0 -1 WITHSCORES",
       "[[\"a\",,1],[\"b\",,2],[\"c\",,3],[\"d\",,30]]");
    is("ZUNIONSTORE out 2 s1 s2 AGGREGATE max WEIGHTS -1 1", ":4");
    is("ZRANGE out 0 -1 WITHSCORES",
       "[[\"a\",,-1],[\"b\",,10],[\"c\",,20],[\"d\",,30]]");

    is("ZINTERSTORE out 2 s1 s2", ":2");
    is("ZRANGE out 0 -1 WITHSCORES", "[[\"b\",,12],[\"c\",,23]]");
    is("ZINTERSTORE out 2 s1 s2 AGGREGATE MAX WEIGHTS 10 1", ":2");
    is("ZRANGE out 0 -1 WITHSCORES", "[[\"b\",,20],[\"c\",,30]]");
    is("ZINTERSTORE out 2 s1 s1", ":3");
    is("ZRANGE out 0 -1 WITHSCORES", "[[\"a\",,2],[\"b\",,4],[\"c\",,6]]");

    is("ZDIFFSTORE out 2 s1 s2", ":1");
    is("ZRANGE out 0 -1 WITHSCORES", "[[\"a\",,1]]");
    is("ZDIFFSTORE out 1 s2", ":3");
    is("ZRANGE out 0 -1 WITHSCORES",
       "[[\"b\",,10],[\"c\",,20],[\"d\",,30]]");

    /* inf * 0 is NaN: Redis makes it 0; inf + -inf in a sum too */
    is("ZADD inf1 inf a", ":1");
    is("ZADD inf2 -inf a", ":1");
    is("ZUNIONSTORE out 1 inf1 WEIGHTS 0", ":1");
    is("ZSCORE out a", ",0");
    is("ZUNIONSTORE out 2 inf1 inf2", ":1");
    is("ZSCORE out a", ",0");

    /* an empty result deletes the destination, whatever it held */
    is("SET out str", "+OK");
    is("ZINTERSTORE out 2 s1 nosuch", ":0");
    is("EXISTS out", ":0");
    is("RPUSH out x", ":1");
    is("ZDIFFSTORE out 2 s1 s1", ":0");
    is("EXISTS out", ":0");
    is("ZUNIONSTORE out 2 nosuch nosuch2", ":0");
    is("EXISTS out", ":0");

    /* any type is overwritten, and the TTL goes with the old value */
    is("SET out str EX 100", "+OK");
    is("ZUNIONSTORE out 1 s1", ":3");
    is("TYPE out", "+zset");
    is("TTL out", ":-1");
    is("RPUSH lst a", ":1");
    is("ZUNIONSTORE lst 2 s1 s2", ":4");
    is("TYPE lst", "+zset");

    /* the destination may be an input */
    is("ZUNIONSTORE s1 2 s1 s2", ":4");
    is("ZRANGE s1 0 -1 WITHSCORES",
       "[[\"a\",,1],[\"b\",,12],[\"c\",,23],[\"d\",,30]]");

    /* sets are inputs whose members score 1 */
    is("SADD set b c x 5", ":4");
    is("ZUNIONSTORE out 2 s2 set", ":5");
    is("ZRANGE out 0 -1 WITHSCORES",
       "[[\"5\",,1],[\"x\",,1],[\"b\",,11],[\"c\",,21],[\"d\",,30]]");
    is("ZINTERSTORE out 2 set s2 WEIGHTS 3 1", ":2");
    is("ZRANGE out 0 -1 WITHSCORES", "[[\"b\",,13],[\"c\",,23]]");
    is("ZDIFFSTORE out 2 set s2", ":2");
    is("ZRANGE out 0 -1 WITHSCORES", "[[\"5\",,1],[\"x\",,1]]");

    /* errors, in Redis' order */
    err("ZUNIONSTORE out 0 s1", "BADREQ",
        "at least 1 input key is needed for 'zunionstore' command");
    err("ZINTERSTORE out -1 s1", "BADREQ",
        "at least 1 input key is needed for 'zinterstore' command");
    err("ZUNIONSTORE out x s1", "BADREQ",
        "value is not an integer or out of range");
    err("ZUNIONSTORE out 3 s1 s2", "BADREQ", "syntax error");
    err("ZUNIONSTORE out 2 s1 s2 WEIGHTS 1", "BADREQ", "syntax error");
    err("ZUNIONSTORE out 2 s1 s2 WEIGHTS 1 x", "BADREQ",
        "weight value is not a float");
    err("ZUNIONSTORE out 2 s1 s2 AGGREGATE AVG", "BADREQ", "syntax error");
    err("ZUNIONSTORE out 2 s1 s2 AGGREGATE", "BADREQ", "syntax error");
    err("ZDIFFSTORE out 2 s1 s2 WEIGHTS 1 1", "BADREQ", "syntax error");
    err("ZDIFFSTORE out 2 s1 s2 AGGREGATE SUM", "BADREQ", "syntax error");
    is("SET str v", "+OK");
    wrongtype("ZUNIONSTORE out 2 s1 str");
    wrongtype("ZINTERSTORE out 2 str s1 WEIGHTS x y");
    wrongtype("ZDIFFSTORE out 1 str");
    is("TYPE out", "+zset");

    is("DEL s1 s2 out inf1 inf2 lst set str", ":8");
}


/* ---- ZSCAN ------------------------------------------------------------- */


static void
test_zscan(void)
{
    int            i, j, seen[400], missed, rounds;
    char           line[128];
    const char    *p, *q;
    uint64_t       cursor;

    is("ZADD sc 1 a 2 b 3 ab", ":3");
    is("ZSCAN sc 0", "[\"0\",[[\"a\",,1],[\"b\",,2],[\"ab\",,3]]]");
    is("ZSCAN sc 0 MATCH a*", "[\"0\",[[\"a\",,1],[\"ab\",,3]]]");
    is("ZSCAN sc 0 COUNT 1 MATCH *b", "[\"0\",[[\"b\",,2],[\"ab\",,3]]]");
    is("ZSCAN nosuch 0", "[\"0\",[]]");
    is("ZSCAN nosuch 0 BADOPT", "[\"0\",[]]");
    err("ZSCAN sc x", "BADREQ", "invalid cursor");
    err("ZSCAN sc 0 COUNT 0", "BADREQ", "syntax error");
    err("ZSCAN sc 0 COUNT", "BADREQ", "syntax error");
    err("ZSCAN sc 0 FOO bar", "BADREQ", "syntax error");
    is("DEL sc", ":1");

    /*
     * The guarantee on a skiplist set: every member present for the
     * whole scan is returned, while members are added (the table grows
     * and rehashes) between the calls.
     */
    for (i = 0; i < 200; i++) {
        snprintf(line, sizeof(line), "ZADD big %d m%d", i, i);
        th_run(h, line);
    }

    memset(seen, 0, sizeof(seen));
    cursor = 0;
    rounds = 0;
    j = 200;

    do {
        snprintf(line, sizeof(line), "ZSCAN big %llu COUNT 7",
                 (unsigned long long) cursor);
        p = th_run(h, line);
        cursor = strtoull(p + 2, NULL, 10);

        for (q = strstr(p, "[\"m"); q != NULL; q = strstr(q + 1, "[\"m")) {
            i = atoi(q + 3);

            if (i >= 0 && i < 400) {
                seen[i] = 1;
            }
        }

        /* grow the set under the scan */
        for (i = 0; i < 10 && j < 400; i++, j++) {
            snprintf(line, sizeof(line), "ZADD big %d m%d", j, j);
            th_run(h, line);
        }

        rounds++;

    } while (cursor != 0 && rounds < 10000);

    for (missed = 0, i = 0; i < 200; i++) {
        missed += !seen[i];
    }

    tap_ok(cursor == 0 && missed == 0,
           "ZSCAN of a growing skiplist set: all 200 members seen "
           "(%d rounds, %d missed)", rounds, missed);

    is("DEL big", ":1");
}


/* ---- WRONGTYPE --------------------------------------------------------- */


static void
test_wrongtype(void)
{
    is("SET str v", "+OK");

    wrongtype("ZADD str 1 a");
    wrongtype("ZINCRBY str 1 a");
    wrongtype("ZCARD str");
    wrongtype("ZCOUNT str 0 1");
    wrongtype("ZLEXCOUNT str - +");
    wrongtype("ZSCORE str a");
    wrongtype("ZMSCORE str a b");
    wrongtype("ZRANK str a");
    wrongtype("ZREVRANK str a");
    wrongtype("ZRANGE str 0 -1");
    wrongtype("ZRANGE str 0 1 BYSCORE");
    wrongtype("ZREVRANGE str 0 -1");
    wrongtype("ZRANGEBYSCORE str 0 1");
    wrongtype("ZREVRANGEBYSCORE str 1 0");
    wrongtype("ZRANGEBYLEX str - +");
    wrongtype("ZREVRANGEBYLEX str + -");
    wrongtype("ZREM str a");
    wrongtype("ZREMRANGEBYRANK str 0 1");
    wrongtype("ZREMRANGEBYSCORE str 0 1");
    wrongtype("ZREMRANGEBYLEX str - +");
    wrongtype("ZPOPMIN str");
    wrongtype("ZPOPMAX str 2");
    wrongtype("ZPOPMIN str 0");
    wrongtype("ZUNIONSTORE out 1 str");
    wrongtype("ZINTERSTORE out 1 str");
    wrongtype("ZDIFFSTORE out 1 str");
    wrongtype("ZSCAN str 0");
    is("GET str", "\"v\"");

    is("RPUSH l a", ":1");
    wrongtype("ZADD l 1 a");
    wrongtype("ZRANGE l 0 -1");
    is("DEL str l", ":2");
}


/* ---- a random walk against a model ------------------------------------- */


typedef struct {
    int     m;
    double  score;
} zmodel_t;

#define ZMODEL_MAX  700

static zmodel_t  zm[ZMODEL_MAX];
static int       zm_n;


static int
zm_cmp(const void *a, const void *b)
{
    const zmodel_t  *x = a, *y = b;
    char             mx[16], my[16];

    if (x->score != y->score) {
        return x->score < y->score ? -1 : 1;
    }

    snprintf(mx, sizeof(mx), "m%d", x->m);
    snprintf(my, sizeof(my), "m%d", y->m);

    return strcmp(mx, my);
}


static int
zm_find(int m)
{
    int  i;

    for (i = 0; i < zm_n; i++) {
        if (zm[i].m == m) {
            return i;
        }
    }

    return -1;
}


static int
zm_matches(void)
{
    int          i, ok;
    char        *expect, *p, num[KVMQ_NUMBUF];
    const char  *got;

    expect = malloc((size_t) zm_n * 64 + 8);
    p = expect;
    *p++ = '[';

    for (i = 0; i < zm_n; i++) {
        kvmq_d2str(num, zm[i].score);
        p += sprintf(p, "%s[\"m%d\",,%s]", i ? "," : "", zm[i].m, num);
    }

    strcpy(p, "]");

    got = th_run(h, "ZRANGE zm 0 -1 WITHSCORES");
    ok = strcmp(got, expect) == 0;

    free(expect);

    return ok;
}


static void
test_model(void)
{
    int          step, r, i, m, bad, lo, hi, count;
    char         line[256], want[64];
    double       s;
    void        *z;
    const char  *p;

    srand(777);
    bad = 0;
    zm_n = 0;

    for (step = 0; step < 30000 && !bad; step++) {
        r = rand() % 100;
        m = rand() % 600;
        s = (double) (rand() % 200 - 100) / ((rand() & 1) ? 1 : 4);

        if (r < 45) {
            snprintf(line, sizeof(line), "ZADD zm %.17g m%d", s, m);
            th_run(h, line);

            i = zm_find(m);

            if (i < 0) {
                zm[zm_n].m = m;
                zm[zm_n].score = s;
                zm_n++;

            } else {
                zm[i].score = s;
            }

        } else if (r < 60) {
            snprintf(line, sizeof(line), "ZINCRBY zm %.17g m%d", s, m);
            th_run(h, line);

            i = zm_find(m);

            if (i < 0) {
                zm[zm_n].m = m;
                zm[zm_n].score = s;
                zm_n++;

            } else {
                zm[i].score += s;
            }

        } else if (r < 75) {
            snprintf(line, sizeof(line), "ZREM zm m%d", m);
            th_run(h, line);

            i = zm_find(m);

            if (i >= 0) {
                zm[i] = zm[--zm_n];
            }

        } else if (r < 80 && zm_n > 0) {
            snprintf(line, sizeof(line), "ZREMRANGEBYRANK zm %d %d",
                     m % zm_n, m % zm_n + rand() % 3);
            th_run(h, line);
            /* the model re-reads the set: ranks are checked below */
            zm_n = 0;
            p = th_run(h, "ZRANGE zm 0 -1 WITHSCORES");

            for (p = strstr(p, "[\"m"); p != NULL; p = strstr(p + 1, "[\"m")) {
                zm[zm_n].m = atoi(p + 3);
                zm[zm_n].score = strtod(strstr(p, ",,") + 2, NULL);
                zm_n++;
            }

        } else if (r < 90) {
            qsort(zm, (size_t) zm_n, sizeof(zmodel_t), zm_cmp);
            lo = rand() % 200 - 100;
            hi = lo + rand() % 60;

            for (count = 0, i = 0; i < zm_n; i++) {
                count += (zm[i].score > lo && zm[i].score <= hi);
            }

            snprintf(line, sizeof(line), "ZCOUNT zm (%d %d", lo, hi);
            snprintf(want, sizeof(want), ":%d", count);

            if (strcmp(th_run(h, line), want) != 0) {
                tap_diag("%s: %s, want %s", line, h->out, want);
                bad = 1;
            }

        } else if (zm_n > 0) {
            qsort(zm, (size_t) zm_n, sizeof(zmodel_t), zm_cmp);
            i = rand() % zm_n;
            snprintf(line, sizeof(line), "ZRANK zm m%d", zm[i].m);
            snprintf(want, sizeof(want), ":%d", i);

            if (strcmp(th_run(h, line), want) != 0) {
                tap_diag("%s: %s, want %s", line, h->out, want);
                bad = 1;
            }
        }

        if (step % 1000 == 0) {
            qsort(zm, (size_t) zm_n, sizeof(zmodel_t), zm_cmp);
            z = zset_of("zm");

            if (!zm_matches()
                || (z && kvmq_zset_enc(z) == KVMQ_ZSET_SKIPLIST
                    && !zsl_ok(z)))
            {
                tap_diag("step %d: the set differs from the model", step);
                bad = 1;
            }
        }
    }

    qsort(zm, (size_t) zm_n, sizeof(zmodel_t), zm_cmp);
    z = zset_of("zm");

    tap_ok(!bad && zm_matches() && z != NULL
           && kvmq_zset_enc(z) == KVMQ_ZSET_SKIPLIST && zsl_ok(z),
           "30000 random writes agree with a model (%d members)", zm_n);

    th_run(h, "DEL zm");
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

    /* a skiplist set, its table not rehashing */
    for (i = 0; i < 300; i++) {
        snprintf(line, sizeof(line), "ZADD big %d member%09d!", i, i);
        th_run(h, line);
    }

    for (i = 0; i < 1000; i++) {
        th_run(h, "ZSCORE big nosuch");
    }

    is("ZADD small 1 a 2 b 3 c", ":3");

    p = line + sprintf(line, "ZADD big");

    for (i = 0; i < 100; i++) {
        p += sprintf(p, " %d new%012d! %d member%09d!", i, i, -i, i * 2);
    }

    nomem_sweep(line, "ZCARD big ; ZRANGE big 0 -1 WITHSCORES", 16, ":100",
                "ZADD of 100 new and 100 updated members to a skiplist");

    p = line + sprintf(line, "ZADD small CH");

    for (i = 0; i < 130; i++) {
        p += sprintf(p, " %d x%d", i, i);
    }

    p += sprintf(p, " 9 a");

    nomem_sweep(line, "ZRANGE small 0 -1 WITHSCORES", 16, ":131",
                "ZADD converting a packed set in the middle");
    tap_ok(enc_of("small") == KVMQ_ZSET_SKIPLIST, "  ... now a skiplist");

    is("ZADD tiny 1 a", ":1");
    nomem_sweep("ZADD tiny 2 b 3 c 4 d 5 e 6 f 7 g 8 h 9 i",
                "ZRANGE tiny 0 -1 WITHSCORES", 8, ":8",
                "ZADD growing a packed block");
    nomem_sweep("ZADD fresh 1 a 2 b", "EXISTS fresh", 8, ":2",
                "ZADD of a new key");
    nomem_sweep("ZINCRBY fresh2 5 m", "EXISTS fresh2", 8, ",5",
                "ZINCRBY of a new key");
    nomem_sweep("ZUNIONSTORE dst 2 big small WEIGHTS 2 3",
                "EXISTS dst", 64, ":533", "ZUNIONSTORE to a new key");
    nomem_sweep("ZINTERSTORE tiny 2 small small WEIGHTS 1 2",
                "ZRANGE tiny 0 -1 WITHSCORES", 64, ":133",
                "ZINTERSTORE over an existing set");
    is("SET str v", "+OK");
    nomem_sweep("ZDIFFSTORE str 1 small", "GET str ; TYPE str", 16, ":133",
                "ZDIFFSTORE over a string");

    th_free(h);
    h = saved;
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    test_zadd();
    test_nan();
    test_scores();
    test_encodings_both();
    test_conversion();
    test_lex_mixed();
    test_store();
    test_zscan();
    test_wrongtype();
    test_model();
    test_nomem();

    th_free(h);

    return tap_done();
}
