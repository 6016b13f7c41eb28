#!/bin/sh
# scripts/nginx.sh run|start|stop -- used by `make run`, `make start` and
# `make stop`: the system nginx with conf/nginx.conf, prefix build/run/.
#
# Workers: as a normal user they run as that user (nginx ignores `user`).
# As root, nginx would switch them to `nobody`; we pass
# `user nobody nogroup;` when nobody can reach build/run/ and otherwise
# (a checkout under /root, say) keep them as root, with a note.

set -e

cd "$(dirname "$0")/.."
top=$(pwd)

NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

# nginx takes $NGINX as a list of inherited listening sockets (binary
# upgrade) and then neither daemonizes nor binds: never pass it on.
unset NGINX
prefix=$top/build/run
conf=$top/conf/nginx.conf
pidfile=$prefix/nginx.pid
module=$top/build/ngx_http_kvmq_module.so

# alive and not a zombie waiting for its reaper
alive() {
    kill -0 "$1" 2>/dev/null && ! grep -q ') Z' "/proc/$1/stat" 2>/dev/null
}

running() {
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [ -n "$pid" ] && alive "$pid" \
        && grep -q nginx "/proc/$pid/cmdline" 2>/dev/null
}

children() {
    for stat in /proc/[0-9]*/stat; do
        # "pid (comm) state ppid ...": cut after the last ") "
        s=$(cat "$stat" 2>/dev/null) || continue
        rest=${s##*) }
        # shellcheck disable=SC2086
        set -- $rest
        [ "$2" = "$parent" ] && echo "${stat%/stat}" | cut -d/ -f3
    done
}

hints() {
    cat <<'EOF'
kvmq on http://127.0.0.1:8080/kvmq/ -- try:

  curl -X PUT --data-binary hello http://127.0.0.1:8080/kvmq/kv/greeting
  curl http://127.0.0.1:8080/kvmq/kv/greeting
  curl -d '["INCR","hits"]' http://127.0.0.1:8080/kvmq/cmd
  curl http://127.0.0.1:8080/kvmq/cmd/GET/hits
  curl http://127.0.0.1:8080/kvmq/stats

EOF
}

prepare() {
    if [ ! -f "$module" ]; then
        echo "$module not found: run 'make build'" >&2
        exit 1
    fi

    if running; then
        echo "nginx already running (pid $pid): make stop" >&2
        exit 1
    fi

    mkdir -p "$prefix/logs" "$prefix/temp"

    user=
    if [ "$(id -u)" -eq 0 ]; then
        if runuser -u nobody -- test -x "$prefix/temp" 2>/dev/null; then
            user="user nobody nogroup;"
        else
            user="user root;"
            echo "note: nobody cannot reach $prefix; workers run as root"
        fi
    fi
}

case "$1" in

run)
    prepare
    hints
    echo "nginx in the foreground (Ctrl-C stops it), log also in" \
         "$prefix/logs/error.log"
    exec "$NGINX_BIN" -p "$prefix/" -c "$conf" \
        -g "daemon off; error_log stderr notice; $user"
    ;;

start)
    prepare
    # nginx keeps stdout open when it daemonizes: a pipe reading our
    # output would never see its end
    "$NGINX_BIN" -p "$prefix/" -c "$conf" -g "$user" > /dev/null

    i=0
    while ! running; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "nginx did not start, see $prefix/logs/error.log" >&2
            exit 1
        fi
        sleep 0.1
    done

    hints
    echo "nginx started (pid $pid); 'make stop' stops it"
    ;;

stop)
    if ! running; then
        echo "nginx is not running"
        exit 0
    fi

    # graceful first, then harder, each for a bounded time
    for sig in QUIT TERM KILL; do
        if [ $sig = KILL ]; then
            # the workers would outlive a killed master
            parent=$pid
            # shellcheck disable=SC2046
            kill -KILL $(children) 2>/dev/null || true
        fi
        kill -$sig "$pid" 2>/dev/null || true
        i=0
        while alive "$pid" && [ $i -lt 100 ]; do
            i=$((i + 1))
            sleep 0.1
        done
        if ! alive "$pid"; then
            echo "nginx stopped (pid $pid, SIG$sig)"
            rm -f "$pidfile"
            exit 0
        fi
    done

    echo "nginx (pid $pid) did not stop" >&2
    exit 1
    ;;

*)
    echo "usage: $0 run|start|stop" >&2
    exit 2
    ;;

esac
