
/*
 * kvmq: the command-line client (README.md "Command-line client").
 *
 *   kvmq [--url URL] [--json] [--timeout MS] cmd NAME ARGS...
 *   kvmq ... cmd -                  one command per line of stdin
 *   kvmq ... sub CHANNEL... [--since SEQ] [--count N]
 *   kvmq ... psub GLOB... [--count N]
 *   kvmq ... pub CHANNEL MESSAGE
 *   kvmq ... publish | consume | rpc | serve ...    (kvmq_queue.c)
 *
 * Everything goes over one WebSocket to PREFIX/ws.  Commands are sent at
 * once (pipelined) with ids 1..N and the replies printed in id order.
 *
 * A subscriber remembers the last seq it printed per channel.  When the
 * connection drops it reconnects (100 ms, doubling to 2 s) and sends one
 * SUBSCRIBE ch SINCE last per channel, so the history fills the hole.  A
 * server that restarted without its history numbers from 1 again: it
 * answers with a "gap" push whose first seq is not above ours; the
 * channel is then re-subscribed SINCE 0 (its messages dropped until that
 * confirmation) and everything the new server has is printed.
 */


#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmq.h"


static int kvmq_cmd(int argc, char **argv);
static int kvmq_cmd_stdin(void);
static void kvmq_cmd_open(kvmq_ws_t *ws);
static void kvmq_cmd_message(kvmq_ws_t *ws, char *data, size_t len);
static void kvmq_cmd_close(kvmq_ws_t *ws, const char *why);
static void kvmq_cmd_flush(void);
static int kvmq_sub(int argc, char **argv, int pattern);
static void kvmq_sub_connect(lws_sorted_usec_list_t *sul);
static void kvmq_sub_open(kvmq_ws_t *ws);
static void kvmq_sub_message(kvmq_ws_t *ws, char *data, size_t len);
static void kvmq_sub_push(yajl_val j, const char *data);
static void kvmq_sub_close(kvmq_ws_t *ws, const char *why);
static int kvmq_sub_send(char **argv, int argc, long long *id);
static void kvmq_timeout(lws_sorted_usec_list_t *sul);
static int kvmq_usage(const char *topic, int rc);
static kvmq_chan_t *kvmq_chan(const char *name);


kvmq_client_t  kvmq;


static const kvmq_ws_handler_t  kvmq_cmd_handler = {
    kvmq_cmd_open, kvmq_cmd_message, kvmq_cmd_close
};

static const kvmq_ws_handler_t  kvmq_sub_handler = {
    kvmq_sub_open, kvmq_sub_message, kvmq_sub_close
};


static const char  *kvmq_help_main =
    "usage: kvmq [--url URL] [--json] [--timeout MS] COMMAND ARGS...\n"
    "\n"
    "commands:\n"
    "  cmd NAME ARGS...    run one command, print the reply\n"
    "  cmd -               run one command per line of stdin, pipelined\n"
    "  sub CHANNEL...      print messages of channels\n"
    "  psub GLOB...        print messages of channels matching patterns\n"
    "  pub CHANNEL MSG     publish a message\n"
    "  publish QUEUE MSG   put a message into a queue (or an exchange)\n"
    "  consume QUEUE       print the messages of a queue\n"
    "  rpc QUEUE BODY      call an RPC server, print its reply\n"
    "  serve QUEUE -- COMMAND ARGS...\n"
    "                      an RPC server: COMMAND answers each request\n"
    "  help COMMAND        help on a command (also COMMAND --help)\n"
    "\n"
    "options:\n"
    "  --url URL           API prefix (default $KVMQ_URL, else "
    KVMQ_DEFAULT_URL ")\n"
    "  --json              print replies as JSON\n"
    "  --timeout MS        give up waiting for a reply (default 10000)\n"
    "\n"
    "exit codes: 0 ok, 1 error reply, 2 usage, 3 connection or HTTP "
    "error,\n4 timeout\n";

static const char  *kvmq_help_cmd =
    "usage: kvmq cmd [--json] [--timeout MS] NAME ARGS...\n"
    "       kvmq cmd [--json] [--timeout MS] -\n"
    "\n"
    "Runs a command over the WebSocket and prints the reply the way\n"
    "redis-cli does: \"strings\", (nil), (integer) N, (double) X,\n"
    "numbered arrays, (error) CODE message.  With --json the reply is\n"
    "printed as JSON.  With - the commands are read from stdin, one per\n"
    "line (words split at blanks, \"double\" and 'single' quotes group),\n"
    "sent at once and the replies printed in order.\n"
    "Exit status 1 when a reply is an error.\n";

