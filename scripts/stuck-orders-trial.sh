#!/usr/bin/env bash
# The stuck-order trial (docs/jobs.md): the participants start far behind, one later
# than the other, so their answers to each order come further apart than the join
# window and no order is decided; the stuck-order job then republishes what stays NEW,
# a batch per period, until every order is decided. Runs the built service and
# simulators against the local broker and Postgres (npm run build; npm run infra:up),
# in a database of its own and under an application id of its own.
#
#   bash scripts/stuck-orders-trial.sh            3000 orders, age 30 s, period 15 s
#   ORDERS=10000 LAG=40 AGE=60000 PERIOD=20000 bash scripts/stuck-orders-trial.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TS=$(date +%s)
DB=stuck_trial_$TS
ORDERS=${ORDERS:-3000}
export APPLICATION_ID=stuck-trial-$TS SIM_APPLICATION_ID=stuck-trial-$TS PORT=18290 STATE_DIR=/tmp/stuck-trial-$TS
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export STUCK_ORDERS_AGE_MS=${AGE:-30000} STUCK_ORDERS_PERIOD_MS=${PERIOD:-15000} LOG_LEVEL=warn
psql -q -h 127.0.0.1 -U postgres -c "create database $DB" postgres
echo "[trial] drop it afterwards: dropdb -h 127.0.0.1 -U postgres $DB"
q() { psql -At -h 127.0.0.1 -U postgres -d "$DB" -c "$1"; }
log=/tmp/stuck-trial-$TS; mkdir -p "$log"
echo "[trial] $(date +%T) db $DB, age ${STUCK_ORDERS_AGE_MS} ms, period ${STUCK_ORDERS_PERIOD_MS} ms, join window 10000 ms"
# The simulators' groups start at the end of orders: join them once, before the orders.
SIM_SERVICES=payment,inventory node dist/src/sim/main.js > "$log"/sim0.log 2>&1 & sim0=$!
sleep 12; kill -TERM $sim0; wait $sim0 || true
sh scripts/start.sh > "$log"/service.log 2>&1 & svc=$!
trap 'kill $svc ${pay:-} ${inv:-} 2>/dev/null || true' EXIT
until curl -sf http://127.0.0.1:18290/actuator/health/readiness > /dev/null; do sleep 1; done
echo "[trial] $(date +%T) service ready; POSTing $ORDERS orders with no participant running"
# shellcheck disable=SC2016 # JavaScript, not shell
node -e '
const n = Number(process.argv[1]); let i = 0, ok = 0;
const body = (k) => JSON.stringify({ customerId: 1 + (k % 50), items: [{ productCode: "P001", quantity: 1, productPrice: 10.5 }], deliveryAddress: { addressLine1: "1 Main St", city: "Springfield", state: "IL", zipCode: "62701", country: "US" } });
async function worker() { while (i < n) { i++; const r = await fetch("http://127.0.0.1:18290/api/orders", { method: "POST", headers: { "content-type": "application/json" }, body: body(i) }); if (r.status === 201) ok++; await r.arrayBuffer(); } }
Promise.all(Array.from({ length: 16 }, worker)).then(() => console.log(`[trial] accepted ${ok} of ${n}`));
' "$ORDERS"
t0=$(date +%s)
echo "[trial] $(date +%T) payment participant starts, far behind"
SIM_SERVICES=payment node dist/src/sim/main.js > "$log"/payment.log 2>&1 & pay=$!
sleep "${LAG:-25}"
echo "[trial] $(date +%T) inventory participant starts, ${LAG:-25} s later"
SIM_SERVICES=inventory node dist/src/sim/main.js > "$log"/inventory.log 2>&1 & inv=$!
peak=0
for _ in $(seq 1 120); do
  sleep 5
  new=$(q "select count(*) from orders where status = 'NEW'")
  [ "$new" -gt "$peak" ] && [ $(( $(date +%s) - t0 )) -gt 45 ] && peak=$new
  rep=$(curl -s http://127.0.0.1:18290/actuator/prometheus | awk '/^orders_republished_total/ {print $2}')
  echo "[trial] $(date +%T) +$(( $(date +%s) - t0 ))s NEW $new; $(q "select string_agg(status || ' ' || n, ', ') from (select status, count(*) n from orders where status <> 'NEW' group by status) s"); republished ${rep:-0}"
  if [ "$new" -eq 0 ] && [ $(( $(date +%s) - t0 )) -gt 60 ]; then break; fi
done
echo "[trial] $(date +%T) done after $(( $(date +%s) - t0 )) s; stuck at the peak (NEW after 45 s): $peak"
curl -s http://127.0.0.1:18290/api/jobs
echo
