import { expect } from 'vitest';
import { EngineError } from '../../src/errors.js';

/** The EngineError `fn` throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected an EngineError, got a result');
}
