// Watches every instance from outside, twice a second: its readiness (the streams
// component says whether it is rebalancing or restoring) and, for each partition, how
// its store answers GET /api/orders/store/{id} for an id on that partition (see
// test/support/cluster-figures.ts: 200 or 404 from its own running task = it serves
// the partition; an answer another instance served (forwarded: X-Served-By names
// it) or a standby copy served (X-Store-Lag) = not its partition; 503 = not owned or
// not ready). The probe ids need no order behind them: an owner answers 404 for an
// id it has never seen. This tells which instance serves which partition
// and when, without relying on the engine's log lines.
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionFor } from '../../src/kafka/partitioner.js';
import type { StoreAnswer, WatchSample } from '../support/cluster-figures.js';

const EVERY_MS = 500;
const TIMEOUT_MS = 2000;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly servedBy: string | undefined;
  readonly standby: boolean;
}

function get(agent: Agent, url: string): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      const servedBy = res.headers['x-served-by'];
      const standby = res.headers['x-store-lag'] !== undefined;
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, servedBy: typeof servedBy === 'string' ? servedBy : undefined, standby }));
      res.on('error', () => resolve(undefined));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The smallest positive order id on each partition. */
export function probeIds(numPartitions: number): string[] {
  const ids: (string | undefined)[] = Array<string | undefined>(numPartitions).fill(undefined);
  for (let id = 1, found = 0; found < numPartitions; id++) {
    const p = partitionFor(String(id), numPartitions);
    if (ids[p] === undefined) {
      ids[p] = String(id);
      found++;
    }
  }
  return ids as string[];
}

function storeAnswer(instance: string, a: Answer | undefined): StoreAnswer {
  if (a === undefined) return 'unreachable';
  if (a.status === 200 || a.status === 404) return a.standby || (a.servedBy !== undefined && a.servedBy !== instance) ? 'not-owned' : 'serving';
  if (a.status === 503) return a.body.includes('NOT_OWNED') ? 'not-owned' : 'not-ready';
  return 'other';
}

function streamsOf(a: Answer | undefined): WatchSample['streams'] {
  if (a === undefined) return 'unreachable';
  try {
    const status = (JSON.parse(a.body) as { components?: { streams?: { status?: string } } }).components?.streams?.status;
    return status === 'UP' ? 'UP' : 'DOWN';
  } catch {
    return 'DOWN';
  }
}

export class ClusterWatch {
  readonly samples: WatchSample[] = [];
  readonly #targets = new Map<string, string>();
  readonly #ids: string[];
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  #running = true;
  readonly #loop: Promise<void>;

  constructor(numPartitions: number) {
    this.#ids = probeIds(numPartitions);
    this.#loop = this.#run();
  }

  /** Watches `instance` at `baseUrl` from now on (again after a restart: same name, same address). */
  watch(instance: string, baseUrl: string): void {
    this.#targets.set(instance, baseUrl);
  }

  /** Whether the latest sample of each of `instances` says streams UP (none taken yet: no). */
  allUp(instances: readonly string[]): boolean {
    return instances.every((instance) => this.samples.findLast((s) => s.instance === instance)?.streams === 'UP');
  }

  /**
   * Whether the latest sample of each of `instances` shows it serving at least one
   * partition: with no more instances than partitions, every member of a settled
   * group runs some task (a rejoined instance is UP, with nothing, until the group
   * has moved its share back to it).
   */
  allServing(instances: readonly string[]): boolean {
    return instances.every((instance) => this.samples.findLast((s) => s.instance === instance)?.store.includes('serving') === true);
  }

  /**
   * Whether every partition is served by one of `instances` in its latest sample: a
   * partition whose move is still under way (revoked by its old owner, not yet taken by
   * the new one) is served by none.
   */
  everyPartitionServed(instances: readonly string[]): boolean {
    const latest = instances.map((instance) => this.samples.findLast((s) => s.instance === instance));
    return this.#ids.every((_, p) => latest.some((s) => s?.store[p] === 'serving'));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    this.#agent.destroy();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const round = performance.now();
      await Promise.all([...this.#targets].map(([instance, url]) => this.#sample(instance, url)));
      await sleep(Math.max(0, EVERY_MS - (performance.now() - round)));
    }
  }

  async #sample(instance: string, url: string): Promise<void> {
    const [readiness, ...store] = await Promise.all([get(this.#agent, `${url}/actuator/health/readiness`), ...this.#ids.map((id) => get(this.#agent, `${url}/api/orders/store/${id}`))]);
    this.samples.push({ at: performance.now(), instance, streams: streamsOf(readiness), store: store.map((a) => storeAnswer(instance, a)) });
  }
}
