#!/bin/bash
# make bench: kvmq next to what users would pick instead, in one run.
#
# Every server under test is pinned to CPU 0 (one nginx worker; webdis and
# its redis-server together; rabbitmq-server with one scheduler), every
# load client to CPU 1.  Each row is measured in rounds, kvmq and its
# peers alternating within a round so that drift cancels; a figure is the
# median of the rounds.  All servers listen on loopback ports picked here,
# live in one temp prefix, and are stopped by PID on exit.
#
#   bench/run.sh                    -> bench/RESULTS.md
#   KVMQ_BENCH_SECS=4  seconds per wrk run
#   KVMQ_BENCH_ROUNDS=3
#   KVMQ_BENCH_ONLY="http redis memory fanout stalled queue"  (a subset)
#
# Peers: nginx `return 200`, nginx + lua_shared_dict, webdis +
# redis-server, redis-benchmark, nchan, rabbitmq-server (see
# bench/rabbitmq.sh and bench/amqp_bench.c).

set -eu

cd "$(dirname "$0")/.."
top=$(pwd)
secs=${KVMQ_BENCH_SECS:-4}
rounds=${KVMQ_BENCH_ROUNDS:-3}
only=${KVMQ_BENCH_ONLY:-http redis memory fanout stalled queue}
module=${KVMQ_MODULE:-$top/build/ngx_http_kvmq_module.so}
tools=$top/build/tools
amqp=$top/build/bench/kvmq-amqp-bench
out=${KVMQ_BENCH_OUT:-$top/bench/RESULTS.md}

need=("$module" "$tools/kvmq-bench" "$tools/kvmq")
[[ " $only " == *" queue "* ]] && need+=("$amqp")
for f in "${need[@]}"; do
    [ -x "$f" ] || [ -f "$f" ] || {
        echo "bench: $f is missing (make bench builds it)" >&2; exit 1; }
done
for c in wrk webdis redis-server redis-benchmark redis-cli rabbitmq-server
do
    command -v "$c" >/dev/null || {
        echo "bench: $c is missing (scripts/deps.sh bench)" >&2; exit 1; }
done
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || {
    echo "bench: libnginx-mod-nchan is missing" >&2; exit 1; }

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d /tmp/kvmq-bench.XXXXXX)
pids=()
rabbit=""
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    if [ -n "$rabbit" ]; then
        "$top/bench/rabbitmq.sh" stop "$tmp/rabbit" >/dev/null 2>&1 || true
    fi
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log() { echo "bench: $*" >&2; }

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
            LocalPort => 0, Listen => 1) or die $!;
        print $s->sockport'
}

wait_port() {
    local i
    for i in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    log "nothing listens on port $1"
    return 1
}

median() {
    tr ' ' '\n' | grep -v '^$' | sort -g \
        | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'
}

ratio() {
    awk -v a="$1" -v b="$2" \
        'BEGIN {if (a == "" || b == "" || b == 0) print "–";
                else printf "%.2f×", a / b}'
}

int() {
    awk -v a="$1" 'BEGIN {if (a == "") print "–"; else printf "%.0f", a}'
}

declare -A res


# --- the servers ----------------------------------------------------------

p_ret=$(free_port); p_kv=$(free_port); p_lua=$(free_port)
p_nchan=$(free_port); p_redis=$(free_port); p_webdis=$(free_port)
p_rabbit=$(free_port)
val=$(printf 'v%.0s' $(seq 1 64))

start_nginx() {        # name, extra load_module lines, http block body
    local d=$tmp/$1
    mkdir -p "$d/logs" "$d/tmp"
    cat > "$d/nginx.conf" <<CONF
$2
worker_processes 1;
worker_rlimit_nofile 65536;
error_log $d/logs/error.log ${4:-warn};
pid $d/nginx.pid;
events { worker_connections 20000; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    keepalive_requests 10000000;
$3
}
CONF
    taskset -c 0 /usr/sbin/nginx -p "$d" -c "$d/nginx.conf" \
        -g 'daemon off;' &
    pids+=($!)
}

