// Where the time went, from V8 CPU profiles (`node --cpu-prof`, one .cpuprofile per
// thread): for each profile, the busiest functions by self time and the busiest
// source files by total (inclusive) time, as a flame graph would show them, in text.
//
//   BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:saga -- --rate 2000
//   node dist/bench/profile-summary.js /tmp/prof [--top 25]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values: args, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
const top = Number(args.top);
const dir = positionals[0];
if (dir === undefined) throw new Error('usage: profile-summary <dir with .cpuprofile files> [--top N]');

const shortUrl = (url: string): string => {
  if (url === '') return '(native)';
  const i = url.lastIndexOf('/node_modules/');
  if (i >= 0) return url.slice(i + '/node_modules/'.length);
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '');
};
const frameName = (f: CallFrame): string => `${f.functionName === '' ? '(anonymous)' : f.functionName} ${shortUrl(f.url)}${f.url === '' ? '' : `:${f.lineNumber + 1}`}`;

const table = (title: string, rows: [string, number][], totalMs: number): void => {
  console.log(`  ${title}`);
  for (const [name, ms] of rows.slice(0, top)) console.log(`    ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${name}`);
};

for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  let idleMs = 0;
  const selfByFunction = new Map<string, number>();
  const totalByFile = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      if (name === '(idle)') idleMs += ms;
    }
    const fn = frameName(node.callFrame);
    selfByFunction.set(fn, (selfByFunction.get(fn) ?? 0) + ms);
    // Inclusive time per source file: counted once per stack, however deep the file recurs.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const url = shortUrl(byId.get(at)!.callFrame.url);
      if (!seen.has(url)) {
        seen.add(url);
        totalByFile.set(url, (totalByFile.get(url) ?? 0) + ms);
      }
    }
  }
  const busyMs = wallMs - idleMs;
  console.log(`\n${file}: ${wallMs.toFixed(0)} ms profiled, ${busyMs.toFixed(0)} ms busy (${((100 * busyMs) / wallMs).toFixed(0)}%)`);
  const sorted = (m: Map<string, number>): [string, number][] => [...m].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
  table('self time by function (% of busy time)', sorted(selfByFunction), busyMs);
  table('total time by source file (% of busy time)', sorted(totalByFile).filter(([k]) => k !== '(native)' && k !== '(root)'), busyMs);
}
