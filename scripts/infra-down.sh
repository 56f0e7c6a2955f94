#!/usr/bin/env bash
# Stops what scripts/infra-up.sh started: the local Kafka broker, and PostgreSQL only
# if infra-up had to start it. Data stays in .infra/ (remove it for a clean slate).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
infra="${ORDER_ENGINE_INFRA_DIR:-$here/.infra}"
log() { printf '[infra] %s\n' "$*" >&2; }

pidfile="$infra/kafka/broker.pid"
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  pid=$(cat "$pidfile")
  log "kafka: stopping broker (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "kafka: still up after 30 s, killing"; kill -KILL "$pid"; fi
fi
rm -f "$pidfile"

if [[ -f "$infra/postgres.started-by-us" ]]; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "postgres: stopping the cluster infra-up started"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main stop || true
  rm -f "$infra/postgres.started-by-us"
fi
