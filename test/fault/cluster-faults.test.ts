// Multi-instance fault tests (issue 7, "Show" and item 6, the seed's failure table):
// 3 instances of one application on a 3-node KRaft cluster (replication 3,
// min.insync.replicas 2) under a steady saga load, and in turn: kill -9 of an
// instance, kill -9 of the broker coordinating the group, Postgres stopped, a 4th
// instance added, an instance partitioned from Kafka, an instance SIGTERMed. After
// them, every order accepted over HTTP must have exactly one NEW and one decision on
// `orders`, Postgres and the owning instance's store must agree; per fault, the moved
// tasks must serve again within the seed's 60 s and a SIGTERM must end in a clean,
// bounded exit. The run prints per fault the time until the moved tasks serve again,
// the restore rate and the rebalances (./cluster-report.ts).
//
//   npm test                                       the short form runs in it (CLUSTER_FAULT_TESTS=0 leaves it out)
//   npm run test:cluster-faults                    the long form (every fault)
//   CLUSTER_PROFILE=short npm run test:cluster-faults
//   CLUSTER_FAULTS=instance-partition FAULT_SERVICE_DIR=/path/to/other/checkout npm run test:cluster-faults
//   CLUSTER_ISOLATE=1 npm run test:cluster-faults   each fault on a fresh cluster and group
//
// What is reported but does not fail the run is listed in KNOWN_FAILING below.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runClusterFaults, stopClusterRuns } from './cluster-harness.js';
import { clusterParams, clusterTestsEnabled, clusterTimeoutMs } from './cluster-params.js';
import { formatClusterDetails, formatClusterHeader, formatClusterTables } from './cluster-report.js';
import type { ClusterResult } from './cluster-result.js';
import { CLUSTER_FAULTS } from './cluster-scenarios.js';
import { codeUnderTest, machine, saveResults } from './report.js';

/**
 * Expectations today's engine is known to fail (measured on main at 17a3dba): they are
 * checked and reported, but do not fail the run. CLUSTER_KNOWN_FAILING (comma-separated
 * keys, or `none`) replaces the list. A known failure that passes is reported so it can
 * be taken off.
 *
 * - instance-partition:single-owner: the partitioned instance goes on answering store
 *   reads for its tasks after another instance took them (6 and 214 probe moments in
 *   the isolated short and long baselines).
 * - store-any-instance: only the owner answers (503 "not owned" elsewhere) until
 *   queries are forwarded between instances (issue 7, item 5).
 *
 * Not listed, because it hides lost orders when it happens: a broker's kill -9 (the
 * group's coordinator or not) froze the stream loop of at least one instance in 6 of 9
 * runs here: the instance replaced its fatal group consumer ('group consumer failed
 * fatally: replacing it'), kept its transactional producer, and its next commit never
 * returned: sendOffsetsToTransaction came back 424-586 s later with "Producer attempted
 * an operation with an old epoch" (after max.poll.interval.ms evicted it or a reset
 * connection woke it); instances whose producer was replaced went on. librdkafka #5456
 * (send_offsets_to_transaction ignores its timeout while its coordinator request
 * waits) and #5511 look alike. Until the engine bounds that call, the short form fails
 * intermittently, which is why it is not in `npm test` yet.
 */
// audit:duplicated-new was listed here until 2026-11-29: an instance restarted after
// kill -9 re-sent a few outbox rows whose records its recovery scan had not found (see
// test/fault/faults.test.ts); no run has shown it since 3033f2f.
const KNOWN_FAILING: readonly string[] = [];

const params = clusterParams();
const runId = new Date().toISOString().replaceAll(':', '-').replace(/\..*$/, '');
const code = codeUnderTest(params.serviceDir);
const results: ClusterResult[] = [];
const knownFailing = new Set(
  process.env.CLUSTER_KNOWN_FAILING === undefined ? KNOWN_FAILING : process.env.CLUSTER_KNOWN_FAILING === 'none' ? [] : process.env.CLUSTER_KNOWN_FAILING.split(',').map((k) => k.trim()),
);

const report = (r: ClusterResult): void => {
  results.push(r);
  console.log(`${formatClusterTables(r)}\n\n${formatClusterDetails(r)}`);
};

interface Expectation {
  /** Stable name, as KNOWN_FAILING lists it: `audit`, `<fault>:moved-serving`, ... */
  readonly key: string;
  readonly what: string;
  readonly ok: boolean;
  readonly actual: unknown;
}

