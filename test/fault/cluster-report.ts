// The multi-instance fault run's tables: the audit of the whole run (one row), a row
// per fault with its figures, and the details (per partition, timeline, errors),
// printed with the machine, the parameters and the code under test.
import type { Machine } from '../../bench/machine.js';
import type { ClusterParams } from './cluster-params.js';
import type { ClusterFaultResult, ClusterResult, Seconds } from './cluster-result.js';
import { AUDIT_COLUMNS, describeRefusals, formatColumns, type CodeUnderTest, type Column } from './report.js';

const sec = (v: Seconds): string => (v === null ? '-' : String(v));

const auditColumns: Column<ClusterResult>[] = [
  ['run', (r) => r.title],
  ...AUDIT_COLUMNS,
  ['owner-store mismatches', (r) => r.storeMismatches],
  ['POSTs not 201', (r) => describeRefusals(r)],
];

const faultColumns: Column<ClusterFaultResult>[] = [
  ['fault', (f) => f.name],
  ['target', (f) => f.target],
  ['moved partitions', (f) => (f.moved.length === 0 ? '-' : f.moved.join(','))],
  ['moved serving s', (f) => sec(f.movedBackS)],
  ['all serving s', (f) => sec(f.allBackS)],
  ['store gap s', (f) => Math.max(0, ...f.storeGapS)],
  ['recovery s', (f) => sec(f.recoveryS)],
  ['rebalances', (f) => f.rebalances.length],
  ['longest rebalance s', (f) => (f.rebalances.length === 0 ? '-' : Math.max(...f.rebalances.map((x) => x.s)))],
  ['restored records', (f) => f.restores.reduce((n, x) => n + x.records, 0)],
  ['restore rec/s', (f) => f.restoreRatePerS ?? '-'],
  ['double-served', (f) => f.doubleServed],
  ['POSTs not 201', (f) => describeRefusals(f)],
];

export function formatClusterHeader(m: Machine, p: ClusterParams, code: CodeUnderTest): string {
  return [
    `# multi-instance fault tests (${p.profile} form)`,
    `machine: ${m.cpu}, ${m.cores} cores (nproc), ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}, ${m.date}`,
    `code:    ${code.dir} @ ${code.commit}${code.dirty ? ' (uncommitted changes)' : ''}`,
    `group:   ${p.instances} instances × ${p.streamThreads} stream threads, ${p.numPartitions} partitions; 3 brokers (KRaft, each broker + controller), replication 3, min.insync.replicas 2; instances reach Kafka ${p.proxies ? 'through their own proxies' : 'directly (no proxies)'}`,
    `load:    ${p.ratePerS} orders/s open loop, round robin over the instances in the load; first fault after ${p.warmS} s; outages ${p.outageS} s; ${p.gapS} s (and the saga keeping up) between faults`,
    `bounds:  moved tasks serving again ≤ ${p.servingBoundS} s from the fault's start; SIGTERM exit ≤ ${p.sigtermBoundS} s; drain ≤ ${p.drainS} s; Postgres/store settle ≤ ${p.settleS} s`,
    'moved serving: from the fault\'s start until a partition served by other instances during the fault has both a decision of an order POSTed since and its new owner\'s store answering; worst over those;',
    '  all serving: the same over every partition (a rebalance that stops every task shows here); store gap: the longest time no instance\'s store served a partition;',
    '  recovery: from the fault\'s end to the first decision of an order POSTed since its start; rebalances: readiness "streams DOWN" spans of answering instances;',
    '  restore rec/s: records over seconds of the restores the instances logged in the interval; double-served: probe moments when two instances answered for one partition',
  ].join('\n');
}

export function formatClusterTables(r: ClusterResult): string {
  return `${formatColumns(auditColumns, [r])}\n\n${formatColumns(faultColumns, r.faults)}`;
}

export function formatClusterDetails(r: ClusterResult): string {
  const lines = [`## ${r.title}`];
  lines.push(`  POSTs: ${r.posts.sent} sent, ${r.accepted} accepted, not 201: ${describeRefusals(r)}; load ran ${r.loadS} s; orders replicated ${r.ordersReplication ?? '?'}×`);
  if (r.conflictingDecisions + r.missingNew + r.unexpectedRecords > 0)
    lines.push(`  conflicting decisions: ${r.conflictingDecisions}, never published (no NEW): ${r.missingNew}, records neither NEW nor a decision: ${r.unexpectedRecords}`);
  lines.push(`  Postgres showed every decision after ${r.pgAgreedAfterS ?? '-'} s, the owners' stores after ${r.storeAgreedAfterS ?? '-'} s; owner reads: ${JSON.stringify(r.storeAnswers)}`);
  lines.push(`  every instance asked for the same sample of decided orders: ${JSON.stringify(r.storeAnyInstance)}`);
  for (const f of r.faults) {
    lines.push(`  ${f.name} (${f.target}): window ${f.startS} → ${f.endS} s, interval to ${f.untilS} s; POSTs accepted ${f.posts.accepted}, not 201: ${describeRefusals(f)}`);
    lines.push(`    per partition: decisions back s ${JSON.stringify(f.decisionsBackS)}, new owner serving s ${JSON.stringify(f.newOwnerS)}, store gap s ${JSON.stringify(f.storeGapS)}`);
    if (f.rebalances.length > 0) lines.push(`    streams DOWN: ${f.rebalances.map((x) => `${x.instance}@${x.startS}s ${x.s}s`).join(', ')}`);
    if (f.assignments.length > 0) lines.push(`    assigned: ${f.assignments.map((x) => `${x.instance}@${x.atS}s [${x.partitions.join(',')}]`).join(', ')}`);
    if (f.restores.length > 0) lines.push(`    restores: ${f.restores.map((x) => `${x.instance} ${x.records} records in ${x.s ?? 'unfinished'} s`).join(', ')}`);
    if (f.sigterm !== null) lines.push(`    SIGTERM: exit code ${f.sigterm.exitCode ?? 'none (killed)'} after ${f.sigterm.exitS} s`);
    if (f.errors.length > 0) lines.push(`    errors: ${f.errors.join(' | ')}`);
  }
  for (const [kind, ids] of Object.entries(r.samples)) if (ids.length > 0) lines.push(`  e.g. ${kind}: ${JSON.stringify(ids)}`);
  lines.push(`  timeline: ${r.timeline.map((t) => `${t.atS}s ${t.event}`).join('; ')}`);
  if (r.errors.length > 0) lines.push(`  errors: ${r.errors.join(' | ')}`);
  lines.push(`  logs: ${r.logDir}`);
  return lines.join('\n');
}
