import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { groupIdOf, loadSimConfig } from '../../src/sim/sim-config.js';

describe('loadSimConfig', () => {
  it('defaults to both services, a 10% reject share each, no prefix, the local broker', () => {
    const config = loadSimConfig({});
    expect(config).toEqual({
      kafkaBootstrapServers: '127.0.0.1:9092',
      services: ['payment', 'inventory'],
      paymentRejectRate: 0.1,
      inventoryRejectRate: 0.1,
      applicationId: undefined,
      numPartitions: 6,
      replicationFactor: 1,
      batchSize: 500,
      groupProtocol: 'consumer',
      reportIntervalMs: 5000,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.services)).toBe(true);
  });

  it('reads the variables, trimming and de-duplicating the service list', () => {
    const config = loadSimConfig({ SIM_SERVICES: ' inventory , payment,inventory', SIM_PAYMENT_REJECT_RATE: '1', SIM_INVENTORY_REJECT_RATE: '0', SIM_APPLICATION_ID: 'load-7' });
    expect(config.services).toEqual(['inventory', 'payment']);
    expect(config.paymentRejectRate).toBe(1);
    expect(config.inventoryRejectRate).toBe(0);
    expect(groupIdOf(config, 'payment')).toBe('load-7-payment-service');
  });

  it('names the consumer groups as the real services', () => {
    expect(groupIdOf(loadSimConfig({}), 'payment')).toBe('payment-service');
    expect(groupIdOf(loadSimConfig({}), 'inventory')).toBe('inventory-service');
  });

  it('reports every bad variable at once, by name', () => {
    const env = { SIM_SERVICES: 'payment,shipping', SIM_PAYMENT_REJECT_RATE: '1.5', SIM_INVENTORY_REJECT_RATE: 'lots', SIM_APPLICATION_ID: 'a b' };
    let error: unknown;
    try {
      loadSimConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).lines.join('\n');
    for (const name of Object.keys(env)) expect(lines).toContain(`${name}=`);
  });
});
