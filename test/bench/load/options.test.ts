import { describe, expect, it } from 'vitest';
import { LoadOptionsError, parseLoadOptions, SCENARIOS } from '../../../bench/load/options.js';

const parse = (...argv: string[]) => parseLoadOptions(argv, '/repo');

describe('bench:load options', () => {
  it('all scenarios, defaults: start the service from this checkout with the simulators', () => {
    const o = parse('--scenario', 'all');
    expect(o.scenarios).toEqual([...SCENARIOS]);
    expect(o.url).toBeUndefined();
    expect(o.serviceDir).toBe('/repo');
    expect(o.simulators).toBe(true);
    expect(o.rates).toEqual([500]);
    expect(o.commitModes).toEqual(['default']);
    expect(o.soakMinutes).toBe(10);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('a list of scenarios, rates sorted and deduplicated, commit modes', () => {
    const o = parse('--scenario', 'saga-rate,intake', '--rates', '1000,200,500,200', '--commit-modes', 'fixed,adaptive', '--duration', '5');
    expect(o.scenarios).toEqual(['saga-rate', 'intake']);
    expect(o.rates).toEqual([200, 500, 1000]);
    expect(o.commitModes).toEqual(['fixed', 'adaptive']);
    expect(o.durationS).toBe(5);
  });

  it('--url: no simulators unless asked, trailing slash dropped', () => {
    const o = parse('--scenario', 'intake', '--url', 'http://127.0.0.1:18282/');
    expect(o.url).toBe('http://127.0.0.1:18282');
    expect(o.simulators).toBe(false);
    expect(parse('--scenario', 'intake', '--url', 'http://h:1', '--simulators', 'yes').simulators).toBe(true);
  });

  it('--service-dir relative to the working directory', () => {
    expect(parse('--scenario', 'intake', '--service-dir', '../before').serviceDir).toBe('/repo/../before');
    expect(parse('--scenario', 'intake', '--service-dir', '/w/before').serviceDir).toBe('/w/before');
  });

  it.each([
    [[], /--scenario is required/],
    [['--scenario', 'intake,bogus'], /unknown 'bogus'/],
    [['--scenario', 'intake', '--duration', '0'], /--duration must be a positive integer/],
    [['--scenario', 'intake', '--rates', '200,x'], /--rates must be a positive number/],
    [['--scenario', 'intake', '--url', 'http://h:1', '--service-dir', 'd'], /exclude each other/],
    [['--scenario', 'intake', '--url', 'http://h:1', '--commit-modes', 'fixed'], /--commit-modes needs the service started/],
    [['--scenario', 'intake', '--url', 'h:1'], /--url must be/],
    [['--scenario', 'intake', '--nope'], /Unknown option/],
  ])('%j is refused', (argv, message) => {
    expect(() => parse(...argv)).toThrow(LoadOptionsError);
    expect(() => parse(...argv)).toThrow(message);
  });
});
