import { describe, expect, it } from 'vitest';
import { escapeXml, lineChart, linearScale, niceMax, niceTicks } from '../../../bench/load/svg-chart.js';

describe('SVG chart scaling', () => {
  it('maps the domain onto the range, inverted for the y axis', () => {
    const x = linearScale(0, 10, 64, 624);
    expect(x(0)).toBe(64);
    expect(x(5)).toBe(344);
    expect(x(10)).toBe(624);
    const y = linearScale(0, 100, 236, 40);
    expect(y(0)).toBe(236);
    expect(y(100)).toBe(40);
    expect(linearScale(3, 3, 0, 10)(3)).toBe(5); // one x value: the middle
  });

  it.each([
    [0, 10, 5, [0, 2, 4, 6, 8, 10]],
    [0, 2800, 5, [0, 500, 1000, 1500, 2000, 2500]],
    [1, 5, 8, [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]],
    [0, 0.3, 5, [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]],
  ])('ticks over [%d, %d] (about %d) are round', (min, max, target, expected) => {
    expect(niceTicks(min, max, target)).toEqual(expected);
  });

  it('the y axis tops out on a tick at or above the largest value', () => {
    expect(niceMax(2798)).toBe(3000);
    expect(niceMax(1000)).toBe(1000);
    expect(niceMax(0)).toBe(1);
    expect(niceMax(NaN)).toBe(1);
  });

  it('draws one line per series, skips NaN points, escapes text', () => {
    const svg = lineChart({
      title: 'p50 <&> p99',
      xLabel: 's',
      yLabel: 'ms',
      series: [
        { name: 'p50', points: [[1, 10], [2, NaN], [3, 30]] },
        { name: 'p99', points: [[1, 100], [2, 200], [3, 300]] },
      ],
    });
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('p50 &#60;&#38;&#62; p99');
    expect(svg).not.toContain('NaN');
    // p99's top point (300) sits on the top of the plot (y = margin 40).
    expect(svg).toContain('624.0,40.0');
  });

  it('an empty chart is still a valid SVG', () => {
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(escapeXml(`a"b'c`)).toBe('a&#34;b&#39;c');
  });
});
