#!/bin/sh
# tests/test-serve-nginx.sh -- scale-out behind an existing load balancer (doc/serving.md): two `sana serve`
# on two loopback ports behind Debian's nginx (upstream with least_conn) on a third; N concurrent
# requests through nginx must all succeed and be spread over both servers. Prints the wall time of the
# same N requests on one server directly and through nginx on two. nginx runs as the current user in
# the foreground with a temporary prefix, config, pid and logs; everything is killed at the end.
# SKIPs (77) when nginx or curl is not installed.
set -u
bin=${SANA_BIN:-./src/sana}
G=${GOLDEN_DIR:-golden}
M=$G/ckpt/sana-tiny
N=${SANA_SERVE_N:-8}
NGINX=$(command -v nginx || ls /usr/sbin/nginx 2> /dev/null)
[ -n "$NGINX" ] || { echo "SKIP: nginx is not installed (Debian: apt-get install nginx)"; exit 77; }
command -v curl > /dev/null || { echo "SKIP: curl is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/sana-nginx-XXXXXX)
chmod 755 "$tmp"
pids=""
fail=0
cleanup() {
    for p in $pids; do kill -9 "$p" 2> /dev/null; done
    [ "$fail" -gt 0 ] && for f in "$tmp"/*.log; do echo "--- $f"; tail -n 20 "$f"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok  : $1"; }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
export TMPDIR="$tmp"

start() { # start NAME: a server on a free port; sets $port
    "$bin" serve -m "$M" --port 0 --threads 1 --max-queue "$N" 2> "$tmp/$1.log" &
    pids="$pids $!"
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/$1.log")
        [ -n "$port" ] && grep -q "ready:" "$tmp/$1.log" && return 0
        sleep 0.1
    done
    bad "$1 did not start"
    exit 1
}
start a; pa=$port
start b; pb=$port

# nginx on a third port: try a few, since only the kernel knows which are free
mkdir -p "$tmp/nginx"
for try in 1 2 3 4 5; do
    pn=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
    cat > "$tmp/nginx.conf" <<CONF
# the config of doc/serving.md, on loopback, with temporary paths
user $(id -un) $(id -gn);
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 256; }
http {
    access_log $tmp/nginx-access.log;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    upstream sana {
        least_conn;
        server 127.0.0.1:$pa;
        server 127.0.0.1:$pb;
    }
    server {
        listen 127.0.0.1:$pn;
        client_max_body_size 64k;
        location / {
            proxy_pass http://sana;
            proxy_read_timeout 300s;
            proxy_next_upstream error timeout http_503;
        }
    }
}
CONF
    "$NGINX" -e "$tmp/nginx-error.log" -p "$tmp/nginx" -c "$tmp/nginx.conf" 2>> "$tmp/nginx-error.log" &
    ngx=$!
    pids="$pids $ngx"
    up=""
    for _ in $(seq 50); do
        curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$pn/health" && { up=1; break; }
        kill -0 "$ngx" 2> /dev/null || break
        sleep 0.1
    done
    [ -n "$up" ] && break
    kill "$ngx" 2> /dev/null
done
[ -n "$up" ] || { bad "nginx did not start"; exit 1; }
ok "nginx on 127.0.0.1:$pn in front of :$pa and :$pb"

BODY='{"prompt": "a red fox", "size": "64x64", "num_inference_steps": 4, "seed": 3}'
# burst URL TAG: N concurrent requests; prints the seconds they took, the codes in $tmp/TAG-*.code
burst() {
    t0=$(date +%s.%N)
    bg=""
    for i in $(seq "$N"); do
        curl -s --max-time 120 -d "$BODY" -o "$tmp/$2-$i.json" -w '%{http_code}' "$1/v1/images/generations" \
            > "$tmp/$2-$i.code" &
        bg="$bg $!"
    done
    for p in $bg; do wait "$p"; done
    echo "$(date +%s.%N) $t0" | awk '{printf "%.2f", $1 - $2}'
}
one=$(burst "http://127.0.0.1:$pa" one)
na0=$(grep -c '"POST /v1/images/generations" 200' "$tmp/a.log")
nb0=$(grep -c '"POST /v1/images/generations" 200' "$tmp/b.log")
two=$(burst "http://127.0.0.1:$pn" lb)
okn=0
for i in $(seq "$N"); do [ "$(cat "$tmp/lb-$i.code")" = 200 ] && okn=$((okn + 1)); done
na=$(($(grep -c '"POST /v1/images/generations" 200' "$tmp/a.log") - na0))
nb=$(($(grep -c '"POST /v1/images/generations" 200' "$tmp/b.log") - nb0))
echo "$N concurrent requests (64x64, 4 steps, 1 thread per server): one server $one s, two behind nginx $two s;" \
    "spread $na + $nb"
[ "$okn" = "$N" ] && ok "all $N requests through nginx: 200" || bad "through nginx: $okn of $N answered 200"
[ "$na" -ge 1 ] && [ "$nb" -ge 1 ] && [ $((na + nb)) = "$N" ] && ok "spread over both servers ($na + $nb)" ||
    bad "not spread: $na + $nb"
[ "$fail" -eq 0 ]
