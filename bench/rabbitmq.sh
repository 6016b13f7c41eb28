#!/bin/bash
# A private rabbitmq-server node for the benchmarks, never the system one.
#
#   bench/rabbitmq.sh start DIR PORT    AMQP on 127.0.0.1:PORT, state in DIR
#   bench/rabbitmq.sh stop DIR
#
# The node is pinned to CPU 0 and its Erlang VM runs one scheduler (+S 1:1,
# one dirty CPU scheduler), so that it is measured like one nginx worker.
# Everything it writes (mnesia, logs, the Erlang cookie via HOME, the pid
# file) lives in DIR; it listens on loopback only and registers with an
# epmd of its own on a private port, so a system epmd or node is neither
# used nor disturbed.  `stop` kills by the PIDs recorded in DIR.
#
# guest/guest is allowed from loopback only (RabbitMQ's default), which is
# all the load client needs.

set -eu

rmq=/usr/lib/rabbitmq/bin
start_timeout=60
stop_timeout=30

usage() {
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
}

log() { echo "rabbitmq.sh: $*" >&2; }

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
            LocalPort => 0, Listen => 1) or die $!;
        print $s->sockport'
}

# the variables both the node and rabbitmqctl need to find each other
node_env() {
    local dir=$1
    # shellcheck disable=SC1091
    . "$dir/node.env"
    export HOME=$dir
    export RABBITMQ_NODENAME=$node
    export ERL_EPMD_ADDRESS=127.0.0.1
    export ERL_EPMD_PORT=$epmd_port
    export RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
    # the node is kvmqbench-PORT@localhost: resolve "localhost" inside
    # Erlang, a machine without /etc/hosts (a bare chroot) cannot
    printf '%s\n' '{host, {127,0,0,1}, ["localhost"]}.' \
        '{lookup, [file, native]}.' > "$dir/inetrc"
    export ERL_INETRC=$dir/inetrc
}

# wait until the pid is gone, up to $2 seconds; 0 if it is
wait_gone() {
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    ! kill -0 "$1" 2>/dev/null
}

kill_pid() {        # pid, seconds before SIGKILL
    [ -n "$1" ] || return 0
    kill -0 "$1" 2>/dev/null || return 0
    kill "$1" 2>/dev/null || true
    wait_gone "$1" "$2" || {
        log "pid $1 did not exit, killing it"
        kill -9 "$1" 2>/dev/null || true
        wait_gone "$1" 5 || true
    }
}

port_free() {
    perl -MIO::Socket::INET -e '
        IO::Socket::INET->new(LocalAddr => "127.0.0.1", ReuseAddr => 1,
            LocalPort => $ARGV[0], Listen => 1) or exit 1' "$1"
}

# the pid listening on 127.0.0.1:port, if ss can tell
listener_pid() {
    ss -ltnpH "src 127.0.0.1:$1" 2>/dev/null \
        | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}

# a connection.start frame back for the AMQP 0-9-1 header: the listener is
# up, which RabbitMQ opens only once the boot steps are done
amqp_ready() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
            PeerPort => $ARGV[0], Timeout => 2) or exit 1;
        $s->syswrite("AMQP\x00\x00\x09\x01");
        my $buf = "";
        my $rin = "";
        vec($rin, fileno($s), 1) = 1;
        select(my $rout = $rin, undef, undef, 2) > 0 or exit 1;
        $s->sysread($buf, 7) == 7 or exit 1;
        exit(substr($buf, 0, 3) eq "\x01\x00\x00" ? 0 : 1)' "$1"
}

do_stop() {
    local dir=$1 beam="" epmd_pid="" node="" epmd_port=""

    [ -f "$dir/node.env" ] || { log "no node in $dir"; return 0; }

    # shellcheck disable=SC1091
    . "$dir/node.env"
    [ -f "$dir/rabbit.pid" ] && beam=$(cat "$dir/rabbit.pid" 2>/dev/null)
    [ -f "$dir/launcher.pid" ] && [ -z "$beam" ] \
        && beam=$(cat "$dir/launcher.pid" 2>/dev/null)
    [ -f "$dir/epmd.pid" ] && epmd_pid=$(cat "$dir/epmd.pid" 2>/dev/null)

    # SIGTERM makes the Erlang VM run init:stop(), a clean shutdown
    kill_pid "$beam" "$stop_timeout"
    kill_pid "$epmd_pid" 5

    # an epmd the VM may have started itself if ours had died
    if [ -n "$epmd_port" ] \
        && timeout 5 epmd -port "$epmd_port" -names >/dev/null 2>&1
    then
        timeout 5 epmd -port "$epmd_port" -kill >/dev/null 2>&1 || true
    fi

    rm -f "$dir/rabbit.pid" "$dir/launcher.pid" "$dir/epmd.pid" \
        "$dir/node.env"
}

