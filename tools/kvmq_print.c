
/*
 * Commands out, replies in, for the kvmq client.
 *
 * Replies print as redis-cli prints RESP: strings quoted with C escapes
 * for unprintable bytes, null as (nil), integers as (integer) N, other
 * numbers as (double) X, arrays numbered with nested arrays indented
 * under their number, objects (maps) as numbered "key" => value pairs,
 * and the status "OK" bare.  JSON cannot tell a status from a string, so
 * any string "OK" prints bare.
 */


#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "kvmq_print.h"


static void kvmq_print_value(FILE *out, yajl_val v, int indent);
static void kvmq_print_string(FILE *out, const char *s);
static void kvmq_print_gen(yajl_gen g, yajl_val v);


const char *
kvmq_json_str(yajl_val v)
{
    if (v == NULL || !YAJL_IS_STRING(v) || v->u.string == NULL) {
        return "";
    }

    return v->u.string;
}


char *
kvmq_cmd_json(long long id, int argc, char **argv, size_t *len)
{
    int                   i;
    char                 *s;
    size_t                n;
    yajl_gen              g;
    const unsigned char  *buf;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }

    yajl_gen_map_open(g);
    yajl_gen_string(g, (const unsigned char *) "id", 2);
    yajl_gen_integer(g, id);
    yajl_gen_string(g, (const unsigned char *) "cmd", 3);
    yajl_gen_array_open(g);

    for (i = 0; i < argc; i++) {
        yajl_gen_string(g, (const unsigned char *) argv[i], strlen(argv[i]));
    }

    yajl_gen_array_close(g);
    yajl_gen_map_close(g);

    yajl_gen_get_buf(g, &buf, &n);

    s = malloc(n + 1);
    if (s) {
        memcpy(s, buf, n);
        s[n] = '\0';
        *len = n;
    }

    yajl_gen_free(g);

    return s;
}


void
kvmq_print_reply(FILE *out, yajl_val v)
{
    kvmq_print_value(out, v, 0);
}


void
kvmq_print_error(FILE *out, yajl_val err)
{
    yajl_val     code, msg;
    const char  *c_path[] = { "error", NULL };
    const char  *m_path[] = { "message", NULL };

    code = yajl_tree_get(err, c_path, yajl_t_string);
    msg = yajl_tree_get(err, m_path, yajl_t_string);

    fprintf(out, "(error) %s %s\n",
            code ? kvmq_json_str(code) : "ERROR",
            msg ? kvmq_json_str(msg) : "");
}


void
kvmq_print_json(FILE *out, yajl_val v)
{
    size_t                n;
    yajl_gen              g;
    const unsigned char  *buf;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return;
    }

    kvmq_print_gen(g, v);
    yajl_gen_get_buf(g, &buf, &n);
    fwrite(buf, 1, n, out);
    fputc('\n', out);
    yajl_gen_free(g);
}


/* a body as it is, ended by a newline unless it has one */

void
kvmq_print_raw(FILE *out, const char *s)
{
    size_t  n;

    n = strlen(s);
    fwrite(s, 1, n, out);

    if (n == 0 || s[n - 1] != '\n') {
        fputc('\n', out);
    }
}


/*
 * Splits a line into arguments as redis-cli does: white space separates,
 * "double quotes" take C escapes (\n \r \t \\ \" \xHH), 'single quotes'
 * take \' only.  Returns argc, 0 for an empty line, -1 for unbalanced
 * quotes.  The arguments point into the line.
 */

