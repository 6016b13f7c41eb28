
/*
 * The kvmq client's queue commands (README.md "Command-line client"):
 *
 *   publish [--persistent] QUEUE MESSAGE       Q.PUBLISH
 *   publish [--persistent] --exchange X [--key K] MESSAGE   X.PUBLISH
 *   rpc [--timeout MS] QUEUE BODY              RPC, the reply printed raw
 *   consume [--prefetch N] [--count N] [--ack] QUEUE
 *   serve [--prefetch N] QUEUE -- COMMAND ARGS...
 *
 * publish and rpc are one command each and go through kvmq_cmd_run().
 * consume and serve hold a CONSUME on one connection.  consume without
 * --ack consumes with NOACK (at most once); with --ack each delivery is
 * acknowledged once printed, and --count waits for those ACKs before it
 * closes, so a message is never both printed and requeued.  serve runs
 * COMMAND for each request, one at a time: the body on its stdin (a
 * temporary file, so neither side can block the other), its stdout the
 * reply (RPC.REPLY to the request's reply_to), then the ACK.  A command
 * that exits non-zero still replies, with its output and the header
 * "error" set to "exit status N".
 */


#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmq.h"


static void kvmq_q_open(kvmq_ws_t *ws);
static void kvmq_q_message(kvmq_ws_t *ws, char *data, size_t len);
static void kvmq_q_delivery(kvmq_ws_t *ws, yajl_val j, const char *data);
static void kvmq_q_close(kvmq_ws_t *ws, const char *why);
static int kvmq_q_send(kvmq_ws_t *ws, int argc, char **argv);
static char *kvmq_q_exec(const char *body, int *status);


static const kvmq_ws_handler_t  kvmq_q_handler = {
    kvmq_q_open, kvmq_q_message, kvmq_q_close
};


static const char  *kvmq_help_publish =
    "usage: kvmq publish [--persistent] QUEUE MESSAGE\n"
    "       kvmq publish [--persistent] --exchange X [--key K] MESSAGE\n"
    "\n"
    "Puts MESSAGE into QUEUE (Q.PUBLISH), or publishes it to exchange X\n"
    "with routing key K (X.PUBLISH, key \"\" by default), and prints the\n"
    "reply.  --persistent marks the message persistent.\n";

static const char  *kvmq_help_rpc =
    "usage: kvmq rpc [--timeout MS] QUEUE BODY\n"
    "\n"
    "Calls the RPC server consuming QUEUE and prints its reply as is.\n"
    "--timeout: how long the server waits for the reply (default 5000);\n"
    "exit status 4 when it did not come.\n";

static const char  *kvmq_help_consume =
    "usage: kvmq consume [--json] [--prefetch N] [--count N] [--ack] "
    "QUEUE\n"
    "\n"
    "Prints one line per message of QUEUE: its body (--json: the\n"
    "delivery frame).  Without --ack messages are settled when sent\n"
    "(NOACK); with --ack each is acknowledged after it is printed.\n"
    "--prefetch: unacknowledged deliveries at most (default 100).\n"
    "--count: exit after N messages.\n";

static const char  *kvmq_help_serve =
    "usage: kvmq serve [--prefetch N] QUEUE -- COMMAND ARGS...\n"
    "\n"
    "An RPC server: for each request in QUEUE runs COMMAND with the\n"
    "request body on stdin and replies with its stdout.  A non-zero\n"
    "exit still replies, with the header \"error\" set to \"exit status\n"
    "N\", and is reported on stderr.  Requests are served one at a time\n"
    "and acknowledged after the reply.\n";


const char *
kvmq_queue_help(const char *topic)
{
    if (strcmp(topic, "publish") == 0) {
        return kvmq_help_publish;
    }

    if (strcmp(topic, "rpc") == 0) {
        return kvmq_help_rpc;
    }

    if (strcmp(topic, "consume") == 0) {
        return kvmq_help_consume;
    }

    if (strcmp(topic, "serve") == 0) {
        return kvmq_help_serve;
    }

    return NULL;
}


