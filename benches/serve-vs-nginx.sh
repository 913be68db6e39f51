#!/bin/sh
# Serving flags.json: `glassroom serve --root` against nginx on the same files, in one run.
#
#   benches/serve-vs-nginx.sh [DURATION] [CONNECTIONS] [THREADS]
#
# Builds content-example, serves the output with glassroom and with nginx (started here
# on loopback with a throwaway configuration), and runs wrk against each for
#  - revalidation: GET /flags.json with If-None-Match = that server's ETag (→ 304),
#  - full body:    GET /flags.json without it (→ 200, identity, keep-alive),
# then prints requests/s and glassroom/nginx ratios. Defaults: 10s, 64 connections,
# 2 wrk threads. Needs Debian's `nginx` and `wrk` (apt-get install -y nginx wrk) and
# curl; not part of `cargo test`. Ports: GLASSROOM_PORT (18081), NGINX_PORT (18082).
set -eu
duration=${1:-10s}
connections=${2:-64}
threads=${3:-2}
gport=${GLASSROOM_PORT:-18081}
nport=${NGINX_PORT:-18082}
root=$(cd "$(dirname "$0")/.." && pwd)

for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
  command -v "$tool" >/dev/null 2>&1 || { echo "needs $tool (apt-get install -y nginx wrk curl)" >&2; exit 2; }
done

work=$(mktemp -d)
gpid=
cleanup() {
  [ -n "$gpid" ] && kill "$gpid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cd "$root"
cargo build --release -q
glassroom="$root/target/release/glassroom"
"$glassroom" build content-example --out "$work/site" --now 2026-11-22 >/dev/null 2>&1
bytes=$(wc -c < "$work/site/flags.json")

"$glassroom" serve --root "$work/site" --addr "127.0.0.1:$gport" >"$work/glassroom.out" 2>"$work/glassroom.err" &
gpid=$!

mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nport;
    root $work/site;
  }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx.conf"

# Both up?
for i in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$gport/flags.json" && curl -sf -o /dev/null "http://127.0.0.1:$nport/flags.json" && break
  sleep 0.1
done
etag() { curl -sI "$1" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }'; }
getag=$(etag "http://127.0.0.1:$gport/flags.json")
netag=$(etag "http://127.0.0.1:$nport/flags.json")
for pair in "$gport $getag" "$nport $netag"; do
  set -- $pair
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "http://127.0.0.1:$1/flags.json")
  [ "$code" = 304 ] || { echo "port $1 answered $code, not 304, to If-None-Match: $2" >&2; exit 1; }
done

rate() { # URL [HEADER]
  if [ $# -eq 2 ]; then
    out=$(wrk -t"$threads" -c"$connections" -d"$duration" -H "$2" "$1")
  else
    out=$(wrk -t"$threads" -c"$connections" -d"$duration" "$1")
  fi
  if echo "$out" | grep -q "Non-2xx"; then echo "wrk saw errors: $out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ { print $2 }'
}

g304=$(rate "http://127.0.0.1:$gport/flags.json" "If-None-Match: $getag")
n304=$(rate "http://127.0.0.1:$nport/flags.json" "If-None-Match: $netag")
g200=$(rate "http://127.0.0.1:$gport/flags.json")
n200=$(rate "http://127.0.0.1:$nport/flags.json")

echo "flags.json ($bytes bytes), wrk -t$threads -c$connections -d$duration, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "glassroom $($glassroom --version | cut -d' ' -f2), $(nginx -v 2>&1 | sed 's/.*: //')"
printf '%-28s %14s %14s %8s\n' "" "glassroom r/s" "nginx r/s" "ratio"
printf '%-28s %14s %14s %8s\n' "304 (If-None-Match)" "$g304" "$n304" "$(echo "scale=2; $g304 / $n304" | bc -l)"
printf '%-28s %14s %14s %8s\n' "200 (full body)" "$g200" "$n200" "$(echo "scale=2; $g200 / $n200" | bc -l)"