static const char  *kvmq_help_sub =
    "usage: kvmq sub [--json] [--since SEQ] [--count N] CHANNEL...\n"
    "\n"
    "Subscribes and prints one line per message: its data, preceded by\n"
    "the channel and a space when more than one channel is given.\n"
    "--json prints each message frame as received.  --since replays the\n"
    "history after SEQ first.  --count exits after N messages.  When the\n"
    "connection drops the client reconnects and resumes after the last\n"
    "message it printed.\n";

static const char  *kvmq_help_psub =
    "usage: kvmq psub [--json] [--count N] GLOB...\n"
    "\n"
    "Subscribes to channel patterns and prints one line per message:\n"
    "the channel, a space and the data.  --json prints the frames.\n"
    "Reconnects when the connection drops (pattern subscriptions have no\n"
    "history: messages published meanwhile are not replayed).\n";

static const char  *kvmq_help_pub =
    "usage: kvmq pub [--json] CHANNEL MESSAGE\n"
    "\n"
    "Publishes MESSAGE on CHANNEL and prints the number of subscribers\n"
    "that received it.\n";


int
main(int argc, char **argv)
{
    int          c, rc;
    const char  *url;

    static const struct option  opts[] = {
        { "url", required_argument, NULL, 'u' },
        { "json", no_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    url = getenv("KVMQ_URL");
    if (url == NULL || url[0] == '\0') {
        url = KVMQ_DEFAULT_URL;
    }

    kvmq.timeout_ms = 10000;

    /* "+": stop at the command, its own options follow it */
    while ((c = getopt_long(argc, argv, "+hj", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            url = optarg;
            break;
        case 'j':
            kvmq.json = 1;
            break;
        case 't':
            kvmq.timeout_ms = kvmq_number(optarg, "--timeout");
            break;
        case 'h':
            return kvmq_usage(NULL, KVMQ_EXIT_OK);
        default:
            return kvmq_usage(NULL, KVMQ_EXIT_USAGE);
        }
    }

    if (optind >= argc) {
        return kvmq_usage(NULL, KVMQ_EXIT_USAGE);
    }

    argv += optind;
    argc -= optind;

    if (strcmp(argv[0], "help") == 0) {
        return kvmq_usage(argc > 1 ? argv[1] : NULL, KVMQ_EXIT_OK);
    }

    if (kvmq_url_parse(url, &kvmq.url) != 0) {
        fprintf(stderr, "kvmq: invalid URL \"%s\"\n", url);
        return KVMQ_EXIT_USAGE;
    }

    if (strcmp(argv[0], "cmd") == 0) {
        rc = kvmq_cmd(argc, argv);

    } else if (strcmp(argv[0], "pub") == 0) {
        rc = kvmq_cmd(argc, argv);

    } else if (strcmp(argv[0], "sub") == 0) {
        rc = kvmq_sub(argc, argv, 0);

    } else if (strcmp(argv[0], "psub") == 0) {
        rc = kvmq_sub(argc, argv, 1);

    } else if (strcmp(argv[0], "publish") == 0) {
        rc = kvmq_publish(argc, argv);

    } else if (strcmp(argv[0], "rpc") == 0) {
        rc = kvmq_rpc(argc, argv);

    } else if (strcmp(argv[0], "consume") == 0) {
        rc = kvmq_consume(argc, argv, 0);

    } else if (strcmp(argv[0], "serve") == 0) {
        rc = kvmq_consume(argc, argv, 1);

    } else {
        fprintf(stderr, "kvmq: unknown command \"%s\"\n", argv[0]);
        return kvmq_usage(NULL, KVMQ_EXIT_USAGE);
    }

    return rc;
}


static int
kvmq_usage(const char *topic, int rc)
{
    FILE        *out;
    const char  *text;

    out = (rc == KVMQ_EXIT_OK) ? stdout : stderr;
    text = kvmq_help_main;

    if (topic == NULL) {
        /* void */

    } else if (strcmp(topic, "cmd") == 0) {
        text = kvmq_help_cmd;

    } else if (strcmp(topic, "sub") == 0) {
        text = kvmq_help_sub;

    } else if (strcmp(topic, "psub") == 0) {
        text = kvmq_help_psub;

    } else if (strcmp(topic, "pub") == 0) {
        text = kvmq_help_pub;

    } else if (kvmq_queue_help(topic)) {
        text = kvmq_queue_help(topic);
    }

    fputs(text, out);

    return rc;
}


long long
kvmq_number(const char *s, const char *what)
{
    char       *end;
    long long   n;

    errno = 0;
    n = strtoll(s, &end, 10);

    if (errno || end == s || *end != '\0' || n < 0) {
        fprintf(stderr, "kvmq: %s needs a number, not \"%s\"\n", what, s);
        exit(KVMQ_EXIT_USAGE);
    }

    return n;
}


/* cmd, pub */

static int
kvmq_cmd(int argc, char **argv)
{
    int          i, pub;
    char        *pargv[3];
    const char  *topic;

    pub = (strcmp(argv[0], "pub") == 0);
    topic = argv[0];

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return kvmq_usage(topic, KVMQ_EXIT_OK);

        } else if (strcmp(argv[i], "--json") == 0) {
            kvmq.json = 1;

        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            kvmq.timeout_ms = kvmq_number(argv[++i], "--timeout");

        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;

        } else {
            fprintf(stderr, "kvmq %s: unknown option \"%s\"\n", topic,
                    argv[i]);
            return kvmq_usage(topic, KVMQ_EXIT_USAGE);
        }
    }

    argv += i;
    argc -= i;

    if (pub) {
        if (argc != 2) {
            return kvmq_usage(topic, KVMQ_EXIT_USAGE);
        }

        pargv[0] = "PUBLISH";
        pargv[1] = argv[0];
        pargv[2] = argv[1];
        argv = pargv;
        argc = 3;
    }

    if (argc == 0) {
        return kvmq_usage(topic, KVMQ_EXIT_USAGE);
    }

    return kvmq_cmd_run(argc, argv);
}


int
kvmq_cmd_run(int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "-") == 0) {
        if (kvmq_cmd_stdin() != 0) {
            return kvmq.rc;
        }

    } else {
        kvmq.n = 1;
        kvmq.msgs = malloc(sizeof(char *));
        kvmq.lens = malloc(sizeof(size_t));

        if (kvmq.msgs == NULL || kvmq.lens == NULL) {
            fprintf(stderr, "kvmq: out of memory\n");
            return KVMQ_EXIT_ERROR;
        }

        kvmq.msgs[0] = kvmq_cmd_json(1, argc, argv, &kvmq.lens[0]);
        if (kvmq.msgs[0] == NULL) {
            fprintf(stderr, "kvmq: out of memory\n");
            return KVMQ_EXIT_ERROR;
        }
    }

    if (kvmq.n == 0) {
        return KVMQ_EXIT_OK;
    }

    kvmq.replies = calloc(kvmq.n, sizeof(char *));
    if (kvmq.replies == NULL) {
        fprintf(stderr, "kvmq: out of memory\n");
        return KVMQ_EXIT_ERROR;
    }

    kvmq.ctx = kvmq_ws_context(kvmq.url.tls);
    if (kvmq.ctx == NULL) {
        fprintf(stderr, "kvmq: cannot create the libwebsockets context\n");
        return KVMQ_EXIT_ERROR;
    }

    kvmq_arm_timer();
    kvmq.ws = kvmq_ws_connect(kvmq.ctx, &kvmq.url, "ws", &kvmq_cmd_handler,
                              NULL);

    return kvmq_run();
}


