#!/bin/sh
# Serving flags.json: `glassroom serve --root` against nginx on the same files, in one run.
#
#   benches/serve-vs-nginx.sh [DURATION] [CONNECTIONS] [THREADS] [ROUNDS]
#
# Builds content-example, serves the output with glassroom and with nginx (started here
# on loopback with a throwaway configuration), and runs wrk against each for
#  - revalidation: GET /flags.json with If-None-Match = that server's ETag (→ 304),
#  - full body:    GET /flags.json without it (→ 200, identity, keep-alive),
# ROUNDS times, alternating the servers, and prints the median requests/s of each and
# the glassroom/nginx ratios. Defaults: 10s, 64 connections, one wrk thread per wrk
# CPU, 3 rounds. Needs Debian's `nginx` and `wrk` (apt-get install -y nginx wrk) and
# curl; not part of `cargo test`. Ports: GLASSROOM_PORT (18081), NGINX_PORT (18082).
#
# The servers run on SERVER_CPUS (default: every CPU but the first) and wrk on
# WRK_CPUS (default: the first), so that the load generator and the server do not
# fight over the same cores and the numbers are the servers' own. nginx gets one worker
# per server CPU; glassroom one event loop per CPU it may run on.
set -eu
duration=${1:-10s}
duration=${duration%s}s   # seconds, with or without the s
connections=${2:-64}
threads=${3:-}
rounds=${4:-3}
gport=${GLASSROOM_PORT:-18081}
nport=${NGINX_PORT:-18082}
root=$(cd "$(dirname "$0")/.." && pwd)

for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
  command -v "$tool" >/dev/null 2>&1 || { echo "needs $tool (apt-get install -y nginx wrk curl)" >&2; exit 2; }
done

cpus=$(nproc)
if [ "$cpus" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  server_cpus=${SERVER_CPUS:-1-$((cpus - 1))}
  wrk_cpus=${WRK_CPUS:-0}
  on_server="taskset -c $server_cpus"
  on_wrk="taskset -c $wrk_cpus"
  workers=$(taskset -c "$server_cpus" nproc)
  threads=${threads:-$(taskset -c "$wrk_cpus" nproc)}
else
  server_cpus=all wrk_cpus=all on_server= on_wrk= workers=$cpus
  threads=${threads:-2}
fi

work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as an unprivileged user when started by root
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

$on_server "$glassroom" serve --root "$work/site" --addr "127.0.0.1:$gport" >"$work/glassroom.out" 2>"$work/glassroom.err" &
gpid=$!

mkdir -p "$work/nginx"
# nginx at its best: no open(2)/fstat(2) per request. NGINX_FILE_CACHE=off measures it
# as Debian configures it.
file_cache="open_file_cache max=1000 inactive=60s; open_file_cache_valid 60s;"
[ "${NGINX_FILE_CACHE:-on}" = off ] && file_cache=
cat > "$work/nginx.conf" <<EOF
worker_processes $workers;
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
  $file_cache
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
$on_server nginx -p "$work/nginx" -c "$work/nginx.conf"

# Both up?
up=no
for i in $(seq 1 100); do
  if curl -sf -o /dev/null "http://127.0.0.1:$gport/flags.json" && curl -sf -o /dev/null "http://127.0.0.1:$nport/flags.json"; then
    up=yes
    break
  fi
  sleep 0.1
done
[ "$up" = yes ] || { echo "a server did not come up:" >&2; cat "$work/glassroom.err" "$work/nginx/error.log" >&2; exit 1; }
etag() { curl -sI "$1" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }'; }
getag=$(etag "http://127.0.0.1:$gport/flags.json")
netag=$(etag "http://127.0.0.1:$nport/flags.json")
for pair in "$gport $getag" "$nport $netag"; do
  set -- $pair
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "http://127.0.0.1:$1/flags.json")
  [ "$code" = 304 ] || { echo "port $1 answered $code, not 304, to If-None-Match: $2" >&2; exit 1; }
done

# rate PIDS URL [HEADER]: requests/s, and with perf the servers' CPU µs per request
# (user + system, from task-clock), which other load on the machine barely changes.
rate() {
  pids=$1 url=$2
  seconds=${duration%s}
  if [ -n "$perf" ]; then
    perf stat -e task-clock -x, -p "$pids" -o "$work/perf" -- sleep "$((seconds - 1))" 2>/dev/null &
    perfpid=$!
  fi
  if [ $# -eq 3 ]; then
    out=$($on_wrk wrk -t"$threads" -c"$connections" -d"$duration" -H "$3" "$url")
  else
    out=$($on_wrk wrk -t"$threads" -c"$connections" -d"$duration" "$url")
  fi
  if echo "$out" | grep -q "Non-2xx"; then echo "wrk saw errors: $out" >&2; exit 1; fi
  rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  if [ -n "$perf" ]; then
    wait "$perfpid"
    ms=$(awk -F, '/task-clock/ { print $1 }' "$work/perf")
    echo "$rps/$(echo "scale=2; $ms * 1000 / ($rps * ($seconds - 1))" | bc -l)"
  else
    echo "$rps/-"
  fi
}

perf=
command -v perf >/dev/null 2>&1 && perf stat -e task-clock -- true >/dev/null 2>&1 && perf=yes
gpids=$gpid
npids=$(pgrep -d, -f "nginx: worker process" || true)
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
g304s= n304s= g200s= n200s=
for round in $(seq 1 "$rounds"); do
  g304s="$g304s $(rate "$gpids" "http://127.0.0.1:$gport/flags.json" "If-None-Match: $getag")"
  n304s="$n304s $(rate "$npids" "http://127.0.0.1:$nport/flags.json" "If-None-Match: $netag")"
  g200s="$g200s $(rate "$gpids" "http://127.0.0.1:$gport/flags.json")"
  n200s="$n200s $(rate "$npids" "http://127.0.0.1:$nport/flags.json")"
done
rps() { tr ' ' '\n' | cut -d/ -f1 | median; }
cpu() { tr ' ' '\n' | grep / | cut -d/ -f2 | median; }
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }

echo "flags.json ($bytes bytes), wrk -t$threads -c$connections -d$duration, median of $rounds rounds, $(date -u +%Y-%m-%d)"
echo "$cpus CPUs: servers on $server_cpus ($workers workers/event loops), wrk on $wrk_cpus"
echo "glassroom $($glassroom --version | cut -d' ' -f2), $(nginx -v 2>&1 | sed 's/.*: //') (open_file_cache ${NGINX_FILE_CACHE:-on})"
printf '%-22s %14s %12s %7s   %16s %12s\n' "" "glassroom r/s" "nginx r/s" "ratio" "glassroom µs/req" "nginx µs/req"
for kind in 304 200; do
  eval "g=\$g${kind}s n=\$n${kind}s"
  gr=$(echo "$g" | rps) nr=$(echo "$n" | rps) gc=$(echo "$g" | cpu) nc=$(echo "$n" | cpu)
  label="$kind (If-None-Match)"; [ "$kind" = 200 ] && label="200 (full body)"
  printf '%-22s %14s %12s %7s   %16s %12s\n' "$label" "$gr" "$nr" "$(ratio "$gr" "$nr")" "$gc" "$nc"
done
echo "rounds (r/s/µs): glassroom 304:$g304s; nginx 304:$n304s; glassroom 200:$g200s; nginx 200:$n200s"
