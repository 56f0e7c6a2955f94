// Waits for the service to go quiet before a run, so one scenario's backlog (intake at
// saturation leaves thousands of orders in the outbox and the saga) is not measured
// as the next one's latency. Quiet: the stream engine's processed records and the
// outbox relay's published rows each grew by at most QUIET_PER_S over 3 polls a second
// apart. Not zero: on a shared broker and database other services' traffic reaches
// this one too (the outbox table and the saga topics are shared), and never stops.
const QUIET_PER_S = 50;

/** The sum of a counter's samples (all label sets) in a Prometheus text exposition; NaN if absent. */
export function counterSum(text: string, name: string): number {
  let sum = NaN;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)\\s*$`, 'gm'))) {
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(match[1]);
  }
  return sum;
}

const ACTIVITY = ['kafka_streams_process_total', 'orders_outbox_published_total'];

export interface Settled {
  readonly seconds: number;
  readonly quiet: boolean;
}

export async function settle(url: string, limitS = 60): Promise<Settled> {
  const started = performance.now();
  let last: number[] | undefined;
  let quietPolls = 0;
  while (performance.now() - started < limitS * 1000) {
    const text = await fetch(`${url}/actuator/prometheus`).then((r) => r.text(), () => '');
    const now = ACTIVITY.map((name) => counterSum(text, name));
    const calm = last !== undefined && now.every((v, i) => Number.isNaN(v) || v - last![i]! <= QUIET_PER_S);
    quietPolls = calm ? quietPolls + 1 : 0;
    if (quietPolls >= 3) return { seconds: Math.round((performance.now() - started) / 100) / 10, quiet: true };
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { seconds: limitS, quiet: false };
}