static int
kvmq_cmd_stdin(void)
{
    int          argc;
    char        *line, **argv, **msgs;
    size_t       size, *lens;
    ssize_t      len;
    long long    lineno, cap;

    line = NULL;
    size = 0;
    lineno = 0;
    cap = 0;

    while ((len = getline(&line, &size, stdin)) != -1) {
        lineno++;

        argc = kvmq_split_line(line, &argv);

        if (argc < 0) {
            fprintf(stderr, "kvmq: stdin line %lld: unbalanced quotes\n",
                    lineno);
            free(line);
            kvmq.rc = KVMQ_EXIT_USAGE;
            return -1;
        }

        if (argc == 0) {
            free(argv);
            continue;
        }

        if (kvmq.n == cap) {
            cap = cap ? cap * 2 : 64;
            msgs = realloc(kvmq.msgs, cap * sizeof(char *));
            if (msgs == NULL) {
                goto nomem;
            }

            kvmq.msgs = msgs;

            lens = realloc(kvmq.lens, cap * sizeof(size_t));
            if (lens == NULL) {
                goto nomem;
            }

            kvmq.lens = lens;
        }

        kvmq.msgs[kvmq.n] = kvmq_cmd_json(kvmq.n + 1, argc, argv,
                                          &kvmq.lens[kvmq.n]);
        free(argv);

        if (kvmq.msgs[kvmq.n] == NULL) {
            goto nomem;
        }

        kvmq.n++;
    }

    free(line);

    return 0;

nomem:

    fprintf(stderr, "kvmq: out of memory\n");
    free(line);
    kvmq.rc = KVMQ_EXIT_ERROR;

    return -1;
}


