// The metric names a PromQL expression reads, for tests that keep dashboards and alert
// rules in step with what the service exports. Not a parser: it drops what cannot be a
// metric name (strings, label matchers, ranges, grouping label lists, function names,
// keywords) and keeps the identifiers left. Enough for the expressions we write.
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'Inf', 'NaN']);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** The `expr:` of every rule in a rules file (one line each, as deploy/prometheus/alerts.yml writes them). */
export function ruleExpressions(yaml: string): string[] {
  return [...yaml.matchAll(/^\s*expr:\s*(.+?)\s*$/gm)].map((m) => m[1]!);
}

/** Every PromQL expression of a Grafana dashboard's panels (rows' nested panels included). */
export function dashboardExpressions(dashboard: { panels?: unknown[] }): string[] {
  const out: string[] = [];
  const walk = (panels: unknown[] | undefined): void => {
    for (const p of (panels ?? []) as { targets?: { expr?: string }[]; panels?: unknown[] }[]) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push(t.expr);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}
