#!/usr/bin/env bash
# Runs the whole thing locally on its defaults: builds, brings up Postgres and the
# Kafka broker (scripts/infra-up.sh), starts the payment and inventory simulators,
# then the order service on :18282. Ctrl-C stops both; `npm run infra:down` stops
# the broker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run --silent build
bash scripts/infra-up.sh
node dist/src/sim/main.js &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true' EXIT
echo "[run] order service on http://127.0.0.1:${PORT:-18282}, simulators pid $sim (Ctrl-C to stop)" >&2
sh scripts/start.sh
