// Postgres array literals ('{1,2}', '{"a","b \"c\""}'), passed as text parameters and
// cast in SQL ($1::numeric[]). The group commit sends its prices this way (numeric's
// binary form is base-10000 digits); its other columns go as binary arrays
// (pg-binary-array.ts), which cost a third of these to build (npm run bench:pg-params,
// whose baseline these are). pg would build the same literal from a JS array, but walks
// every element through its generic prepareValue and two regex replaces.

/** Text elements: each quoted (so '', ' ', ',', '{}' and 'NULL' stay text), `"` and `\` escaped; null is NULL. */
export function textArray(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i]!;
    if (v === null) out += 'NULL';
    else out += `"${NEEDS_ESCAPE.test(v) ? escaped(v) : v}"`;
  }
  return out + '}';
}

const NEEDS_ESCAPE = /["\\]/;

// Backslashes first, then quotes. Two plain-string replaceAll calls take half the time of
// one regex replace with a `$&` template (2.1 against 4.5 µs for an order's event JSON,
// which always has quotes): V8 runs the template through its generic replacement path.
const escaped = (v: string): string => (v.includes('\\') ? v.replaceAll('\\', '\\\\') : v).replaceAll('"', '\\"');

/** Finite numbers or bigints (ids, integers; cents as text are strings: use textArray). */
export function numberArray(values: readonly (number | bigint)[]): string {
  return `{${values.join(',')}}`;
}