static void
kvmq_cmd_open(kvmq_ws_t *ws)
{
    long long  i;

    for (i = 0; i < kvmq.n; i++) {
        if (kvmq_ws_send(ws, kvmq.msgs[i], kvmq.lens[i]) != 0) {
            fprintf(stderr, "kvmq: out of memory\n");
            kvmq.rc = KVMQ_EXIT_ERROR;
            kvmq.done = 1;
            return;
        }

        free(kvmq.msgs[i]);
        kvmq.msgs[i] = NULL;
    }
}


static void
kvmq_cmd_message(kvmq_ws_t *ws, char *data, size_t len)
{
    char         errbuf[128];
    yajl_val     j, id, err;
    long long    n;
    const char  *id_path[] = { "id", NULL };
    const char  *error_path[] = { "error", NULL };

    (void) len;

    j = yajl_tree_parse(data, errbuf, sizeof(errbuf));
    if (j == NULL) {
        fprintf(stderr, "kvmq: bad JSON from the server: %s\n", errbuf);
        return;
    }

    id = yajl_tree_get(j, id_path, yajl_t_number);

    if (id == NULL || !YAJL_IS_INTEGER(id)) {
        /* a push, or an error about a frame without an id */
        err = yajl_tree_get(j, error_path, yajl_t_object);

        if (id == NULL && err) {
            kvmq_print_error(stderr, err);
            kvmq.rc = KVMQ_EXIT_ERROR;
        }

        yajl_tree_free(j);
        return;
    }

    n = YAJL_GET_INTEGER(id);
    yajl_tree_free(j);

    if (n < 1 || n > kvmq.n || kvmq.replies[n - 1]) {
        return;
    }

    kvmq.replies[n - 1] = strdup(data);
    if (kvmq.replies[n - 1] == NULL) {
        fprintf(stderr, "kvmq: out of memory\n");
        kvmq.rc = KVMQ_EXIT_ERROR;
        kvmq.done = 1;
        return;
    }

    kvmq_arm_timer();
    kvmq_cmd_flush();

    if (kvmq.printed == kvmq.n) {
        lws_sul_cancel(&kvmq.timer);
        kvmq_ws_close(ws);
    }
}


static void
kvmq_cmd_flush(void)
{
    char         errbuf[128];
    yajl_val     j, v;
    const char  *result_path[] = { "result", NULL };
    const char  *error_path[] = { "error", NULL };

    while (kvmq.printed < kvmq.n && kvmq.replies[kvmq.printed]) {
        j = yajl_tree_parse(kvmq.replies[kvmq.printed], errbuf,
                            sizeof(errbuf));

        free(kvmq.replies[kvmq.printed]);
        kvmq.replies[kvmq.printed] = NULL;
        kvmq.printed++;

        if (j == NULL) {
            continue;
        }

        v = yajl_tree_get(j, error_path, yajl_t_object);

        if (v) {
            if (kvmq.rc == KVMQ_EXIT_OK) {
                kvmq.rc = strcmp(kvmq_json_str(yajl_tree_get(v, error_path,
                                                             yajl_t_string)),
                                 "TIMEOUT") == 0
                          ? KVMQ_EXIT_TIMEOUT : KVMQ_EXIT_ERROR;
            }

            if (kvmq.json) {
                kvmq_print_json(stdout, v);

            } else {
                kvmq_print_error(stdout, v);
            }

        } else {
            v = yajl_tree_get(j, result_path, yajl_t_any);

            if (kvmq.raw && !kvmq.json && v && YAJL_IS_STRING(v)) {
                kvmq_print_raw(stdout, kvmq_json_str(v));

            } else if (kvmq.json) {
                kvmq_print_json(stdout, v);

            } else {
                kvmq_print_reply(stdout, v);
            }
        }

        yajl_tree_free(j);
    }

    fflush(stdout);
}


