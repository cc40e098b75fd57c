#!/usr/bin/env bash
# Starts or stops gunicorn (gevent workers) and the ingestion scheduler in the background;
# a second start is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile=var/gunicorn.pid
bindfile=var/gunicorn.bind
ingest_pidfile=var/ingest.pid
host=${PINMAP_HOST:-127.0.0.1}
port=${PINMAP_PORT:-8000}
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
ingest_running() { [ -f "$ingest_pidfile" ] && kill -0 "$(cat "$ingest_pidfile")" 2>/dev/null; }
# Waits for a process to exit: TERM, then KILL after $2 tenths of a second.
stop_pid() {
  local pid=$1 tenths=$2
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 "$tenths"); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
start_ingest() {
  # One scheduler per host is plenty; across hosts the database lock elects one leader.
  if ingest_running; then return; fi
  nohup .venv/bin/python -m ingest >>var/log/ingest.log 2>&1 &
  echo $! >"$ingest_pidfile"
}
case "${1:-start}" in
  start)
    mkdir -p var/log
    if [ -z "${SECRET_KEY:-}" ] && [ ! -s var/secret_key ]; then
      # One key for every worker and host-local restart: sessions must verify everywhere.
      (umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" >var/secret_key)
    fi
    if [ -z "${DATABASE_URL:-}" ]; then DATABASE_URL=$(cat var/db.url); fi
    export DATABASE_URL
    start_ingest
    if running; then
      echo "pinmap already running on http://$(cat "$bindfile" 2>/dev/null || echo "$host:$port") (make stop to stop it first to change the address)"
      exit 0
    fi
    # No --preload: psycopg must be imported after gevent has patched each worker.
    .venv/bin/gunicorn "pinmap.wsgi:app" \
      -k gevent --workers "${PINMAP_WORKERS:-2}" \
      --worker-connections "${PINMAP_WORKER_CONNECTIONS:-4000}" \
      --bind "$host:$port" --pid "$pidfile" --daemon --graceful-timeout 5 \
      --access-logfile var/log/access.log --error-logfile var/log/error.log
    echo "$host:$port" >"$bindfile"
    for _ in $(seq 1 100); do
      if .venv/bin/python -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://$host:$port/healthz" 2>/dev/null; then
        echo "pinmap is serving on http://$host:$port (logs in var/log, make stop to stop)"; exit 0
      fi
      sleep 0.1
    done
    echo "pinmap did not answer on http://$host:$port; see var/log/error.log" >&2
    tail -n 20 var/log/error.log >&2 || true
    exit 1 ;;
  stop)
    # Both must be gone before the caller stops the database under them.
    if ingest_running; then stop_pid "$(cat "$ingest_pidfile")" 100; fi
    rm -f "$ingest_pidfile"
    # Open live streams never finish on their own; gunicorn gives them --graceful-timeout.
    if running; then stop_pid "$(cat "$pidfile")" 150; echo "pinmap stopped"; fi
    rm -f "$pidfile" "$bindfile" ;;
esac
