#!/usr/bin/env bash
# Serves the demo and drives a simulated city against it (the last step of `make demo`).
#
#   scripts/demo.sh            # environment: DEMO_HOST, DEMO_PORT, DEMO_COURIERS,
#                              # DEMO_ORDERS_PER_HOUR, DEMO_LIVE_LOG, BIN (the venv's bin)
#
# Starts `courier serve`, waits for /readyz, then starts `courier simulate live` in the
# background with its output in DEMO_LIVE_LOG. Ctrl-C (or SIGTERM) stops the driver first,
# so that it ends its couriers' shifts while the service still answers, then the service.
# DEMO_COURIERS=0 serves without the simulated city.
set -u
set -m  # each background job in its own process group: Ctrl-C reaches this script only
trap '' PIPE  # a closed terminal or pipe must not cut the clean-up short

BIN=${BIN:-.venv/bin}
HOST=${DEMO_HOST:-127.0.0.1}
PORT=${DEMO_PORT:-8000}
COURIERS=${DEMO_COURIERS:-30}
RATE=${DEMO_ORDERS_PER_HOUR:-120}
LOG=${DEMO_LIVE_LOG:-var/live.log}
BASE_URL="http://${HOST}:${PORT}"

server=""
driver=""

stop() {
    trap - INT TERM
    if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
        echo "demo: stopping the simulated city (ending shifts) ..."
        kill -INT "$driver" 2>/dev/null
        for _ in $(seq 1 300); do kill -0 "$driver" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$driver" 2>/dev/null
    fi
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        echo "demo: stopping the service ..."
        kill -INT "$server" 2>/dev/null
        for _ in $(seq 1 150); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null
    fi
    wait 2>/dev/null
    exit 0
}
trap stop INT TERM HUP

# The simulated city makes a dozen requests a second: keep them out of the terminal.
"$BIN/courier" serve --host "$HOST" --port "$PORT" --no-access-log &
server=$!

ready=""
for _ in $(seq 1 600); do
    if ! kill -0 "$server" 2>/dev/null; then
        wait "$server"
        status=$?
        echo "demo: the service exited ($status) before it was ready" >&2
        exit "$status"
    fi
    if "$BIN/python" - "$BASE_URL/readyz" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as answer:
    sys.exit(0 if answer.status == 200 else 1)
PY
    then
        ready=1
        break
    fi
    sleep 0.2
done
if [ -z "$ready" ]; then
    echo "demo: the service did not become ready; stopping it" >&2
    stop
fi

if [ "$COURIERS" -gt 0 ] 2>/dev/null; then
    mkdir -p "$(dirname "$LOG")"
    "$BIN/courier" simulate live --base-url "$BASE_URL" --couriers "$COURIERS" \
        --orders-per-hour "$RATE" >"$LOG" 2>&1 &
    driver=$!
    echo
    echo "demo: a simulated city runs against ${BASE_URL}: ${COURIERS} couriers," \
         "${RATE} orders/hour (courier simulate live, pid ${driver})."
    echo "demo: its progress and final summary go to ${LOG}  (tail -f ${LOG})"
    echo "demo: Ctrl-C stops the city (ending its shifts) and then the service."
    echo
fi

wait "$server"
status=$?
server=""
stop_status=$status
if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
    kill -INT "$driver" 2>/dev/null
    wait "$driver" 2>/dev/null
fi
exit "$stop_status"
