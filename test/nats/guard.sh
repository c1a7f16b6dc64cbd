#!/bin/sh
# Runs nats-server with the given arguments until this script's stdin closes,
# then kills it. The test process holds the other end of stdin, so a server
# never outlives its test, even when the test process crashes or is killed.
"${NATS_SERVER_BIN:-nats-server}" "$@" &
pid=$!
echo "pid $pid"
cat >/dev/null
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 0