static int
kvmq_q_usage(const char *topic, int rc)
{
    fputs(kvmq_queue_help(topic), rc == KVMQ_EXIT_OK ? stdout : stderr);

    return rc;
}


int
kvmq_publish(int argc, char **argv)
{
    int     i, n, persistent;
    char   *exchange, *key, *pargv[8];

    persistent = 0;
    exchange = NULL;
    key = "";

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            return kvmq_q_usage("publish", KVMQ_EXIT_OK);

        } else if (strcmp(argv[i], "--persistent") == 0) {
            persistent = 1;

        } else if (strcmp(argv[i], "--json") == 0) {
            kvmq.json = 1;

        } else if (strcmp(argv[i], "--exchange") == 0 && i + 1 < argc) {
            exchange = argv[++i];

        } else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];

        } else {
            return kvmq_q_usage("publish", KVMQ_EXIT_USAGE);
        }
    }

    argv += i;
    argc -= i;
    n = 0;

    if (exchange) {
        if (argc != 1) {
            return kvmq_q_usage("publish", KVMQ_EXIT_USAGE);
        }

        pargv[n++] = "X.PUBLISH";
        pargv[n++] = exchange;
        pargv[n++] = key;
        pargv[n++] = argv[0];

    } else {
        if (argc != 2) {
            return kvmq_q_usage("publish", KVMQ_EXIT_USAGE);
        }

        pargv[n++] = "Q.PUBLISH";
        pargv[n++] = argv[0];
        pargv[n++] = argv[1];
    }

    if (persistent) {
        pargv[n++] = "persistent";
        pargv[n++] = "1";
    }

    return kvmq_cmd_run(n, pargv);
}


int
kvmq_rpc(int argc, char **argv)
{
    int         i;
    char       *pargv[5], ms[32];
    long long   timeout;

    timeout = 5000;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            return kvmq_q_usage("rpc", KVMQ_EXIT_OK);

        } else if (strcmp(argv[i], "--json") == 0) {
            kvmq.json = 1;

        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout = kvmq_number(argv[++i], "--timeout");

        } else {
            return kvmq_q_usage("rpc", KVMQ_EXIT_USAGE);
        }
    }

    if (argc - i != 2 || timeout == 0) {
        return kvmq_q_usage("rpc", KVMQ_EXIT_USAGE);
    }

    snprintf(ms, sizeof(ms), "%lld", timeout);

    pargv[0] = "RPC";
    pargv[1] = argv[i];
    pargv[2] = argv[i + 1];
    pargv[3] = "TIMEOUT";
    pargv[4] = ms;

    /* the server times the call out; this is for a server that is gone */
    kvmq.timeout_ms = timeout + 5000;
    kvmq.raw = 1;

    return kvmq_cmd_run(5, pargv);
}