do_start() {
    local dir=$1 port=$2 dist_port epmd_port node beam epmd_pid launcher
    local owner

    case $port in
        ''|*[!0-9]*) usage ;;
    esac

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)

    if [ -f "$dir/node.env" ]; then
        log "$dir already has a node; stop it first"
        exit 1
    fi

    # else the readiness probe below would find whoever has the port
    if ! port_free "$port"; then
        log "127.0.0.1:$port is in use"
        exit 1
    fi

    node=kvmqbench-$port@localhost
    dist_port=$(free_port)
    epmd_port=$(free_port)

    mkdir -p "$dir/mnesia" "$dir/log"
    : > "$dir/rabbitmq-env.conf"
    echo '[].' > "$dir/enabled_plugins"
    cat > "$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$port
loopback_users.guest = true
log.console = false
log.file.level = warning
CONF
    cat > "$dir/node.env" <<ENV
node=$node
port=$port
epmd_port=$epmd_port
ENV

    trap 'log "start failed, cleaning up"; do_stop "$dir"' EXIT
    trap 'exit 1' INT TERM

    node_env "$dir"

    # epmd of our own: loopback, private port, pid known for stop
    setsid epmd -address 127.0.0.1 -port "$epmd_port" \
        > "$dir/log/epmd.log" 2>&1 < /dev/null &
    epmd_pid=$!
    echo "$epmd_pid" > "$dir/epmd.pid"

    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$port
    export RABBITMQ_DIST_PORT=$dist_port
    export RABBITMQ_MNESIA_BASE=$dir/mnesia
    export RABBITMQ_LOG_BASE=$dir/log
    export RABBITMQ_LOGS=$dir/log/rabbit.log
    export RABBITMQ_PID_FILE=$dir/rabbit.pid
    export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
    export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
    export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
    export RABBITMQ_FEATURE_FLAGS_FILE=$dir/feature_flags
    export RABBITMQ_PLUGINS_EXPAND_DIR=$dir/plugins-expand
    # one scheduler, one dirty CPU scheduler; distribution on loopback
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+S 1:1 +SDcpu 1:1 \
-kernel inet_dist_use_interface {127,0,0,1}"

    for _ in $(seq 20); do
        epmd -port "$epmd_port" -names >/dev/null 2>&1 && break
        sleep 0.1
    done

    (cd "$dir" && exec setsid taskset -c 0 "$rmq/rabbitmq-server" \
        > "$dir/log/startup.log" 2>&1 < /dev/null) &
    launcher=$!
    echo "$launcher" > "$dir/launcher.pid"

    for _ in $(seq $((start_timeout * 5))); do
        if ! kill -0 "$launcher" 2>/dev/null; then
            log "rabbitmq-server exited; $dir/log/startup.log:"
            tail -n 30 "$dir/log/startup.log" >&2
            exit 1
        fi
        if [ -s "$dir/rabbit.pid" ] && amqp_ready "$port"; then
            break
        fi
        sleep 0.2
    done

    if ! amqp_ready "$port"; then
        log "no AMQP on 127.0.0.1:$port after ${start_timeout}s"
        tail -n 30 "$dir/log/startup.log" >&2
        exit 1
    fi

    beam=$(cat "$dir/rabbit.pid")
    case $(ps -o comm= -p "$beam" 2>/dev/null) in
        beam.smp) ;;
        *) log "pid file $dir/rabbit.pid names no beam.smp ($beam)"; exit 1 ;;
    esac

    owner=$(listener_pid "$port")
    if [ -n "$owner" ] && [ "$owner" != "$beam" ]; then
        log "127.0.0.1:$port belongs to pid $owner, not to $beam"
        exit 1
    fi

    trap - EXIT INT TERM
    log "node $node (beam.smp $beam, epmd $epmd_pid on $epmd_port)" \
        "on 127.0.0.1:$port, $(schedulers "$beam") schedulers," \
        "CPU list $(taskset -cp "$beam" | sed 's/.*: //')"
}

# the normal schedulers beam.smp runs: one thread named 1_scheduler each
schedulers() {
    local n=0 t
    for t in /proc/"$1"/task/*/comm; do
        case $(cat "$t" 2>/dev/null) in
            [0-9]*_scheduler) n=$((n + 1)) ;;
        esac
    done
    echo "$n"
}

[ $# -ge 2 ] || usage

case $1 in
    start) [ $# -eq 3 ] || usage; do_start "$2" "$3" ;;
    stop)  [ $# -eq 2 ] || usage; do_stop "$2" ;;
    *)     usage ;;
esac
