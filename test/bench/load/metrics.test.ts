import { describe, expect, it } from 'vitest';
import { residentMiBFromMetrics } from '../../../bench/load/rss.js';
import { counterSum } from '../../../bench/load/settle.js';

describe('metrics read from /actuator/prometheus', () => {
  const text = [
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    'process_resident_memory_bytes 314572800',
    'kafka_streams_process_total{task="0"} 10',
    'kafka_streams_process_total{task="1"} 32',
    'kafka_streams_process_total_other 5',
  ].join('\n');

  it('resident memory in MiB', () => {
    expect(residentMiBFromMetrics(text)).toBe(300);
    expect(residentMiBFromMetrics('')).toBeUndefined();
  });

  it('a counter summed over its label sets, NaN when absent', () => {
    expect(counterSum(text, 'kafka_streams_process_total')).toBe(42);
    expect(counterSum(text, 'orders_outbox_published_total')).toBeNaN();
  });
});