start_nginx kv "
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
load_module $module;" "
    kvmq_zone bench size=512m;
    kvmq_ws_send_buffer 256k;
    lua_shared_dict d 64m;
    init_by_lua_block { ngx.shared.d:set('k', '$val') ngx.shared.d:set('n', 0) }
    server {
        listen 127.0.0.1:$p_ret;
        location / { default_type application/octet-stream;
                     return 200 '$val'; }
    }
    server {
        listen 127.0.0.1:$p_kv;
        location /kvmq/ { kvmq_api bench; }
    }
    server {
        listen 127.0.0.1:$p_lua;
        default_type application/octet-stream;
        location = /get { content_by_lua_block {
            ngx.print(ngx.shared.d:get('k')) } }
        location = /set { content_by_lua_block {
            ngx.req.read_body()
            ngx.shared.d:set('k2', ngx.req.get_body_data())
            ngx.print('OK') } }
        location = /incr { content_by_lua_block {
            ngx.print(ngx.shared.d:incr('n', 1)) } }
        location = /lpush { content_by_lua_block {
            ngx.req.read_body()
            ngx.print(ngx.shared.d:lpush('l', ngx.req.get_body_data())) } }
        location = /rpop { content_by_lua_block {
            local v = ngx.shared.d:rpop('l')
            if v == nil then ngx.exit(204) end
            ngx.print(v) } }
    }" info
kv_pid=${pids[-1]}

start_nginx nchan "
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;" "
    nchan_shared_memory_size 512m;
    server {
        listen 127.0.0.1:$p_nchan;
        location ~ /sub/(.+)\$ { nchan_subscriber websocket;
                                nchan_subscriber_first_message newest;
                                nchan_channel_id \$1; }
        location ~ /pub/(.+)\$ { nchan_publisher websocket http;
                                nchan_channel_id \$1; }
    }"

mkdir -p "$tmp/redis"
taskset -c 0 redis-server --bind 127.0.0.1 --port "$p_redis" --save '' \
    --appendonly no --dir "$tmp/redis" --logfile "$tmp/redis/log" \
    --daemonize no &
pids+=($!)
redis_pid=$!

cat > "$tmp/webdis.json" <<JSON
{ "redis_host": "127.0.0.1", "redis_port": $p_redis,
  "http_host": "127.0.0.1", "http_port": $p_webdis,
  "threads": 2, "pool_size": 20, "daemonize": false, "websockets": true,
  "database": 0, "verbosity": 1, "logfile": "$tmp/webdis.log" }
JSON
taskset -c 0 webdis "$tmp/webdis.json" &
pids+=($!)
webdis_pid=$!

for p in $p_ret $p_kv $p_lua $p_nchan $p_redis $p_webdis; do
    wait_port "$p"
done

kv=http://127.0.0.1:$p_kv/kvmq
wd=http://127.0.0.1:$p_webdis
lua=http://127.0.0.1:$p_lua
curl -sf -X PUT -H "Content-Type: application/octet-stream" \
    --data-binary "$val" "$kv/kv/k" >/dev/null
redis-cli -p "$p_redis" SET k "$val" >/dev/null
redis-cli -p "$p_redis" SET n 0 >/dev/null

# the worker's pid, for its memory
kv_worker=$(pgrep -P "$kv_pid" | head -1)


# --- HTTP: wrk against kvmq, return 200, lua_shared_dict, webdis ----------

# wrk scripts: a fixed request, or one made per request (a counter gives
# HSET and ZADD new fields/members, LPUSH and RPOP alternate)
wscript() {            # file, lua body
    printf '%s\n' "$2" > "$tmp/$1.lua"
}
wscript put "wrk.method = 'PUT' wrk.body = '$val'"
wscript post "wrk.method = 'POST' wrk.body = '$val'"
wscript postempty "wrk.method = 'POST'"
batch='['
for i in $(seq 10); do
    batch="${batch}[\"GET\",\"k\"]"
    [ "$i" -lt 10 ] && batch="$batch,"
