#!/usr/bin/env bash
# Stop the private slapd that start.sh DIR PORT started: SIGTERM, then SIGKILL after 10 s. Keeps DIR.
set -uo pipefail
DIR=$(cd "${1:?usage: bash stop.sh DIR}" && pwd -P) || exit 1
PIDFILE="$DIR/run/slapd.pid"
[ -f "$PIDFILE" ] || { echo "stop.sh: no slapd in $DIR"; exit 0; }
pid=$(tr -dc 0-9 < "$PIDFILE")
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then echo "stop.sh: slapd (pid $pid) still running after 10 s, SIGKILL" >&2; kill -KILL "$pid"; fi
fi
rm -f "$PIDFILE"
echo "stop.sh: stopped slapd in $DIR"
