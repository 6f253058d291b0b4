#!/bin/sh
# Start (or restart) the nginx harness.  Usage: interop/lua/run.sh [start|stop]
# LIBDIR must hold the third-party Lua code (see README.md); default /tmp/lua-interop/lib.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-/tmp/lua-interop}
LIBDIR=${LIBDIR:-$PREFIX/lib}
PORT=${PORT:-18479}
mkdir -p "$PREFIX/logs" "$PREFIX/tmp"
sed -e "s#@PREFIX@#$PREFIX#g" -e "s#@PORT@#$PORT#g" -e "s#@LIBDIR@#$LIBDIR#g" -e "s#@HARNESS@#$HERE#g" \
    "$HERE/nginx.conf.in" > "$PREFIX/nginx.conf"
if [ -f "$PREFIX/logs/nginx.pid" ] && kill -0 "$(cat "$PREFIX/logs/nginx.pid")" 2>/dev/null; then
    kill "$(cat "$PREFIX/logs/nginx.pid")"; sleep 0.5
fi
[ "${1:-start}" = stop ] && exit 0
nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -e "$PREFIX/logs/error.log"
echo "harness on http://127.0.0.1:$PORT (pid $(cat "$PREFIX/logs/nginx.pid"))"