done
batch="$batch]"
wscript batch "wrk.method = 'POST' wrk.body = '$batch'
wrk.headers['Content-Type'] = 'application/json'"
wscript kv_hset "local n = 0
request = function() n = n + 1
  return wrk.format('PUT', '/kvmq/hash/h/f' .. (n % 100000), nil, '$val') end"
wscript kv_zadd "local n = 0
request = function() n = n + 1
  return wrk.format('PUT', '/kvmq/zset/z/m' .. (n % 100000), nil,
                    tostring(n)) end"
wscript kv_lpushrpop "local n = 0
request = function() n = n + 1
  if n % 2 == 1 then
    return wrk.format('POST', '/kvmq/list/l?end=left', nil, '$val') end
  return wrk.format('POST', '/kvmq/list/l/pop?end=right') end"
wscript lua_lpushrpop "local n = 0
request = function() n = n + 1
  if n % 2 == 1 then return wrk.format('POST', '/lpush', nil, '$val') end
  return wrk.format('GET', '/rpop') end"
wscript wd_set "wrk.method = 'PUT' wrk.body = '$val'"
wscript wd_hset "local n = 0
request = function() n = n + 1
  return wrk.format('GET', '/HSET/h/f' .. (n % 100000) .. '/$val') end"
wscript wd_zadd "local n = 0
request = function() n = n + 1
  return wrk.format('GET', '/ZADD/z/' .. n .. '/m' .. (n % 100000)) end"
wscript wd_lpushrpop "local n = 0
request = function() n = n + 1
  if n % 2 == 1 then return wrk.format('GET', '/LPUSH/l/$val') end
  return wrk.format('GET', '/RPOP/l') end"

# row|target|url|script
http_runs=(
  "GET|return 200|http://127.0.0.1:$p_ret/|"
  "GET|kvmq|$kv/kv/k|"
  "GET|lua_shared_dict|$lua/get|"
  "GET|webdis|$wd/GET/k|"
  "SET|kvmq|$kv/kv/k2|put"
  "SET|lua_shared_dict|$lua/set|post"
  "SET|webdis|$wd/SET/k2|wd_set"
  "INCR|kvmq|$kv/kv/n/incr|postempty"
  "INCR|lua_shared_dict|$lua/incr|"
  "INCR|webdis|$wd/INCR/n|"
  "HSET|kvmq|$kv/|kv_hset"
  "HSET|webdis|$wd/|wd_hset"
  "LPUSH+RPOP|kvmq|$kv/|kv_lpushrpop"
  "LPUSH+RPOP|lua_shared_dict|$lua/|lua_lpushrpop"
  "LPUSH+RPOP|webdis|$wd/|wd_lpushrpop"
  "ZADD|kvmq|$kv/|kv_zadd"
  "ZADD|webdis|$wd/|wd_zadd"
  "/cmd batch of 10 GET|kvmq|$kv/cmd|batch"
)

# CPU time (clock ticks) of processes, threads included
ticks() {
    local p t=0 a
    for p in "$@"; do
        read -r -a a < "/proc/$p/stat"
        t=$((t + a[13] + a[14]))
    done
    echo "$t"
}
hz=$(getconf CLK_TCK)

wrk_run() {            # url, script, server pids -> req/s, server us/req
    local args=(-t1 -c50 "-d${secs}s") t0 t1 url=$1 script=$2
    shift 2
    [ -n "$script" ] && args+=(-s "$tmp/$script.lua")
    t0=$(ticks "$@")
    taskset -c 1 wrk "${args[@]}" "$url" > "$tmp/wrk.out" 2>&1 || true
    t1=$(ticks "$@")
    # answers that were not 2xx make the figure meaningless
    if grep -q 'Non-2xx' "$tmp/wrk.out"; then
        log "non-2xx answers from $url:"; cat "$tmp/wrk.out" >&2
    fi
    awk -v t="$((t1 - t0))" -v hz="$hz" '
        / requests in / {n = $1}
        /Requests\/sec/ {r = $2}
        END {printf "%s %.2f\n", r, n ? t / hz / n * 1e6 : 0}' \
        "$tmp/wrk.out"
}

