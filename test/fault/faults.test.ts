// Fault tests (issue 6, item 10): under a steady saga load, a `kill -9` of the
// service, a `kill -9` and restart of the broker, a stop and start of Postgres, and a
// broker restart followed by a service `kill -9`. After each, every accepted order
// must have exactly one NEW record and exactly one decision on `orders`
// (read_committed), on its key's partition; Postgres and the store must show that
// decision; and decisions must flow again within the recovery bound. The harness
// (./harness.ts) runs real processes only and measures whatever code it is given
// (FAULT_SERVICE_DIR); ./params.ts lists the knobs.
//
//   npm test                                  the short form, with everything else
//   npm run test:fault                        the long form (300 orders/s, 120 s, 27 s outages)
//   FAULT_SCENARIOS=broker-restart FAULT_SERVICE_DIR=/path/to/old/checkout npm run test:fault
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runScenario, stopAllRuns } from './harness.js';
import type { ScenarioResult } from './result.js';
import { faultParams, scenarioTimeoutMs } from './params.js';
import { codeUnderTest, formatDetails, formatHeader, formatTable, machine, saveResults } from './report.js';
import { SCENARIOS } from './scenarios.js';

const params = faultParams();
const runId = new Date().toISOString().replaceAll(':', '-').replace(/\..*$/, '');
const code = codeUnderTest(params.serviceDir);
const results: ScenarioResult[] = [];

const report = (r: ScenarioResult): void => {
  results.push(r);
  console.log(`${formatTable([r])}\n${formatDetails(r)}`);
};

// A scenario the runner gave up on (its timeout) is stopped here (broker, Postgres,
// service, simulators), and what it had measured is reported all the same.
afterEach(async () => {
  for (const r of await stopAllRuns()) report(r);
});

afterAll(() => {
  if (results.length === 0) return;
  const m = machine();
  console.log(`${formatHeader(m, params, code)}\n\n${formatTable(results)}\n`);
  console.log(`saved: ${saveResults({ machine: m, params, code, runId, results })}`);
});

// duplicated-new: an order published twice as NEW fails the run. After a kill -9 the
// outbox relay's recovery once missed a few records that had landed and sent them again
// (2 of 2,943 orders in a CI rehearsal on 2026-11-28; the scan found 2 of 4 orphans);
// the one flaw found in its tail scan, a range closed on an EOF that came before the
// batch it belonged to, was fixed in 3033f2f, without proof that it was the cause. No
// run has published a NEW twice since (CI, fault and cluster runs through 2026-11-29),
// so it is no longer reported as known failing: if it comes back, this run fails and
// the recovery's log line names the released ids and the ranges it read.
describe('under a steady saga load, through each fault, every accepted order is decided exactly once and decisions flow again', () => {
  for (const name of params.scenarios) {
    const scenario = SCENARIOS[name];
    it(
      `${name}: ${scenario.title}`,
      async () => {
        const r = await runScenario(scenario, params, runId);
        report(r);

        expect.soft(r.errors, 'steps that failed').toEqual([]);
        expect.soft(r.accepted, 'orders accepted').toBeGreaterThan(0);
        expect
          .soft({
            lost: r.lost,
            duplicatedDecisions: r.duplicatedDecisions,
            duplicatedNew: r.duplicatedNew,
            offPartition: r.offPartition,
            unexpectedRecords: r.unexpectedRecords,
            pgMismatches: r.pgMismatches,
            storeMismatches: r.storeMismatches,
          }, 'what the audit found')
          .toEqual({ lost: 0, duplicatedDecisions: 0, duplicatedNew: 0, offPartition: 0, unexpectedRecords: 0, pgMismatches: 0, storeMismatches: 0 });
        expect.soft(r.acceptedAfterFault, 'orders accepted since the fault began (recovery is timed on them)').toBeGreaterThan(0);
        expect.soft(r.recoveryS ?? Infinity, `seconds to recovery (bound ${params.recoveryBoundS} s)`).toBeLessThanOrEqual(params.recoveryBoundS);
        // Broker loss is visible: readiness says kafka DOWN during the outage and UP after it.
        if (r.kafkaReadiness !== null) {
          expect.soft(r.kafkaReadiness.downAfterS, 'seconds until readiness said kafka DOWN').not.toBeNull();
          expect.soft(r.kafkaReadiness.upAfterS, 'seconds until readiness said kafka UP again').not.toBeNull();
        }
      },
      scenarioTimeoutMs(params),
    );
  }
});
