#!/usr/bin/env bash
# Brings up the local infrastructure the service and its tests need, idempotently:
#  - PostgreSQL on 127.0.0.1:5432 (the machine's cluster, started if it is down) and
#    the databases named by DATABASE_URL / TEST_DATABASE_URL;
#  - a single-node Apache Kafka broker (KRaft) on 127.0.0.1:9092, its jars fetched
#    from Maven Central through infra/kafka/pom.xml (cached in ~/.m2), its data in
#    .infra/kafka (git-ignored).
# Running it twice is harmless: what is up stays up.
#
# Environment: ORDER_ENGINE_INFRA_DIR (default .infra) holds the broker's data, log
# and pid; KAFKA_PORT / KAFKA_CONTROLLER_PORT (9092 / 9093) its listeners. The tests
# run their own broker this way (test/integration/global-setup.ts), beside a dev one.
# One node of a multi-node cluster (test/support/kafka-cluster.ts) also sets
# KAFKA_NODE_ID (1), KAFKA_QUORUM_VOTERS (1@127.0.0.1:<controller port>),
# KAFKA_CLUSTER_ID (the id its storage is formatted with; random by default, shared
# by every node of a cluster) and KAFKA_EXTRA_PROPERTIES, a file appended to the
# node's server.properties (a key repeated there wins: listeners, replication).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
infra="${ORDER_ENGINE_INFRA_DIR:-$here/.infra}"
kafka_dir="$infra/kafka"
libs_dir="$here/.infra/kafka-libs"
kafka_host=127.0.0.1
kafka_port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
node_id="${KAFKA_NODE_ID:-1}"
quorum_voters="${KAFKA_QUORUM_VOTERS:-$node_id@$kafka_host:$controller_port}"
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/infra/kafka/pom.xml")

log() { printf '[infra] %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@"; do
    if (( $(date +%s) > deadline )); then log "timed out waiting for $what"; return 1; fi
    sleep 0.5
  done
}

start_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432; then log "postgres: up"; return; fi
  log "postgres: down, starting the local cluster"
  local ver; ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  mkdir -p "$infra" && touch "$infra/postgres.started-by-us"
  wait_for postgres 30 pg_isready -q -h 127.0.0.1 -p 5432
}

ensure_database() { # ensure_database <postgres url>
  local url=$1 name
  name=${url##*/}; name=${name%%\?*}
  local admin=${url%/*}/postgres
  if ! psql "$admin" -Atqc "select 1 from pg_database where datname = '$name'" | grep -q 1; then
    log "postgres: creating database $name"
    psql "$admin" -qc "create database \"$name\""
  fi
}

fetch_kafka() {
  if [[ -f "$libs_dir/.version" && "$(cat "$libs_dir/.version")" == "$kafka_version" ]]; then return; fi
  log "kafka: fetching Apache Kafka $kafka_version from Maven Central (cached in ~/.m2)"
  rm -rf "$libs_dir"
  mvn -q -B -f "$here/infra/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs_dir"
  echo "$kafka_version" > "$libs_dir/.version"
}

start_kafka() {
  if port_open $kafka_host "$kafka_port"; then log "kafka: up on $kafka_host:$kafka_port"; return; fi
  fetch_kafka
  mkdir -p "$kafka_dir/data"
  sed -e "s:^log.dirs=.*::" -e "s/:9092/:$kafka_port/g" -e "s/:9093/:$controller_port/g" \
    -e "s/^node.id=.*/node.id=$node_id/" -e "s/^controller.quorum.voters=.*/controller.quorum.voters=$quorum_voters/" \
    "$here/infra/kafka/server.properties" > "$kafka_dir/server.properties"
  echo "log.dirs=$kafka_dir/data" >> "$kafka_dir/server.properties"
  if [[ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]]; then cat "$KAFKA_EXTRA_PROPERTIES" >> "$kafka_dir/server.properties"; fi
  # KAFKA_JVM_OPTS replaces the heap and JIT flags. The tests' brokers pass a C1-only JIT
  # (test/support/broker.ts): C2 compiling the broker took a tenth of both cores for
  # minutes after each start, which a test's broker never outlives.
  local jvm_opts
  read -r -a jvm_opts <<< "${KAFKA_JVM_OPTS:--Xms256m -Xmx512m -XX:+UseG1GC}"
  local java=(java "${jvm_opts[@]}" -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$here/infra/kafka/log4j2.yaml" -cp "$libs_dir/*")
  if [[ ! -f "$kafka_dir/data/meta.properties" ]]; then
    log "kafka: formatting storage"
    "${java[@]}" kafka.tools.StorageTool format --ignore-formatted \
      -t "${KAFKA_CLUSTER_ID:-$("${java[@]}" kafka.tools.StorageTool random-uuid)}" \
      -c "$kafka_dir/server.properties" >/dev/null
  fi
  log "kafka: starting broker $kafka_version (log: $kafka_dir/broker.log)"
  nohup setsid "${java[@]}" kafka.Kafka "$kafka_dir/server.properties" \
    >"$kafka_dir/broker.log" 2>&1 < /dev/null &
  echo $! > "$kafka_dir/broker.pid"
  wait_for "kafka on $kafka_host:$kafka_port" 90 port_open $kafka_host "$kafka_port" || {
    tail -n 40 "$kafka_dir/broker.log" >&2; exit 1; }
  log "kafka: up on $kafka_host:$kafka_port"
}

start_postgres
ensure_database "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/order_service}"
if [[ -n "${TEST_DATABASE_URL:-}" ]]; then ensure_database "$TEST_DATABASE_URL"; fi
start_kafka
