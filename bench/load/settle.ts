// Waits for the service to go quiet before a run, so one scenario's backlog (intake at
// saturation leaves thousands of orders in the outbox and the saga) is not measured
// as the next one's latency: quiet is the stream engine's processed records and the
// outbox relay's published rows unchanged over 3 polls a second apart.

/** The sum of a counter's samples (all label sets) in a Prometheus text exposition; NaN if absent. */
export function counterSum(text: string, name: string): number {
  let sum = NaN;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)\\s*$`, 'gm'))) {
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(match[1]);
  }
  return sum;
}

const ACTIVITY = ['kafka_streams_process_total', 'orders_outbox_published_total'];

/** Seconds it took to go quiet (or the limit, if it never did). */
export async function settle(url: string, limitS = 120): Promise<number> {
  const started = performance.now();
  let last = '';
  let quiet = 0;
  while (performance.now() - started < limitS * 1000) {
    const text = await fetch(`${url}/actuator/prometheus`).then((r) => r.text(), () => '');
    const now = ACTIVITY.map((name) => counterSum(text, name)).join(',');
    quiet = now === last && text !== '' ? quiet + 1 : 0;
    if (quiet >= 3) break;
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return Math.round((performance.now() - started) / 100) / 10;
}