static void
kvmq_cmd_close(kvmq_ws_t *ws, const char *why)
{
    kvmq.ws = NULL;
    kvmq.done = 1;

    if (kvmq.printed < kvmq.n) {
        kvmq_conn_error(ws, why ? why : "connection closed");
    }
}


void
kvmq_conn_error(kvmq_ws_t *ws, const char *why)
{
    if (ws->http_status) {
        fprintf(stderr, "kvmq: %s:%d%sws: %s\n", kvmq.url.host,
                kvmq.url.port, kvmq.url.path, why);

    } else if (ws->refused) {
        fprintf(stderr, "kvmq: cannot connect to %s:%d: connection "
                "refused\n", kvmq.url.host, kvmq.url.port);

    } else {
        fprintf(stderr, "kvmq: %s:%d: %s\n", kvmq.url.host, kvmq.url.port,
                why);
    }

    if (kvmq.rc == KVMQ_EXIT_OK || kvmq.rc == KVMQ_EXIT_ERROR) {
        kvmq.rc = KVMQ_EXIT_CONNECT;
    }
}


void
kvmq_arm_timer(void)
{
    if (kvmq.timeout_ms > 0) {
        lws_sul_schedule(kvmq.ctx, 0, &kvmq.timer, kvmq_timeout,
                         kvmq.timeout_ms * LWS_US_PER_MS);
    }
}


static void
kvmq_timeout(lws_sorted_usec_list_t *sul)
{
    (void) sul;

    fprintf(stderr, "kvmq: %s:%d: no reply within %lld ms\n",
            kvmq.url.host, kvmq.url.port, kvmq.timeout_ms);

    kvmq.rc = KVMQ_EXIT_TIMEOUT;
    kvmq.done = 1;
}


int
kvmq_run(void)
{
    while (!kvmq.done) {
        if (lws_service(kvmq.ctx, 0) < 0) {
            break;
        }
    }

    lws_sul_cancel(&kvmq.timer);
    lws_context_destroy(kvmq.ctx);
    fflush(stdout);

    return kvmq.rc;
}


/* sub, psub */

static int
kvmq_sub(int argc, char **argv, int pattern)
{
    int          i;
    const char  *topic;

    topic = argv[0];
    kvmq.pattern = pattern;

    kvmq.chans = calloc(argc, sizeof(kvmq_chan_t));
    if (kvmq.chans == NULL) {
        fprintf(stderr, "kvmq: out of memory\n");
        return KVMQ_EXIT_ERROR;
    }

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return kvmq_usage(topic, KVMQ_EXIT_OK);

        } else if (strcmp(argv[i], "--json") == 0) {
            kvmq.json = 1;

        } else if (strcmp(argv[i], "--since") == 0 && !pattern
                   && i + 1 < argc)
        {
            kvmq.since = kvmq_number(argv[++i], "--since");
            kvmq.has_since = 1;

        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            kvmq.count = kvmq_number(argv[++i], "--count");

        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "kvmq %s: unknown option \"%s\"\n", topic,
                    argv[i]);
            return kvmq_usage(topic, KVMQ_EXIT_USAGE);

        } else {
            kvmq.chans[kvmq.nchans++].name = argv[i];
        }
    }

    if (kvmq.nchans == 0) {
        return kvmq_usage(topic, KVMQ_EXIT_USAGE);
    }

    if (kvmq.has_since) {
        for (i = 0; i < kvmq.nchans; i++) {
            kvmq.chans[i].last = kvmq.since;
            kvmq.chans[i].known = 1;
        }
    }

    kvmq.ctx = kvmq_ws_context(kvmq.url.tls);
    if (kvmq.ctx == NULL) {
        fprintf(stderr, "kvmq: cannot create the libwebsockets context\n");
        return KVMQ_EXIT_ERROR;
    }

    kvmq.delay_ms = 100;
    kvmq.timeout_ms = 0;

    kvmq_sub_connect(NULL);

    return kvmq_run();
}