int
kvmq_consume(int argc, char **argv, int serve)
{
    int          i;
    const char  *topic;

    topic = serve ? "serve" : "consume";
    kvmq.prefetch = serve ? 1 : 100;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            return kvmq_q_usage(topic, KVMQ_EXIT_OK);

        } else if (strcmp(argv[i], "--json") == 0 && !serve) {
            kvmq.json = 1;

        } else if (strcmp(argv[i], "--ack") == 0 && !serve) {
            kvmq.ack = 1;

        } else if (strcmp(argv[i], "--prefetch") == 0 && i + 1 < argc) {
            kvmq.prefetch = kvmq_number(argv[++i], "--prefetch");

        } else if (strcmp(argv[i], "--count") == 0 && !serve
                   && i + 1 < argc)
        {
            kvmq.count = kvmq_number(argv[++i], "--count");

        } else if (strcmp(argv[i], "--") == 0 && serve) {
            kvmq.serve = &argv[i + 1];
            break;

        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "kvmq %s: unknown option \"%s\"\n", topic,
                    argv[i]);
            return kvmq_q_usage(topic, KVMQ_EXIT_USAGE);

        } else if (kvmq.queue == NULL) {
            kvmq.queue = argv[i];

        } else {
            return kvmq_q_usage(topic, KVMQ_EXIT_USAGE);
        }
    }

    if (kvmq.queue == NULL || kvmq.prefetch < 1
        || (serve && (kvmq.serve == NULL || kvmq.serve[0] == NULL)))
    {
        return kvmq_q_usage(topic, KVMQ_EXIT_USAGE);
    }

    if (serve) {
        kvmq.ack = 1;
    }

    if (kvmq.count && kvmq.ack && kvmq.prefetch > kvmq.count) {
        kvmq.prefetch = kvmq.count;
    }

    kvmq.ctx = kvmq_ws_context(kvmq.url.tls);
    if (kvmq.ctx == NULL) {
        fprintf(stderr, "kvmq: cannot create the libwebsockets context\n");
        return KVMQ_EXIT_ERROR;
    }

    kvmq.timeout_ms = 0;
    kvmq.ws = kvmq_ws_connect(kvmq.ctx, &kvmq.url, "ws", &kvmq_q_handler,
                              NULL);

    return kvmq_run();
}


static int
kvmq_q_send(kvmq_ws_t *ws, int argc, char **argv)
{
    int      rc;
    char    *s;
    size_t   len;

    s = kvmq_cmd_json(++kvmq.next_id, argc, argv, &len);
    if (s == NULL) {
        return -1;
    }

    rc = kvmq_ws_send(ws, s, len);
    free(s);

    return rc;
}


static void
kvmq_q_open(kvmq_ws_t *ws)
{
    int    n;
    char   pf[32], *argv[5];

    kvmq.connected = 1;

    snprintf(pf, sizeof(pf), "%lld", kvmq.prefetch);

    n = 0;
    argv[n++] = "CONSUME";
    argv[n++] = (char *) kvmq.queue;
    argv[n++] = "PREFETCH";
    argv[n++] = pf;

    if (!kvmq.ack) {
        argv[n++] = "NOACK";
    }

    if (kvmq_q_send(ws, n, argv) != 0) {
        fprintf(stderr, "kvmq: out of memory\n");
        kvmq.rc = KVMQ_EXIT_ERROR;
        kvmq.done = 1;
    }
}


