// Environment settings: a table of variables, each with its JSON schema and default,
// compiled once with ajv (coercing strings to numbers and booleans), read in one go,
// and reported with one line per bad variable. src/config.ts (the service) and
// src/sim/sim-config.ts (the simulators) are tables over this.
import { Ajv } from 'ajv';
import { ConfigError } from './errors.js';

export interface Setting<K extends string> {
  readonly env: string;
  readonly key: K;
  readonly schema: Record<string, unknown>;
  readonly default?: string | number | boolean;
}

export const intSchema = (minimum: number, maximum: number): Record<string, unknown> => ({ type: 'integer', minimum, maximum });
export const textSchema = { type: 'string', minLength: 1 } as const;
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const bootstrapServersSchema = { ...textSchema, pattern: '^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$' };

export type SettingsLoader<K extends string> = (env: NodeJS.ProcessEnv, overrides?: Partial<Record<string, string>>) => Record<K, unknown>;

export function settingsLoader<K extends string>(settings: readonly Setting<K>[]): SettingsLoader<K> {
  const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true });
  const validate = ajv.compile({
    type: 'object',
    properties: Object.fromEntries(settings.map((s) => [s.env, s.default === undefined ? s.schema : { ...s.schema, default: s.default }])),
  });
  return (env, overrides = {}) => {
    const given = (name: string): string | undefined => overrides[name] ?? env[name];
    const raw: Record<string, unknown> = {};
    for (const s of settings) {
      const value = given(s.env);
      // An empty variable means "not set", as in a Kubernetes manifest with value: "".
      if (value !== undefined && value !== '') raw[s.env] = value;
    }
    if (!validate(raw)) {
      throw new ConfigError(
        (validate.errors ?? []).map((e) => {
          const name = e.instancePath.slice(1);
          return `${name}=${JSON.stringify(given(name))}: ${e.message ?? 'invalid'}`;
        }),
      );
    }
    const values = {} as Record<K, unknown>;
    for (const s of settings) values[s.key] = raw[s.env];
    return values;
  };
}