if [[ " $only " == *" http "* ]]; then
    for r in $(seq "$rounds"); do
        for run in "${http_runs[@]}"; do
            IFS='|' read -r row target url script <<<"$run"
            if [ "$target" = webdis ]; then
                sp=("$webdis_pid" "$redis_pid")
            else
                sp=("$kv_worker")
            fi
            read -r rps us <<<"$(wrk_run "$url" "$script" "${sp[@]}")"
            res["$row|$target"]="${res[$row|$target]:-} $rps"
            res["$row|$target|us"]="${res[$row|$target|us]:-} $us"
            log "round $r: $row $target: $rps req/s, server $us us/req"
        done
    done
fi


# --- redis-benchmark against redis-server (RESP, the raw reference) ------

if [[ " $only " == *" redis "* ]]; then
    for r in $(seq "$rounds"); do
        # one key for GET SET INCR LPUSH RPOP, as over HTTP; HSET and
        # ZADD on 100,000 fields/members
        taskset -c 1 redis-benchmark -p "$p_redis" -c 50 -n 200000 -d 64 \
            -t set,get,incr,lpush,rpop --csv -q > "$tmp/rb.csv" 2>/dev/null
        taskset -c 1 redis-benchmark -p "$p_redis" -c 50 -n 200000 -d 64 \
            -r 100000 -t hset,zadd --csv -q >> "$tmp/rb.csv" 2>/dev/null
        taskset -c 1 redis-benchmark -p "$p_redis" -c 50 -n 1000000 -d 64 \
            -P 10 -t get --csv -q > "$tmp/rbp.csv" 2>/dev/null
        get() { awk -F'"' -v t="$1" '$2 == t {print $4}' "$tmp/rb.csv"; }
        res["GET|redis"]+=" $(get GET)"
        res["SET|redis"]+=" $(get SET)"
        res["INCR|redis"]+=" $(get INCR)"
        res["HSET|redis"]+=" $(get HSET)"
        res["LPUSH+RPOP|redis"]+=" $(awk -v a="$(get 'LPUSH')" \
            -v b="$(get 'RPOP')" 'BEGIN {print (a + b) / 2}')"
        res["ZADD|redis"]+=" $(get ZADD)"
        # 10 pipelined GETs = 10 commands; per 10 to compare with a batch
        res["/cmd batch of 10 GET|redis"]+=" $(awk -F'"' '$2 == "GET" \
            {print $4 / 10}' "$tmp/rbp.csv")"
        log "round $r: redis-benchmark done"
    done
fi


# --- memory: 1,000,000 keys of 16 bytes with 16-byte values -------------

