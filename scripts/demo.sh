#!/usr/bin/env bash
# sangja's main job, start to finish, on a fresh Debian 12 machine as root:
#   install (scripts/setup.sh), start sangjad on a socket of its own, make the `busybox`
#   image from busybox-static with `sangja import`, run a web server container in the
#   background, show `sangja ps`, fetch a page with curl, show the container's logs,
#   then remove the container and stop the daemon.
#
#   bash scripts/demo.sh
#
# SANGJA_DEMO_PORT (default 8080) is the host port published to httpd's port 80, on 127.0.0.1.
# The daemon's default bridge is `sjdemo0`, so a sangjad already running here is not disturbed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/setup.sh

port=${SANGJA_DEMO_PORT:-8080}
work=$(mktemp -d /tmp/sangja-demo.XXXXXX)
sock=$work/sangja.sock
host=unix://$sock
sangjad_pid=""

step() {  # show a command the way one would type it, then run it
    local shown="" arg
    for arg in "$@"; do
        case $arg in
            *[!A-Za-z0-9_./:=,@+-]*) shown+=" '$arg'" ;;
            *) shown+=" $arg" ;;
        esac
    done
    printf '\n\033[1m$%s\033[0m\n' "$shown"
    "$@"
}

cleanup() {
    set +e
    if [ -n "$sangjad_pid" ] && kill -0 "$sangjad_pid" 2>/dev/null; then
        # Containers outlive sangjad by design: remove them before stopping it.
        "$repo/.venv/bin/sangja" -H "$host" rm -f web >/dev/null 2>&1
        kill -TERM "$sangjad_pid"
        for _ in $(seq 1 100); do
            kill -0 "$sangjad_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$sangjad_pid" 2>/dev/null; then
            echo "sangjad did not stop within 10s of SIGTERM; sending SIGKILL" >&2
            kill -KILL "$sangjad_pid"
        fi
        wait "$sangjad_pid" 2>/dev/null
    fi
    if grep -q " $work" /proc/mounts; then
        echo "demo: mounts are left under $work; not deleting it:" >&2
        grep " $work" /proc/mounts >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

sangja() { "$repo/.venv/bin/sangja" -H "$host" "$@"; }

echo "== starting sangjad on $sock (log: $work/sangjad.log)"
"$repo/.venv/bin/sangjad" -H "$host" --data-root "$work/data" --exec-root "$work/run" \
    --pidfile "$work/sangjad.pid" --bridge sjdemo0 >"$work/sangjad.log" 2>&1 &
sangjad_pid=$!
for _ in $(seq 1 300); do
    if [ -S "$sock" ] && sangja version >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$sangjad_pid" 2>/dev/null; then
        echo "sangjad exited while starting:" >&2
        cat "$work/sangjad.log" >&2
        exit 1
    fi
    sleep 0.1
done
sangja version >/dev/null

echo "== making the busybox image from busybox-static"
sh scripts/make-busybox-rootfs.sh "$work/busybox.tar"
step sangja import -c 'CMD ["sh"]' "$work/busybox.tar" busybox
step sangja images

step sangja run -d --name web -p "127.0.0.1:$port:80" busybox httpd -f -v -p 80 -h /var/www
step sangja ps
step sangja port web

for _ in $(seq 1 100); do  # httpd needs a moment to bind
    curl -fs -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done
step curl -fsS "http://127.0.0.1:$port/"

if command -v docker >/dev/null 2>&1; then
    echo
    echo "== the docker CLI talks to sangjad too"
    step env DOCKER_HOST="$host" docker ps
fi

step sangja logs web
step sangja stop -t 1 web
step sangja rm web
echo
echo "== done: stopping sangjad (pid $sangjad_pid)"