static void
kvmq_sub_connect(lws_sorted_usec_list_t *sul)
{
    (void) sul;

    kvmq.ws = kvmq_ws_connect(kvmq.ctx, &kvmq.url, "ws", &kvmq_sub_handler,
                              NULL);
}


static int
kvmq_sub_send(char **argv, int argc, long long *id)
{
    int      rc;
    char    *s;
    size_t   len;

    *id = ++kvmq.next_id;

    s = kvmq_cmd_json(*id, argc, argv, &len);
    if (s == NULL) {
        return -1;
    }

    rc = kvmq_ws_send(kvmq.ws, s, len);
    free(s);

    return rc;
}


static void
kvmq_sub_open(kvmq_ws_t *ws)
{
    int          i, n;
    char         seq[32], **argv;
    long long    id;

    kvmq.ws = ws;
    kvmq.delay_ms = 100;

    if (kvmq.lost) {
        fprintf(stderr, "kvmq: reconnected\n");
        kvmq.lost = 0;
    }

    argv = malloc((kvmq.nchans + 3) * sizeof(char *));
    if (argv == NULL) {
        goto failed;
    }

    if (kvmq.pattern) {
        argv[0] = "PSUBSCRIBE";
        for (i = 0; i < kvmq.nchans; i++) {
            argv[i + 1] = kvmq.chans[i].name;
        }

        n = kvmq_sub_send(argv, kvmq.nchans + 1, &id);
        free(argv);

        if (n != 0) {
            goto failed;
        }

        kvmq.connected = 1;
        return;
    }

    /*
     * channels with a position resume one by one after it; the others
     * together: without SINCE at first, from the start of the history
     * after a reconnect
     */

    argv[0] = "SUBSCRIBE";
    n = 1;

    for (i = 0; i < kvmq.nchans; i++) {
        kvmq.chans[i].reset_id = 0;

        if (kvmq.chans[i].known) {
            continue;
        }

        argv[n++] = kvmq.chans[i].name;
    }

    if (n > 1 && kvmq.connected) {
        argv[n++] = "SINCE";
        argv[n++] = "0";
    }

    if (n > 1 && kvmq_sub_send(argv, n, &id) != 0) {
        free(argv);
        goto failed;
    }

    for (i = 0; i < kvmq.nchans; i++) {
        if (!kvmq.chans[i].known) {
            continue;
        }

        snprintf(seq, sizeof(seq), "%llu", kvmq.chans[i].last);
        argv[1] = kvmq.chans[i].name;
        argv[2] = "SINCE";
        argv[3] = seq;

        if (kvmq_sub_send(argv, 4, &id) != 0) {
            free(argv);
            goto failed;
        }
    }

    free(argv);
    kvmq.connected = 1;

    return;

failed:

    fprintf(stderr, "kvmq: out of memory\n");
    kvmq.rc = KVMQ_EXIT_ERROR;
    kvmq.done = 1;
}


static void
kvmq_sub_message(kvmq_ws_t *ws, char *data, size_t len)
{
    int          i;
    char         errbuf[128];
    yajl_val     j, v, id;
    long long    n;
    const char  *type_path[] = { "type", NULL };
    const char  *id_path[] = { "id", NULL };
    const char  *error_path[] = { "error", NULL };

    (void) ws;
    (void) len;

    j = yajl_tree_parse(data, errbuf, sizeof(errbuf));
    if (j == NULL) {
        fprintf(stderr, "kvmq: bad JSON from the server: %s\n", errbuf);
        return;
    }

    v = yajl_tree_get(j, type_path, yajl_t_string);

    if (v) {
        kvmq_sub_push(j, data);
        yajl_tree_free(j);
        return;
    }

    v = yajl_tree_get(j, error_path, yajl_t_object);
    if (v) {
        kvmq_print_error(stderr, v);
        kvmq.rc = KVMQ_EXIT_ERROR;
        kvmq.done = 1;
        yajl_tree_free(j);
        return;
    }

    /* a confirmation: the end of a reset */

    id = yajl_tree_get(j, id_path, yajl_t_number);
    n = (id && YAJL_IS_INTEGER(id)) ? YAJL_GET_INTEGER(id) : 0;

    for (i = 0; n && i < kvmq.nchans; i++) {
        if (kvmq.chans[i].reset_id == n) {
            kvmq.chans[i].reset_id = 0;
            kvmq.chans[i].last = 0;
        }
    }

    yajl_tree_free(j);
}