mem_kvmq="" mem_redis=""
if [[ " $only " == *" memory "* ]]; then
    perl -e 'for my $i (0 .. 9999) {
        print "MSET";
        printf " k%015d v%015d", $i * 100 + $_, $i * 100 + $_ for 0 .. 99;
        print "\n" }' > "$tmp/mset.txt"
    used() { curl -sf "$kv/stats" | perl -ne 'print $1 if /"used":(\d+)/'; }
    curl -sf -X POST -d '["FLUSHALL"]' "$kv/cmd" >/dev/null
    u0=$(used)
    taskset -c 1 "$tools/kvmq" --url "$kv/" cmd - < "$tmp/mset.txt" \
        > /dev/null
    u1=$(used)
    n=$(curl -sf "$kv/cmd/DBSIZE")
    mem_kvmq=$(awk -v a="$u0" -v b="$u1" 'BEGIN {printf "%.1f",
                                                  (b - a) / 1000000}')
    log "kvmq: $n keys, zone used $u0 -> $u1"

    rused() { redis-cli -p "$p_redis" INFO memory \
                | awk -F: '/^used_memory:/ {print $2 + 0}'; }
    redis-cli -p "$p_redis" FLUSHALL >/dev/null
    r0=$(rused)
    sed 's/$/\r/' "$tmp/mset.txt" \
        | redis-cli -p "$p_redis" --pipe > /dev/null
    r1=$(rused)
    mem_redis=$(awk -v a="$r0" -v b="$r1" 'BEGIN {printf "%.1f",
                                                   (b - a) / 1000000}')
    log "redis: $(redis-cli -p "$p_redis" DBSIZE) keys, used_memory" \
        "$r0 -> $r1"
    curl -sf -X POST -d '["FLUSHALL"]' "$kv/cmd" >/dev/null
    redis-cli -p "$p_redis" FLUSHALL >/dev/null
    curl -sf -X PUT -H "Content-Type: application/octet-stream" \
        --data-binary "$val" "$kv/kv/k" >/dev/null
    redis-cli -p "$p_redis" SET k "$val" >/dev/null
fi


# --- WebSocket: fan-out (kvmq, nchan), pipelined commands (kvmq, webdis) --

# kvmq-bench output -> "rate p50 p99 cpu" (ms for latencies)
bench_fields() {
    awk '/ in [0-9.]+ s: / {r = $(NF - 1)}
         /latency:/ {gsub(/,/, ""); p50 = $3; p99 = $9}
         /client CPU/ {c = $3; sub(/%/, "", c)}
         END {print r, p50, p99, c}' "$1"
}

bench_run() {          # key, args...
    local key=$1 f
    shift
    taskset -c 1 "$@" > "$tmp/b.out" 2>&1 || {
        log "$key: failed:"; cat "$tmp/b.out" >&2; }
    read -r rate p50 p99 cpu <<<"$(bench_fields "$tmp/b.out")"
    for f in rate p50 p99 cpu; do
        res["$key|$f"]="${res[$key|$f]:-} ${!f}"
    done
    log "$key: $rate/s p50 $p50 ms p99 $p99 ms client CPU $cpu%"
}

if [[ " $only " == *" fanout "* ]]; then
    for r in $(seq "$rounds"); do
        for s in 100 1000; do
            m=$((2000000 / s))
            bench_run "fanout $s|kvmq" "$tools/kvmq-bench" --url "$kv/" \
                fanout -s "$s" -m "$m" -w 16
            bench_run "fanout $s|nchan" "$tools/kvmq-bench" --target nchan \
                --url "http://127.0.0.1:$p_nchan/" fanout -s "$s" -m "$m" \
                -w 16
        done
        # webdis 0.1.9 closes a WebSocket after any reply but SUBSCRIBE's,
        # so commands over WebSocket have no peer here
        bench_run "ws GET|kvmq" "$tools/kvmq-bench" --url "$kv/" cmd \
            -c 4 -P 32 -n 500000 --command "GET k"
    done
fi


# --- slow subscribers: 1,000, of which 10 never read, 100,000 messages ----

stalled_out=""
if [[ " $only " == *" stalled "* ]]; then
    rss() { awk '/^VmRSS/ {print $2}' "/proc/$kv_worker/status"; }
    used() { curl -sf "$kv/stats" | perl -ne 'print $1 if /"used":(\d+)/'; }
    # kvmq logs each slow reader it closes with 1008 (at info); a
    # subscriber that never reads cannot see the close frame itself once
    # the kernel has given up on the orphaned socket (about a minute)
    closed() { grep -c 'over kvmq_ws_send_buffer, closing' \
                   "$tmp/kv/logs/error.log" || true; }
    rss0=$(rss); used0=$(used); c0=$(closed)
    ( while sleep 1; do rss; done > "$tmp/rss.log" ) &
    sampler=$!
    taskset -c 1 "$tools/kvmq-bench" --url "$kv/" fanout -s 1000 \
        --stalled 10 -m 100000 -w 16 -t 30000 > "$tmp/stalled.out" 2>&1 \
        || log "stalled: exit status $?"
    kill "$sampler"
    rss1=$(rss); used1=$(used); c1=$(closed)
    peak=$(sort -n "$tmp/rss.log" | tail -1)
    stalled_out="$(cat "$tmp/stalled.out")