static void
kvmq_q_message(kvmq_ws_t *ws, char *data, size_t len)
{
    char         errbuf[128];
    yajl_val     j, v;
    const char  *type_path[] = { "type", NULL };
    const char  *error_path[] = { "error", NULL };

    (void) len;

    j = yajl_tree_parse(data, errbuf, sizeof(errbuf));
    if (j == NULL) {
        fprintf(stderr, "kvmq: bad JSON from the server: %s\n", errbuf);
        return;
    }

    v = yajl_tree_get(j, type_path, yajl_t_string);

    if (v) {
        if (strcmp(kvmq_json_str(v), "delivery") == 0) {
            kvmq_q_delivery(ws, j, data);
        }

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

    yajl_tree_free(j);

    /* the CONSUME's "OK", or an ACK's or RPC.REPLY's answer */

    if (kvmq.acks > 0) {
        kvmq.acks--;
    }

    if (kvmq.count && kvmq.seen >= kvmq.count && kvmq.acks == 0) {
        kvmq_ws_close(ws);
    }
}


static void
kvmq_q_delivery(kvmq_ws_t *ws, yajl_val j, const char *data)
{
    int          status, n;
    char        *out, *argv[8], tag[32], why[32];
    yajl_val     v;
    const char  *body;
    const char  *body_path[] = { "body", NULL };
    const char  *tag_path[] = { "tag", NULL };
    const char  *to_path[] = { "properties", "reply_to", NULL };
    const char  *corr_path[] = { "properties", "correlation_id", NULL };

    if (kvmq.count && kvmq.seen >= kvmq.count) {
        /* past --count: left unacked, requeued when we close */
        return;
    }

    body = kvmq_json_str(yajl_tree_get(j, body_path, yajl_t_string));
    v = yajl_tree_get(j, tag_path, yajl_t_number);
    snprintf(tag, sizeof(tag), "%s", v ? YAJL_GET_NUMBER(v) : "0");

    if (kvmq.serve) {
        out = kvmq_q_exec(body, &status);
        if (out == NULL) {
            kvmq.rc = KVMQ_EXIT_ERROR;
            kvmq.done = 1;
            return;
        }

        v = yajl_tree_get(j, to_path, yajl_t_string);

        if (v) {
            n = 0;
            argv[n++] = "RPC.REPLY";
            argv[n++] = (char *) kvmq_json_str(v);
            argv[n++] = (char *) kvmq_json_str(yajl_tree_get(j, corr_path,
                                                             yajl_t_string));
            argv[n++] = out;

            if (status != 0) {
                snprintf(why, sizeof(why), "exit status %d", status);
                argv[n++] = "header";
                argv[n++] = "error";
                argv[n++] = why;
            }

            (void) kvmq_q_send(ws, n, argv);
            kvmq.acks++;
        }

        if (status != 0) {
            fprintf(stderr, "kvmq serve: %s exited with status %d\n",
                    kvmq.serve[0], status);
        }

        free(out);

    } else if (kvmq.json) {
        fputs(data, stdout);
        fputc('\n', stdout);
        fflush(stdout);

    } else {
        kvmq_print_raw(stdout, body);
        fflush(stdout);
    }

    kvmq.seen++;

    if (kvmq.ack) {
        argv[0] = "ACK";
        argv[1] = tag;
        (void) kvmq_q_send(ws, 2, argv);
        kvmq.acks++;

    } else if (kvmq.count && kvmq.seen >= kvmq.count) {
        kvmq_ws_close(ws);
    }
}


/* runs the serve command: body on stdin, stdout returned (malloc'ed) */

static char *
kvmq_q_exec(const char *body, int *status)
{
    int      fds[2], st;
    FILE    *in;
    char    *out, *p;
    pid_t    pid;
    size_t   len, size;
    ssize_t  n;

    in = tmpfile();
    if (in == NULL) {
        perror("kvmq serve: tmpfile");
        return NULL;
    }

    fputs(body, in);
    fflush(in);
    rewind(in);

    if (pipe(fds) != 0) {
        perror("kvmq serve: pipe");
        fclose(in);
        return NULL;
    }

    fflush(stdout);
    fflush(stderr);

    pid = fork();

    if (pid == -1) {
        perror("kvmq serve: fork");
        close(fds[0]);
        close(fds[1]);
        fclose(in);
        return NULL;
    }

    if (pid == 0) {
        dup2(fileno(in), 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(kvmq.serve[0], kvmq.serve);
        fprintf(stderr, "kvmq serve: cannot run %s\n", kvmq.serve[0]);
        _exit(127);
    }

    close(fds[1]);
    fclose(in);

    len = 0;
    size = 4096;
    out = malloc(size);

    for ( ;; ) {
        if (out == NULL) {
            break;
        }

        if (len + 1 == size) {
            p = realloc(out, size * 2);
            if (p == NULL) {
                free(out);
                out = NULL;
                break;
            }

            out = p;
            size *= 2;
        }

        n = read(fds[0], out + len, size - len - 1);
        if (n <= 0) {
            break;
        }

        len += n;
    }

    close(fds[0]);

    if (waitpid(pid, &st, 0) != pid) {
        st = 0;
    }

    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

    if (out) {
        out[len] = '\0';
    }

    return out;
}


static void
kvmq_q_close(kvmq_ws_t *ws, const char *why)
{
    kvmq.ws = NULL;

    if (kvmq.done) {
        return;
    }

    kvmq.done = 1;

    if (kvmq.count && kvmq.seen >= kvmq.count && kvmq.acks == 0) {
        return;
    }

    kvmq_conn_error(ws, why ? why : "connection closed");
}