int
kvmq_split_line(char *line, char ***argvp)
{
    int     argc, size, q;
    char   *p, *w, **argv, **na;
    char    hex[3];

    argc = 0;
    size = 8;
    argv = malloc(size * sizeof(char *));
    if (argv == NULL) {
        return -1;
    }

    p = line;

    for ( ;; ) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
        }

        if (*p == '\0') {
            break;
        }

        if (argc == size) {
            size *= 2;
            na = realloc(argv, size * sizeof(char *));
            if (na == NULL) {
                free(argv);
                return -1;
            }

            argv = na;
        }

        argv[argc++] = w = p;
        q = 0;

        while (*p) {
            if (q == 0) {
                if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
                    p++;
                    break;
                }

                if (*p == '"' || *p == '\'') {
                    q = *p++;
                    continue;
                }

                *w++ = *p++;
                continue;
            }

            if (*p == q) {
                q = 0;
                p++;
                continue;
            }

            if (*p == '\\' && p[1] != '\0') {
                p++;

                if (q == '\'') {
                    if (*p != '\'') {
                        *w++ = '\\';
                    }

                    *w++ = *p++;
                    continue;
                }

                switch (*p) {
                case 'n': *w++ = '\n'; p++; break;
                case 'r': *w++ = '\r'; p++; break;
                case 't': *w++ = '\t'; p++; break;
                case 'x':
                    if (p[1] && p[2]) {
                        hex[0] = p[1];
                        hex[1] = p[2];
                        hex[2] = '\0';
                        *w++ = (char) strtol(hex, NULL, 16);
                        p += 3;
                        break;
                    }

                    /* fall through */
                default:
                    *w++ = *p++;
                }

                continue;
            }

            *w++ = *p++;
        }

        if (q) {
            free(argv);
            return -1;
        }

        /* the separator was consumed: w may end on it */
        *w = '\0';
    }

    *argvp = argv;

    return argc;
}


static void
kvmq_print_value(FILE *out, yajl_val v, int indent)
{
    int      width;
    size_t   i, n;
    char     num[32];

    if (v == NULL || YAJL_IS_NULL(v)) {
        fputs("(nil)\n", out);
        return;
    }

    if (YAJL_IS_STRING(v)) {
        if (strcmp(kvmq_json_str(v), "OK") == 0) {
            fputs("OK\n", out);
            return;
        }

        kvmq_print_string(out, kvmq_json_str(v));
        fputc('\n', out);
        return;
    }

    if (YAJL_IS_INTEGER(v)) {
        fprintf(out, "(integer) %lld\n", YAJL_GET_INTEGER(v));
        return;
    }

    if (YAJL_IS_NUMBER(v)) {
        fprintf(out, "(double) %s\n", YAJL_GET_NUMBER(v));
        return;
    }

    if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        fprintf(out, "(%s)\n", YAJL_IS_TRUE(v) ? "true" : "false");
        return;
    }

    n = YAJL_IS_ARRAY(v) ? v->u.array.len : v->u.object.len;

    if (n == 0) {
        fputs(YAJL_IS_ARRAY(v) ? "(empty array)\n" : "(empty hash)\n", out);
        return;
    }

    width = snprintf(num, sizeof(num), "%zu", n);

    for (i = 0; i < n; i++) {
        if (i > 0) {
            fprintf(out, "%*s", indent, "");
        }

        if (YAJL_IS_ARRAY(v)) {
            fprintf(out, "%*zu) ", width, i + 1);
            kvmq_print_value(out, v->u.array.values[i], indent + width + 2);

        } else {
            fprintf(out, "%*zu# ", width, i + 1);
            kvmq_print_string(out, v->u.object.keys[i]);
            fputs(" => ", out);
            kvmq_print_value(out, v->u.object.values[i],
                             indent + width + 2);
        }
    }
}


static void
kvmq_print_string(FILE *out, const char *s)
{
    unsigned char  c;

    fputc('"', out);

    for ( /* void */ ; *s; s++) {
        c = (unsigned char) *s;

        switch (c) {
        case '"':  fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                fprintf(out, "\\x%02x", c);

            } else {
                fputc(c, out);
            }
        }
    }

    fputc('"', out);
}


static void
kvmq_print_gen(yajl_gen g, yajl_val v)
{
    size_t       i;
    const char  *s;

    if (v == NULL || YAJL_IS_NULL(v)) {
        yajl_gen_null(g);

    } else if (YAJL_IS_STRING(v)) {
        s = kvmq_json_str(v);
        yajl_gen_string(g, (const unsigned char *) s, strlen(s));

    } else if (YAJL_IS_NUMBER(v)) {
        s = YAJL_GET_NUMBER(v);
        yajl_gen_number(g, s, strlen(s));

    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        yajl_gen_bool(g, YAJL_IS_TRUE(v));

    } else if (YAJL_IS_ARRAY(v)) {
        yajl_gen_array_open(g);
        for (i = 0; i < v->u.array.len; i++) {
            kvmq_print_gen(g, v->u.array.values[i]);
        }
        yajl_gen_array_close(g);

    } else {
        yajl_gen_map_open(g);
        for (i = 0; i < v->u.object.len; i++) {
            s = v->u.object.keys[i];
            yajl_gen_string(g, (const unsigned char *) s, strlen(s));
            kvmq_print_gen(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
    }
}
