#!/bin/bash
# KV over HTTP against its peers, in one run: nginx `return 200` (the
# ceiling of any nginx endpoint), kvmq, and lua_shared_dict (OpenResty's
# shm cache).  One nginx worker pinned to CPU 0, wrk pinned to CPU 1; the
# three are measured interleaved, round after round, so drift cancels;
# each figure is the median of the rounds.
#
#   bench/http_kv.sh [seconds-per-run] [rounds]      -> bench/RESULTS-kv.md

set -eu

cd "$(dirname "$0")/.."
top=$(pwd)
secs=${1:-5}
rounds=${2:-3}
module=${KVMQ_MODULE:-$top/build/ngx_http_kvmq_module.so}
out=${KVMQ_BENCH_OUT:-$top/bench/RESULTS-kv.md}

[ -f "$module" ] || { echo "build the module first (make build)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing (make deps)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/kvmq-bench.XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

p_ret=$(free_port); p_kv=$(free_port); p_lua=$(free_port)
val=$(printf 'v%.0s' $(seq 1 64))

mkdir -p "$tmp/logs" "$tmp/tmp"
cat > "$tmp/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
load_module $module;
worker_processes 1;
error_log $tmp/logs/error.log warn;
pid $tmp/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/tmp/body;
    proxy_temp_path $tmp/tmp/proxy;
    fastcgi_temp_path $tmp/tmp/fastcgi;
    uwsgi_temp_path $tmp/tmp/uwsgi;
    scgi_temp_path $tmp/tmp/scgi;
    keepalive_requests 1000000;
    kvmq_zone bench size=64m;
    lua_shared_dict d 64m;
    init_by_lua_block { ngx.shared.d:set("k", "$val") ngx.shared.d:set("n", 0) }
    server {
        listen 127.0.0.1:$p_ret;
        location / { default_type application/octet-stream; return 200 "$val"; }
    }
    server {
        listen 127.0.0.1:$p_kv;
        location /kvmq/ { kvmq_api bench; }
    }
    server {
        listen 127.0.0.1:$p_lua;
        location = /get { default_type application/octet-stream;
            content_by_lua_block { ngx.print(ngx.shared.d:get("k")) } }
        location = /set { content_by_lua_block {
            ngx.req.read_body()
            ngx.shared.d:set("k2", ngx.req.get_body_data())
            ngx.print("OK") } }
        location = /incr { content_by_lua_block {
            ngx.print(ngx.shared.d:incr("n", 1)) } }
    }
}
CONF

taskset -c 0 /usr/sbin/nginx -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' &
pid=$!
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$p_kv/kvmq/stats" && break
    sleep 0.1
done
curl -s -X PUT --data-binary "$val" "http://127.0.0.1:$p_kv/kvmq/kv/k" >/dev/null

printf 'wrk.method = "PUT"\nwrk.body = "%s"\n' "$val" > "$tmp/put.lua"
printf 'wrk.method = "POST"\nwrk.body = "%s"\n' "$val" > "$tmp/post.lua"
printf 'wrk.method = "POST"\n' > "$tmp/incr.lua"

# name|url|script
runs=(
  "return 200 GET|http://127.0.0.1:$p_ret/|"
  "kvmq GET /kv/k|http://127.0.0.1:$p_kv/kvmq/kv/k|"
  "lua_shared_dict GET|http://127.0.0.1:$p_lua/get|"
  "kvmq PUT /kv/k2|http://127.0.0.1:$p_kv/kvmq/kv/k2|put.lua"
  "lua_shared_dict SET|http://127.0.0.1:$p_lua/set|post.lua"
  "kvmq POST /kv/n/incr|http://127.0.0.1:$p_kv/kvmq/kv/n/incr|incr.lua"
  "lua_shared_dict INCR|http://127.0.0.1:$p_lua/incr|incr.lua"
)

declare -A res
for r in $(seq "$rounds"); do
    for run in "${runs[@]}"; do
        IFS='|' read -r name url script <<<"$run"
        args=(-t1 -c50 "-d${secs}s")
        [ -n "$script" ] && args+=(-s "$tmp/$script")
        rps=$(taskset -c 1 wrk "${args[@]}" "$url" | awk '/Requests\/sec/ {print $2}')
        res[$name]="${res[$name]:-} $rps"
        echo "round $r: $name: $rps req/s" >&2
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

{
    echo "# kvmq HTTP KV benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nginx -v 2>&1 | sed 's/.*: //'),"
    echo "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) CPUs."
    echo "One worker pinned to CPU 0, \`wrk -t1 -c50 -d${secs}s\` pinned to CPU 1,"
    echo "$rounds interleaved rounds, median req/s. 64-byte values."
    echo
    echo "| run | req/s | vs return 200 |"
    echo "|---|---:|---:|"
    base=$(echo "${res[return 200 GET]}" | median)
    for run in "${runs[@]}"; do
        IFS='|' read -r name _ _ <<<"$run"
        m=$(echo "${res[$name]}" | median)
        echo "| $name | $m | $(awk -v a="$m" -v b="$base" 'BEGIN {printf "%.0f%%", 100*a/b}') |"
    done
} > "$out"

cat "$out"
