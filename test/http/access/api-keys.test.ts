import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeys, duplicateDigests, parseApiKeys, readApiKeyFile, sha256 } from '../../../src/http/access/api-keys.js';

const hex = (key: string): string => sha256(key).toString('hex');

describe('parseApiKeys', () => {
  it('reads client:sha256-hex[:operator] entries separated by commas, spaces and lines, with # comments', () => {
    const text = `acme:${hex('a1')}, partner-2:${hex('p2').toUpperCase()}:operator\n# a comment\n  ops.team:${hex('o1')}:operator # trailing`;
    expect(parseApiKeys(text, 'API_KEYS')).toEqual({
      entries: [
        { client: 'acme', digest: hex('a1'), role: 'client' },
        { client: 'partner-2', digest: hex('p2'), role: 'operator' },
        { client: 'ops.team', digest: hex('o1'), role: 'operator' },
      ],
      problems: [],
    });
  });

  it.each([
    ['a plain key', 'acme:my-secret-key-123', /entry 1 \(acme\): not a SHA-256 digest/],
    ['a digest one character short', `acme:${hex('x').slice(1)}`, /not a SHA-256 digest/],
    ['an unknown role', `acme:${hex('x')}:admin`, /unknown role \(the third field\)/],
    ['no digest at all', 'acme', /expected client:sha256-hex/],
    ['a client name with a space-free but bad character', `ac/me:${hex('x')}`, /expected client:sha256-hex/],
    ['too many fields', `acme:${hex('x')}:operator:extra`, /expected client:sha256-hex/],
  ])('refuses %s with a problem naming the entry', (_, text, problem) => {
    const parsed = parseApiKeys(text, 'API_KEYS');
    expect(parsed.entries).toEqual([]);
    expect(parsed.problems).toEqual([expect.stringMatching(problem)]);
  });

  it('never repeats a refused value in its problem: a plain key pasted into config is a secret', () => {
    const { problems } = parseApiKeys(`acme:sk_live_TOPSECRET, bad/name:sk_live_OTHERSECRET, c:${hex('x')}:sk_THIRDSECRET`, 'API_KEYS');
    expect(problems).toHaveLength(3);
    for (const p of problems) expect(p).not.toMatch(/SECRET/);
  });
});

describe('duplicateDigests', () => {
  it('names two clients configured with the same key', () => {
    const { entries } = parseApiKeys(`a:${hex('k')} b:${hex('k')} c:${hex('other')}`, 'API_KEYS');
    expect(duplicateDigests(entries)).toEqual([expect.stringContaining('clients a and b')]);
  });
});

describe('readApiKeyFile', () => {
  it('reads entries from a file, one a line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, `# clients\nacme:${hex('a')}\nops:${hex('o')}:operator\n`);
    expect(readApiKeyFile(file).entries.map((e) => `${e.client}/${e.role}`)).toEqual(['acme/client', 'ops/operator']);
  });

  it('says a file it cannot read is a problem, with the code', () => {
    expect(readApiKeyFile('/nonexistent/keys').problems).toEqual([expect.stringMatching(/^API_KEYS_FILE="\/nonexistent\/keys": cannot read it \(ENOENT\)/)]);
  });
});

describe('ApiKeys.identify', () => {
  const keys = new ApiKeys(parseApiKeys(`acme:${hex('acme-key-1')} acme:${hex('acme-key-2')} ops:${hex('ops-key')}:operator`, 'API_KEYS').entries);

  it('finds the client of a configured key, the same client object for each of its keys', () => {
    const one = keys.identify('acme-key-1');
    expect(one).toEqual({ name: 'acme', role: 'client' });
    expect(keys.identify('acme-key-2')).toBe(one);
    expect(keys.identify('ops-key')).toEqual({ name: 'ops', role: 'operator' });
  });

  it.each(['acme-key-3', 'acme-key-1 ', 'ACME-KEY-1', hex('acme-key-1'), 'x'.repeat(10_000)])('knows no client for %s', (key) => {
    expect(keys.identify(key)).toBeUndefined();
  });

  it('does not take the digest itself as the key', () => {
    expect(keys.size).toBe(3);
    expect(keys.identify(hex('ops-key'))).toBeUndefined();
  });
});