static void
kvmq_sub_push(yajl_val j, const char *data)
{
    char                *argv[4];
    yajl_val             type, ch, pat, d, seq;
    kvmq_chan_t         *c;
    unsigned long long   s, first, since;
    const char          *type_path[] = { "type", NULL };
    const char          *ch_path[] = { "channel", NULL };
    const char          *pat_path[] = { "pattern", NULL };
    const char          *data_path[] = { "data", NULL };
    const char          *seq_path[] = { "seq", NULL };
    const char          *first_path[] = { "first", NULL };
    const char          *since_path[] = { "since", NULL };

    type = yajl_tree_get(j, type_path, yajl_t_string);
    ch = yajl_tree_get(j, ch_path, yajl_t_string);

    if (strcmp(kvmq_json_str(type), "gap") == 0) {
        c = ch ? kvmq_chan(kvmq_json_str(ch)) : NULL;
        seq = yajl_tree_get(j, first_path, yajl_t_number);
        d = yajl_tree_get(j, since_path, yajl_t_number);

        if (c == NULL || seq == NULL || d == NULL) {
            return;
        }

        first = (unsigned long long) YAJL_GET_INTEGER(seq);
        since = (unsigned long long) YAJL_GET_INTEGER(d);

        if (first <= since) {
            /* a new history: start it over */
            argv[0] = "UNSUBSCRIBE";
            argv[1] = c->name;
            (void) kvmq_sub_send(argv, 2, &c->reset_id);

            argv[0] = "SUBSCRIBE";
            argv[2] = "SINCE";
            argv[3] = "0";
            (void) kvmq_sub_send(argv, 4, &c->reset_id);

        } else {
            fprintf(stderr, "kvmq: %s: messages %llu to %llu are no longer "
                    "in the history\n", c->name, since + 1, first - 1);
        }

        return;
    }

    if (strcmp(kvmq_json_str(type), "message") != 0) {
        return;
    }

    pat = yajl_tree_get(j, pat_path, yajl_t_string);
    seq = yajl_tree_get(j, seq_path, yajl_t_number);
    d = yajl_tree_get(j, data_path, yajl_t_any);

    if (ch && pat == NULL) {
        c = kvmq_chan(kvmq_json_str(ch));

        if (c && seq && YAJL_IS_INTEGER(seq)) {
            s = (unsigned long long) YAJL_GET_INTEGER(seq);

            if (c->reset_id || (c->known && s <= c->last)) {
                return;
            }

            c->last = s;
            c->known = 1;
        }
    }

    if (kvmq.json) {
        fputs(data, stdout);
        fputc('\n', stdout);

    } else {
        if ((kvmq.pattern || kvmq.nchans > 1) && ch) {
            fputs(kvmq_json_str(ch), stdout);
            fputc(' ', stdout);
        }

        if (d && YAJL_IS_STRING(d)) {
            fputs(kvmq_json_str(d), stdout);
            fputc('\n', stdout);

        } else {
            kvmq_print_json(stdout, d);
        }
    }

    fflush(stdout);

    if (kvmq.count && ++kvmq.seen >= kvmq.count) {
        kvmq.done = 1;
    }
}


static kvmq_chan_t *
kvmq_chan(const char *name)
{
    int  i;

    for (i = 0; i < kvmq.nchans; i++) {
        if (strcmp(kvmq.chans[i].name, name) == 0) {
            return &kvmq.chans[i];
        }
    }

    return NULL;
}


static void
kvmq_sub_close(kvmq_ws_t *ws, const char *why)
{
    kvmq.ws = NULL;

    if (kvmq.done) {
        return;
    }

    if (!kvmq.connected || ws->http_status) {
        kvmq_conn_error(ws, why ? why : "connection closed");
        kvmq.done = 1;
        return;
    }

    if (!kvmq.lost) {
        fprintf(stderr, "kvmq: %s, reconnecting\n",
                why ? why : "connection closed");
        kvmq.lost = 1;
    }

    lws_sul_schedule(kvmq.ctx, 0, &kvmq.timer, kvmq_sub_connect,
                     kvmq.delay_ms * LWS_US_PER_MS);

    kvmq.delay_ms *= 2;
    if (kvmq.delay_ms > 2000) {
        kvmq.delay_ms = 2000;
    }
}
