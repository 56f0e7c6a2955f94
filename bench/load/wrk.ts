// wrk for the store reads: a native generator, for rates autocannon cannot reach. wrk
// reports one distribution per run, and its Lua `done` hook can read percentiles of
// it but not the samples (`latency[i]` of Debian's wrk 4.1 does not give them), so
// the store-read driver runs wrk in back-to-back 1 s slices and rebuilds each slice's
// histogram from 104 of its quantiles (p1…p99 by 1, p99.5, p99.9, p99.99, max):
// percentiles of the merged run are exact to one quantile step of each slice.
import { newHistogram, recordMs, type Histogram } from './histogram.js';

export const WRK_PERCENTILES: readonly number[] = [...Array.from({ length: 99 }, (_, i) => i + 1), 99.5, 99.9, 99.99, 100];

/** The Lua script: random ids from `idsFile`, a seed per thread, and one `WRK {json}` line at the end. */
export function wrkScript(idsFile: string): string {
  return `local ids = {}
for line in io.lines(${JSON.stringify(idsFile)}) do ids[#ids + 1] = line end
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("seed", threads)
end
init = function(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end
request = function()
  return wrk.format("GET", "/api/orders/store/" .. ids[math.random(#ids)])
end
done = function(summary, latency, requests)
  local ps = {${WRK_PERCENTILES.filter((p) => p < 100).join(', ')}}
  local q = {}
  for _, p in ipairs(ps) do q[#q + 1] = "[" .. p .. "," .. latency:percentile(p) .. "]" end
  q[#q + 1] = "[100," .. latency.max .. "]"
  local e = summary.errors
  io.write("WRK {\\"requests\\":" .. summary.requests .. ",\\"durationUs\\":" .. summary.duration ..
    ",\\"errors\\":{\\"connect\\":" .. e.connect .. ",\\"read\\":" .. e.read .. ",\\"write\\":" .. e.write ..
    ",\\"status\\":" .. e.status .. ",\\"timeout\\":" .. e.timeout .. "},\\"q\\":[" .. table.concat(q, ",") .. "]}\\n")
end
`;
}

export interface WrkSlice {
  readonly requests: number;
  readonly durationUs: number;
  readonly errors: { readonly connect: number; readonly read: number; readonly write: number; readonly status: number; readonly timeout: number };
  /** [percentile, latency µs], percentiles increasing, the last 100 (max). */
  readonly q: readonly (readonly [number, number])[];
}

/** The `WRK {json}` line of one wrk run's output; undefined if there is none. */
export function parseWrkOutput(stdout: string): WrkSlice | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('WRK {'));
  if (line === undefined) return undefined;
  const slice = JSON.parse(line.slice(4)) as WrkSlice;
  if (!Number.isFinite(slice.requests) || !Array.isArray(slice.q)) throw new Error(`not a wrk summary: ${line}`);
  return slice;
}

export const errorCount = (s: WrkSlice): number => s.errors.connect + s.errors.read + s.errors.write + s.errors.status + s.errors.timeout;

/**
 * A histogram of `requests` values shaped like the quantiles: the requests between
 * two quantiles recorded at the upper one's value (counts rounded cumulatively, so
 * they add up to `requests` exactly).
 */
export function histogramFromQuantiles(requests: number, q: WrkSlice['q']): Histogram {
  const h = newHistogram();
  let assigned = 0;
  for (const [p, us] of q) {
    const upTo = Math.round((requests * p) / 100);
    if (upTo > assigned) {
      recordMs(h, us / 1000, upTo - assigned);
      assigned = upTo;
    }
  }
  return h;
}
