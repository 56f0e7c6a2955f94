#!/usr/bin/env bash
# Runs the whole thing locally on its defaults: builds, brings up Postgres and the
# Kafka broker (scripts/infra-up.sh), then starts the order service on :18282.
# Ctrl-C stops the service; `npm run infra:down` stops the broker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run --silent build
bash scripts/infra-up.sh
echo "[run] order service on http://127.0.0.1:${PORT:-18282} (Ctrl-C to stop)" >&2
exec node dist/src/main.js
