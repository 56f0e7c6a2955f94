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
# Environment: PG_PRIVATE_PORT (15432), PG_PRIVATE_DIR (default
# $TMPDIR/order-engine-pg-<port>: outside the checkout, because when run as root (as
# on the development and CI machines) the server runs as the postgres user, which
# initdb and postgres require, and that user cannot reach a checkout under /root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PG_PRIVATE_PORT:-15432}"
dir="${PG_PRIVATE_DIR:-${TMPDIR:-/tmp}/order-engine-pg-$port}"
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
    if [[ "$port" == 5432 ]]; then echo "refusing to stop the cluster on 5432: it is the machine's" >&2; exit 2; fi
    target=$dir
    # A cluster on this port from another data folder (one left by an older layout):
    # stop that one, or the "outage" would not be one.
    if [[ ! -f "$target/postmaster.pid" ]] && ready; then
      target=$(psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'show data_directory' 2>/dev/null || true)
    fi
    if [[ -n "$target" && -f "$target/postmaster.pid" ]]; then
      as_pg "$bin/pg_ctl" -D "$target" -m "$mode" -w -t 60 stop >/dev/null || true
      log "stopped ($mode)"
    fi
    ;;
  status) ready ;;
  *) echo "usage: $0 start|stop|crash|status" >&2; exit 2 ;;
esac