server log: $((c1 - c0)) connections closed with 1008 \"send buffer full\"
worker RSS ${rss0} kB before, peak ${peak} kB, ${rss1} kB after;
zone used $used0 -> $used1 bytes"
    log "$stalled_out"
fi


# --- queues and RPC: kvmq vs rabbitmq-server -----------------------------

if [[ " $only " == *" queue "* ]]; then
    "$top/bench/rabbitmq.sh" start "$tmp/rabbit" "$p_rabbit" >&2
    rabbit=1
    for r in $(seq "$rounds"); do
        for q in "queue c4 f100|-c 4 -p 1 -f 100 -w 100" \
                 "queue c1 f1000|-c 1 -p 1 -f 1000 -w 1000" \
                 "rpc p8 w4|-c 2 -p 8 -w 4" "rpc p2 w64|-c 2 -p 2 -w 64"
        do
            row=${q%|*}; read -r -a a <<<"${q#*|}"
            mode=${row%% *}
            bench_run "$row|kvmq" "$tools/kvmq-bench" --url "$kv/" "$mode" \
                "${a[@]}" -m 200000
            bench_run "$row|rabbitmq" "$amqp" --port "$p_rabbit" "$mode" \
                "${a[@]}" -m 200000
        done
        bench_run "queue c4 f100 http|kvmq" "$tools/kvmq-bench" \
            --url "$kv/" queue --http -c 4 -p 1 -f 100 -w 100 -m 200000
    done
    "$top/bench/rabbitmq.sh" stop "$tmp/rabbit" >&2
    rabbit=""
fi


# --- the report ------------------------------------------------------------

m() { echo "${res[$1]:-}" | median; }

