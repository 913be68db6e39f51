#!/bin/sh
# Serves a built site with contrib/nginx/glassroom-static.conf on 127.0.0.1 (as a
# symbolic link, as `glassroom sync` publishes it) and prints the caching headers of
# each kind of file: the check docs/deploy.md reports. Needs nginx and curl
# (`apt-get install -y nginx curl`); runs nginx as the current user in a temporary
# prefix and stops it at the end.
#   glassroom build content-example --out /tmp/site --now 2026-11-22
#   contrib/nginx/try-static.sh /tmp/site [PORT]
set -eu
site=$(cd "${1:?usage: try-static.sh SITE_DIR [PORT]}" && pwd)
port=${2:-18080}
conf=$(cd "$(dirname "$0")" && pwd)/glassroom-static.conf
prefix=$(mktemp -d)
chmod 755 "$prefix"   # nginx workers run as another user when started as root
trap 'kill "$(cat "$prefix/nginx.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$prefix"' EXIT
ln -s "$site" "$prefix/ops"
sed -e "s|/srv/www/ops|$prefix/ops|" -e "s|listen 80;|listen 127.0.0.1:$port;|" \
    -e 's|listen \[::\]:80;||' "$conf" > "$prefix/site.conf"
mime=/etc/nginx/mime.types
cat > "$prefix/nginx.conf" <<CONF
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log;
events { worker_connections 64; }
http {
    include $mime;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path $prefix/body; proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi; uwsgi_temp_path $prefix/uwsgi; scgi_temp_path $prefix/scgi;
    include $prefix/site.conf;
}
CONF
nginx -t -q -p "$prefix" -c "$prefix/nginx.conf"
nginx -p "$prefix" -c "$prefix/nginx.conf"
sleep 0.3
url=http://127.0.0.1:$port
show() {
    printf '%s\n' "== $*"
    curl -s -o /dev/null -D - "$@" | grep -iE '^(HTTP|cache-control|etag|content-type|content-encoding|location)' || true
}
sha=$(cat "$site/flags.json.sha256")
etag=$(curl -s -o /dev/null -D - "$url/flags.json" | sed -n 's/^[Ee][Tt]ag: *//p' | tr -d '\r')
show "$url/"
show "$url/flags/$sha.json"
show "$url/flags.json"
show -H "If-None-Match: $etag" "$url/flags.json"
show -H 'Accept-Encoding: gzip' "$url/flags.json"
show -H 'Accept-Encoding: gzip' -H "If-None-Match: W/$etag" "$url/flags.json"
show "$url/flags.json.sha256"
show "$url/style.css"
show "$url/calendar.ics"
show "$url/hosts"
show "$url/no-such-page"
show "$url/.glassroom-site"
