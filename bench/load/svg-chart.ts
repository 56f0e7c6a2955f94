// Line charts as inline SVG strings, for a report.html that needs nothing from a CDN.
// Pure: scales and ticks are tested as numbers, the chart as text.

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const MARGIN = { left: 64, right: 16, top: 40, bottom: 44 };

/** Maps [d0, d1] onto [r0, r1]; a domain of one value maps to the middle of the range. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Round tick values (1, 2 or 5 × 10^k apart) covering [min, max], about `target` of them. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max === min) return [min];
  // The step nearest the raw one among 1, 2 and 5 × 10^k (d3's thresholds: √50, √10, √2).
  const raw = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const error = raw / magnitude;
  const step = (error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.SQRT2 ? 2 : 1) * magnitude;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** The y axis' top: the largest value rounded up to a tick, 1 when everything is 0. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const ticks = niceTicks(0, max);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : max;
  return Math.ceil(max / step - 1e-9) * step;
}

export const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

const label = (v: number): string => (Math.abs(v) >= 10_000 ? `${Math.round(v / 1000)}k` : String(Number(v.toPrecision(4))));

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 640;
  const height = spec.height ?? 280;
  const finite = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = finite.map(([x]) => x);
  const xMin = xs.length === 0 ? 0 : Math.min(...xs);
  const xMax = xs.length === 0 ? 1 : Math.max(...xs);
  const yMax = niceMax(finite.length === 0 ? 0 : Math.max(...finite.map(([, y]) => y)));
  const x = linearScale(xMin, xMax, MARGIN.left, width - MARGIN.right);
  const y = linearScale(0, yMax, height - MARGIN.bottom, MARGIN.top);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(spec.title)}</text>`,
  ];
  for (const t of niceTicks(0, yMax)) {
    out.push(`<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of niceTicks(xMin, xMax, 8)) {
    out.push(`<text x="${x(t).toFixed(1)}" y="${height - MARGIN.bottom + 16}" text-anchor="middle">${label(t)}</text>`);
  }
  out.push(`<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${height - MARGIN.bottom}" y2="${height - MARGIN.bottom}" stroke="#333"/>`);
  out.push(`<text x="${(MARGIN.left + width - MARGIN.right) / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${(MARGIN.top + height - MARGIN.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"/>`);
    for (const [px, py] of pts.length <= 30 ? pts : []) out.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="2.5" fill="${color}"/>`);
    const lx = MARGIN.left + 8 + i * 150;
    out.push(`<rect x="${lx}" y="${MARGIN.top - 14}" width="10" height="3" fill="${color}"/><text x="${lx + 14}" y="${MARGIN.top - 10}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
