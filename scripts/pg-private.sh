#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests that stop and start the database (a
# Postgres outage is part of the seed's failure table): the machine's own cluster is
# shared by everything else and must never be stopped by a test. Same binaries as
# the machine's cluster, its own data folder and port, trust auth on 127.0.0.1.
#
#   scripts/pg-private.sh start    initdb on first use, then start (idempotent)
#   scripts/pg-private.sh stop     a clean shutdown (pg_ctl stop -m fast)
#   scripts/pg-private.sh crash    an immediate shutdown, as a crashed server (-m immediate)
#   scripts/pg-private.sh status   exit 0 when it accepts connections
#
# Environment: PG_PRIVATE_DIR (default .infra/test/pg), PG_PRIVATE_PORT (15432).
# Run as root (as on the development and CI machines), the server runs as the
# postgres user, which initdb and postgres require.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${PG_PRIVATE_DIR:-$here/.infra/test/pg}"
port="${PG_PRIVATE_PORT:-15432}"
bin=$(pg_config --bindir 2>/dev/null || true)
[[ -x "$bin/pg_ctl" ]] || bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

log() { printf '[pg-private] %s\n' "$*" >&2; }
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
ready() { "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; }

case "${1:-}" in
  start)
    if ready; then exit 0; fi
    if [[ ! -f "$dir/PG_VERSION" ]]; then
      log "initdb in $dir"
      mkdir -p "$dir"
      [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
      chmod 700 "$dir"
      as_pg "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --no-instructions >/dev/null
    fi
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200" start >/dev/null
    log "up on 127.0.0.1:$port"
    ;;
  stop | crash)
    mode=fast; [[ $1 == crash ]] && mode=immediate
    if [[ -f "$dir/postmaster.pid" ]]; then
      as_pg "$bin/pg_ctl" -D "$dir" -m "$mode" -w -t 60 stop >/dev/null || true
      log "stopped ($mode)"
    fi
    ;;
  status) ready ;;
  *) echo "usage: $0 start|stop|crash|status" >&2; exit 2 ;;
esac