/** What a run must show: the audit of the whole run, and per fault its own bounds. */
function expectations(r: ClusterResult): Expectation[] {
  const out: Expectation[] = [
    { key: 'no-errors', what: 'steps that failed (a crash, a failed start, a saga that did not keep up)', ok: r.errors.length === 0, actual: r.errors },
    { key: 'replication', what: 'orders is replicated 3 times', ok: r.ordersReplication === 3, actual: r.ordersReplication },
    { key: 'accepted', what: 'orders accepted', ok: r.accepted > 0, actual: r.accepted },
  ];
  const audit = { lost: r.lost, duplicatedDecisions: r.duplicatedDecisions, offPartition: r.offPartition, unexpectedRecords: r.unexpectedRecords };
  out.push({ key: 'audit', what: 'every accepted order has exactly one decision on its partition, nothing lost', ok: Object.values(audit).every((n) => n === 0), actual: audit });
  out.push({ key: 'audit:duplicated-new', what: 'every accepted order has exactly one NEW on orders', ok: r.duplicatedNew === 0, actual: r.duplicatedNew });
  out.push({ key: 'postgres', what: 'Postgres shows every decision', ok: r.pgMismatches === 0, actual: r.pgMismatches });
  out.push({ key: 'owner-store', what: 'the owning instance\'s store shows every decision', ok: r.storeMismatches === 0, actual: { mismatches: r.storeMismatches, answers: r.storeAnswers } });
  const anyInstance = Object.entries(r.storeAnyInstance);
  out.push({
    key: 'store-any-instance',
    what: 'every instance answers for every sampled order with its decision (queries from any instance)',
    ok: anyInstance.length > 0 && anyInstance.every(([answer]) => answer === 'agrees'),
    actual: r.storeAnyInstance,
  });
  for (const f of r.faults) {
    if (f.moved.length > 0 || ['instance-kill', 'instance-partition', 'instance-sigterm', 'instance-add'].includes(f.name))
      out.push({
        key: `${f.name}:moved-serving`,
        what: `${f.name}: the moved tasks serve again within ${params.servingBoundS} s of the fault's start (moved: ${f.moved.join(',') || 'none seen'})`,
        ok: typeof f.movedBackS === 'number' && f.movedBackS <= params.servingBoundS,
        actual: f.movedBackS,
      });
    out.push({
      key: `${f.name}:all-serving`,
      what: `${f.name}: every partition decides again within ${params.servingBoundS} s of the fault's start`,
      ok: typeof f.allBackS === 'number' && f.allBackS <= params.servingBoundS,
      actual: f.allBackS,
    });
    if (f.sigterm !== null)
      out.push({
        key: `${f.name}:clean-exit`,
        what: `${f.name}: exit code 0 within ${params.sigtermBoundS} s of SIGTERM`,
        ok: f.sigterm.exitCode === 0 && f.sigterm.exitS <= params.sigtermBoundS,
        actual: f.sigterm,
      });
    // Vacuous when nothing moved (the group had not taken the tasks away yet, or was stuck).
    if (f.name === 'instance-partition' && f.moved.length > 0)
      out.push({ key: `${f.name}:single-owner`, what: `${f.name}: the partitioned instance stops answering for tasks moved away (no partition answered by two instances at once)`, ok: f.doubleServed === 0, actual: f.doubleServed });
    if (f.name === 'instance-partition' || f.name === 'instance-kill' || f.name === 'instance-add')
      out.push({ key: `${f.name}:rejoined`, what: `${f.name}: ${f.target} serves tasks again by the interval's end`, ok: f.targetServing.length > 0, actual: f.targetServing });
    if (f.name === 'postgres-outage') {
      // Probes come every 0.5 s: a gap of one probe is noise, not an outage of the store.
      out.push({ key: `${f.name}:store-queryable`, what: `${f.name}: the store stays queryable (no partition unserved over 1 s)`, ok: Math.max(0, ...f.storeGapS) <= 1, actual: f.storeGapS });
      const slow = Object.keys(f.posts.failed).length;
      out.push({ key: `${f.name}:fast-503`, what: `${f.name}: new orders get an answer (503) at once, none time out or hang up`, ok: slow === 0 && Object.keys(f.posts.refused).every((s) => s === '503'), actual: f.posts });
    }
  }
  return out;
}

describe.skipIf(!clusterTestsEnabled())('a group of instances on a 3-broker cluster, through faults in turn under a steady saga load', () => {
  afterEach(async () => {
    for (const r of await stopClusterRuns()) report(r);
  });

  afterAll(() => {
    if (results.length === 0) return;
    const m = machine();
    console.log(`${formatClusterHeader(m, params, code)}\n\n${results.map(formatClusterTables).join('\n\n')}\n`);
    console.log(`saved: ${saveResults({ machine: m, params, code, runId, results }, 'cluster-faults')}`);
  });

  for (const faults of params.isolate ? params.faults.map((f) => [f]) : [params.faults]) {
    it(
      `${faults.join(', ')}: every accepted order decided exactly once, the views agree, moved tasks serve again in time`,
      async () => {
        const r = await runClusterFaults(faults.map((name) => CLUSTER_FAULTS[name]), params, params.isolate ? `${runId}-${faults[0]}` : runId);
        report(r);
        const lines: string[] = [];
        for (const e of expectations(r)) {
          if (knownFailing.has(e.key)) {
            lines.push(`known failing ${e.key}: ${e.ok ? 'now PASSES: take it off KNOWN_FAILING' : 'still fails'} (${JSON.stringify(e.actual)})`);
            continue;
          }
          expect.soft(e.ok, `${e.key}: ${e.what}; got ${JSON.stringify(e.actual)}`).toBe(true);
        }
        if (lines.length > 0) console.log(lines.join('\n'));
      },
      clusterTimeoutMs({ ...params, faults }),
    );
  }
});
