// The service's resident memory, sampled every 5 s while a scenario runs: VmRSS from
// /proc when bench:load started the service, else the process_resident_memory_bytes
// metric of the target's /actuator/prometheus (prom-client's default metrics).
import { memoryOf } from '../children.js';
import type { RssPoint } from './report-types.js';

/** process_resident_memory_bytes from a Prometheus text exposition, in MiB; undefined if absent. */
export function residentMiBFromMetrics(text: string): number | undefined {
  const match = /^process_resident_memory_bytes(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$/m.exec(text);
  if (match === null) return undefined;
  const bytes = Number(match[1]);
  return Number.isFinite(bytes) ? Math.round((bytes / 2 ** 20) * 10) / 10 : undefined;
}

export async function residentMiB(target: { readonly url: string; readonly pid: number | undefined }): Promise<number | undefined> {
  if (target.pid !== undefined) return memoryOf(target.pid)?.rssMiB;
  const text = await fetch(`${target.url}/actuator/prometheus`).then((r) => r.text(), () => '');
  return residentMiBFromMetrics(text);
}

export class RssSampler {
  readonly #points: RssPoint[] = [];
  readonly #started = performance.now();
  readonly #timer: NodeJS.Timeout;

  constructor(target: { readonly url: string; readonly pid: number | undefined }, everyMs = 5000) {
    const sample = async (): Promise<void> => {
      const mib = await residentMiB(target);
      if (mib !== undefined) this.#points.push({ t: Math.round((performance.now() - this.#started) / 1000), mib });
    };
    void sample();
    this.#timer = setInterval(() => void sample(), everyMs);
  }

  stop(): RssPoint[] {
    clearInterval(this.#timer);
    return this.#points;
  }
}