{
    echo "# kvmq benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC');" \
         "$(nginx -v 2>&1 | sed 's/.*: //')," \
         "$(redis-server --version | awk '{print "redis", $3}' | tr -d v=)," \
         "webdis $(dpkg-query -W -f='${Version}' webdis)," \
         "nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan)," \
         "rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server);"
    echo "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')," \
         "$(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB."
    echo
    echo "Servers pinned to CPU 0 (one nginx worker; webdis + redis-server;"
    echo "rabbitmq-server with one scheduler), clients to CPU 1. Every figure"
    echo "is the median of $rounds rounds, kvmq and peers alternating within"
    echo "a round. \`make bench\` (bench/run.sh) wrote this file."
    echo
    echo "## HTTP: requests/s"
    echo
    echo "\`wrk -t1 -c50 -d${secs}s\`, 64-byte values; HSET and ZADD write"
    echo "100,000 distinct fields/members, LPUSH+RPOP alternate. redis is"
    echo "\`redis-benchmark -c 50 -d 64\` over RESP (no HTTP), the batch row"
    echo "\`-P 10\` divided by 10. The batch is one \`POST /cmd\` of 10 GETs."
    echo
    echo "| row | kvmq | return 200 | lua_shared_dict | webdis | redis |" \
         "kvmq/return 200 | kvmq/lua | kvmq/webdis |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for row in GET SET INCR HSET LPUSH+RPOP ZADD "/cmd batch of 10 GET"; do
        k=$(m "$row|kvmq"); rt=$(m "$row|return 200")
        l=$(m "$row|lua_shared_dict"); w=$(m "$row|webdis")
        rd=$(m "$row|redis")
        echo "| $row | $(int "$k") | $(int "$rt") | $(int "$l") |" \
             "$(int "$w") | $(int "$rd") | $(ratio "$k" "$rt") |" \
             "$(ratio "$k" "$l") | $(ratio "$k" "$w") |"
    done
    echo
    echo "Server CPU per request, microseconds (the nginx worker's, or"
    echo "webdis' and redis-server's together, from /proc during the same"
    echo "runs): this ranks the servers even where the one wrk thread, not"
    echo "the server, sets the request rate."
    echo
    echo "| row | kvmq | return 200 | lua_shared_dict | webdis + redis |"
    echo "|---|---:|---:|---:|---:|"
    for row in GET SET INCR HSET LPUSH+RPOP ZADD "/cmd batch of 10 GET"; do
        echo "| $row | $(m "$row|kvmq|us") | $(m "$row|return 200|us") |" \
             "$(m "$row|lua_shared_dict|us") | $(m "$row|webdis|us") |"
    done
    echo
    echo "## Memory: 1,000,000 keys, 16-byte names, 16-byte values"
    echo
    echo "| | bytes per key |"
    echo "|---|---:|"
    echo "| kvmq (zone \`used\`, slab overhead included) | ${mem_kvmq:-–} |"
    echo "| redis-server (\`used_memory\`) | ${mem_redis:-–} |"
    echo
    echo "## WebSocket"
    echo
    echo "\`kvmq-bench\` drives every target: commands and publishers on"
    echo "libwebsockets, fan-out subscribers on raw sockets in a second"
    echo "thread."
    echo "Fan-out: 1 publisher, window 16 publishes in flight, 64-byte"
    echo "messages, 2,000,000 deliveries per run; latency is publish to"
    echo "receive. ws GET: \`cmd -c 4 -P 32\`, 4 WebSockets with 32 GETs in"
    echo "flight each (webdis 0.1.9 closes a WebSocket after each command"
    echo "reply, so it has no row here)."
    echo
    echo "| row | target | per second | p50 ms | p99 ms | client CPU % |" \
         "ratio (kvmq/peer) |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for pair in "fanout 100|nchan" "fanout 1000|nchan" "ws GET|" \
                "queue c4 f100|rabbitmq" "queue c4 f100 http|" \
                "queue c1 f1000|rabbitmq" \
                "rpc p8 w4|rabbitmq" "rpc p2 w64|rabbitmq"
    do
        IFS='|' read -r row peer <<<"$pair"
        for t in kvmq $peer; do
            rt=""
            [ "$t" = "$peer" ] && rt=$(ratio "$(m "$row|kvmq|rate")" \
                                             "$(m "$row|$peer|rate")")
            echo "| $row | $t | $(int "$(m "$row|$t|rate")") |" \
                 "$(m "$row|$t|p50") | $(m "$row|$t|p99") |" \
                 "$(m "$row|$t|cpu") | ${rt} |"
        done
    done
    echo
    echo "queue: 64-byte messages, 200,000 per run, each ACKed by its"
    echo "consumer. c4 f100: 4 WebSocket consumers with prefetch 100, 1"
    echo "producer with 100 publishes in flight (kvmq) / 100 unconsumed"
    echo "messages at most (RabbitMQ); c1 f1000: one consumer, prefetch and"
    echo "window 1000, RabbitMQ's best setting here; c4 f100 http: kvmq with"
    echo "the producer on HTTP (POST /queues/q/messages, 100 in flight)."
    echo "RabbitMQ is driven over"
    echo "AMQP 0-9-1 by bench/amqp_bench.c (librabbitmq), one thread per"
    echo "connection. rpc: 2 servers; p8 w4 = 8 callers with 4 calls in"
    echo "flight each, p2 w64 = 2 callers with 64 each (RabbitMQ's best;"
    echo "direct reply-to)."
    if [ -n "$stalled_out" ]; then
        echo
        echo "## Slow subscribers"
        echo
        echo "1,000 WebSocket subscribers on one channel, 10 of which never"
        echo "read; 100,000 messages (\`kvmq_ws_send_buffer 256k\`):"
        echo
        echo '```'
        echo "$stalled_out"
        echo '```'
    fi
} > "$out"

cat "$out"
