/**
 * Small line charts as SVG text, with no dependency: axes with ticks and labels, one polyline with
 * point markers per series, a legend. A chart whose x values span a factor of 20 or more gets a
 * logarithmic x axis (Release counts 100 ... 10,000). Pure functions: data in, text out.
 */

/** Series is one line of a chart. */
export interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** ChartSpec describes one chart. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

/** CHART_WIDTH and CHART_HEIGHT are the size of one chart, in SVG user units. */
export const CHART_WIDTH = 460;
export const CHART_HEIGHT = 300;

const MARGIN = { left: 62, right: 16, top: 34, bottom: 46 };
const LEGEND_ROW = 15;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** escapeXml escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** niceStep returns a round step (1, 2 or 5 times a power of ten) close to span / count. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0)) return 1;
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const e = raw / pow;
  return (e >= 7.5 ? 10 : e >= 3.5 ? 5 : e >= 1.5 ? 2 : 1) * pow;
}

/** linearTicks returns ticks from 0 (or below the data) to at least max, about `count` of them. */
export function linearTicks(min: number, max: number, count = 5): number[] {
  const lo = Math.min(0, min);
  const hi = max > lo ? max : lo + 1;
  const step = niceStep(hi - lo, count);
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t < hi + step - step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** logTicks returns 1, 2, 5 times powers of ten covering [min, max] (min > 0). */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** p;
      if (t >= min / 1.0001 && t <= max * 1.0001) ticks.push(t);
    }
  }
  return ticks.length >= 2 ? ticks : [min, max];
}

/** tickLabel renders a tick value short: 1500 -> "1.5k", 0.25 -> "0.25". */
export function tickLabel(v: number): string {
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/** lineChart renders one chart as an SVG group placed at (x, y). */
export function lineChart(spec: ChartSpec, x = 0, y = 0): string {
  // The legend has a row per series between the title and the plot, so it never hides a line.
  const top = MARGIN.top + LEGEND_ROW * spec.series.length;
  const w = CHART_WIDTH - MARGIN.left - MARGIN.right;
  const h = CHART_HEIGHT - top - MARGIN.bottom;
  const points = spec.series
    .flatMap((s) => s.points)
    .filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
  const out: string[] = [
    `<g transform="translate(${x},${y})">`,
    `<rect width="${CHART_WIDTH}" height="${CHART_HEIGHT}" fill="white" stroke="#ccc"/>`,
    `<text x="${CHART_WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ];
  if (points.length === 0) {
    out.push(
      `<text x="${CHART_WIDTH / 2}" y="${CHART_HEIGHT / 2}" text-anchor="middle" font-size="12" fill="#888">no data</text>`,
      '</g>',
    );
    return out.join('\n');
  }
  const xs = points.map(([px]) => px);
  const ys = points.map(([, py]) => py);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const log = xMin > 0 && xMax / xMin >= 20;
  const xTicks = log ? logTicks(xMin, xMax) : linearTicks(Math.min(0, xMin), xMax);
  const yTicks = linearTicks(Math.min(0, ...ys), Math.max(...ys) * 1.05);
  const x0 = log ? Math.min(xMin, xTicks[0] ?? xMin) : (xTicks[0] ?? 0);
  const x1 = log ? Math.max(xMax, xTicks[xTicks.length - 1] ?? xMax) : (xTicks[xTicks.length - 1] ?? 1);
  const y0 = yTicks[0] ?? 0;
  const y1 = yTicks[yTicks.length - 1] ?? 1;
  const fx = (v: number) => {
    const t = log
      ? (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0) || 1)
      : (v - x0) / (x1 - x0 || 1);
    return MARGIN.left + (x0 === x1 ? 0.5 : t) * w;
  };
  const fy = (v: number) => top + h - ((v - y0) / (y1 - y0 || 1)) * h;
  const r = (v: number) => v.toFixed(1);
  // Grid and axes.
  for (const t of yTicks) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + w}" y1="${r(fy(t))}" y2="${r(fy(t))}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 6}" y="${r(fy(t) + 4)}" text-anchor="end" font-size="11">${tickLabel(t)}</text>`,
    );
  }
  for (const t of xTicks) {
    out.push(
      `<line x1="${r(fx(t))}" x2="${r(fx(t))}" y1="${top + h}" y2="${top + h + 5}" stroke="#333"/>`,
      `<text x="${r(fx(t))}" y="${top + h + 18}" text-anchor="middle" font-size="11">${tickLabel(t)}</text>`,
    );
  }
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${top}" y2="${top + h}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + w}" y1="${top + h}" y2="${top + h}" stroke="#333"/>`,
    `<text x="${MARGIN.left + w / 2}" y="${CHART_HEIGHT - 8}" text-anchor="middle" font-size="12">${escapeXml(spec.xLabel)}${log ? ' (log scale)' : ''}</text>`,
    `<text transform="translate(14,${top + h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.yLabel)}</text>`,
  );
  // Series, then the legend on top of them.
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
    const pts = s.points
      .filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py))
      .sort(([a], [b]) => a - b);
    if (pts.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([px, py]) => `${r(fx(px))},${r(fy(py))}`).join(' ')}"/>`,
      );
    }
    for (const [px, py] of pts)
      out.push(`<circle cx="${r(fx(px))}" cy="${r(fy(py))}" r="3" fill="${color}"/>`);
  });
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
    const ly = MARGIN.top + 2 + i * LEGEND_ROW;
    out.push(
      `<rect x="${MARGIN.left + 8}" y="${ly - 8}" width="12" height="3" fill="${color}"/>`,
      `<text x="${MARGIN.left + 24}" y="${ly - 3}" font-size="11">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</g>');
  return out.join('\n');
}

/** chartsSvg renders charts in a grid of `columns` columns as one SVG document, under a caption. */
export function chartsSvg(charts: ChartSpec[], caption: string, columns = 2): string {
  const cols = Math.max(1, Math.min(columns, charts.length));
  const rows = Math.ceil(charts.length / cols);
  const top = 28;
  const width = cols * CHART_WIDTH + (cols - 1) * 10;
  const height = top + rows * CHART_HEIGHT + (rows - 1) * 10;
  const groups = charts.map((c, i) =>
    lineChart(c, (i % cols) * (CHART_WIDTH + 10), top + Math.floor(i / cols) * (CHART_HEIGHT + 10)),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="4" y="18" font-size="12" fill="#444">${escapeXml(caption)}</text>`,
    ...groups,
    '</svg>',
    '',
  ].join('\n');
}
