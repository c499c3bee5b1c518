// Line charts as inline SVG (no scripts): the loss, accuracy, lr and parameter charts of the report, the
// lr range test's curve and compare's charts. A leaf of report/: sections import it, it imports theirs not.
import { CHAR_W, esc } from './markup.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

export interface Series {
  name: string;
  points: [number, number][];
  /** Step curve (value holds until the next point). */
  step?: boolean;
}

export interface Marker {
  x: number;
  label: string;
  kind: 'stage' | 'guard' | 'early-stop';
}

const fmtNum = (v: number) =>
  v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2 ? v.toExponential(0) : String(+v.toPrecision(3));

/** Axis ticks at round numbers (1, 2 or 5 × 10^k apart) from at or below lo to at or above hi, about `n`. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  const raw = (hi - lo) / Math.max(1, n - 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((k) => k >= raw) ?? 10 * p;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.max(first + 1, Math.ceil(hi / step - 1e-9));
  return Array.from({ length: last - first + 1 }, (_, k) => +((first + k) * step).toPrecision(12));
}

/** Log-axis ticks (in log10 units): whole decades, with 2 and 5 between them when there are few. */
function logTicks(lo: number, hi: number): number[] {
  const decades = Math.max(1, Math.ceil(hi - 1e-9) - Math.floor(lo + 1e-9));
  const per = decades <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let d = Math.floor(lo + 1e-9); d <= Math.ceil(hi - 1e-9); d++) for (const k of per) out.push(d + Math.log10(k));
  const inside = out.filter((t) => t >= Math.floor(lo + 1e-9) && t <= Math.ceil(hi - 1e-9));
  return inside.length >= 2 ? inside : [Math.floor(lo), Math.floor(lo) + 1];
}

export interface ChartOptions {
  /** log10 y axis. */
  log?: boolean;
  width?: number;
  height?: number;
  xLabel?: string;
  xTick?: (x: number) => string;
  /** How y tick labels are written (default: 3 significant digits). */
  yTick?: (y: number) => string;
}

/** Width of one character of the charts' 11 px sans-serif text, for laying labels out before a browser does. */

/** The legend's entries in rows in the top margin, clear of the plot and its markers: each one's x and row. */
function legendEntries(series: readonly Series[], width: number): { name: string; x: number; row: number }[] {
  const out: { name: string; x: number; row: number }[] = [];
  let [x, row] = [0, 0];
  for (const s of series) {
    const w = 24 + s.name.length * CHAR_W;
    if (x + w > width && x > 0) [x, row] = [0, row + 1];
    out.push({ name: s.name, x, row });
    x += w;
  }
  return out;
}

type Frame = { l: number; r: number; t: number; b: number; W: number; H: number };

/**
 * Stage, guard and early-stop markers as dashed lines with labels. A label that would run into the one
 * before it (stages a few epochs apart) goes a line lower; near the right edge a label is written
 * leftwards of its line, inside the plot.
 */
function markerLines(markers: readonly Marker[], px: (x: number) => number, f: Frame): string[] {
  const out: string[] = [];
  const ends: number[] = [];
  for (const k of [...markers].sort((a, b) => a.x - b.x)) {
    const color = k.kind === 'stage' ? '#888' : k.kind === 'guard' ? '#d62728' : '#ff7f0e';
    const width = k.label.length * CHAR_W;
    const leftwards = px(k.x) + 3 + width > f.W - f.r;
    const [from, to] = leftwards ? [px(k.x) - 3 - width, px(k.x) - 3] : [px(k.x) + 3, px(k.x) + 3 + width];
    let row = ends.findIndex((end) => end + 8 < from);
    if (row < 0) row = ends.push(0) - 1;
    ends[row] = to;
    out.push(
      `<line class="${k.kind}-marker" data-label="${esc(k.label)}" x1="${px(k.x)}" y1="${f.t}" x2="${px(k.x)}" y2="${f.H - f.b}" stroke="${color}" stroke-dasharray="4 3"/>`,
      `<text class="marker-label" x="${leftwards ? to : from}" y="${f.t + 10 + row * 12}" fill="${color}" stroke="white" stroke-width="3" paint-order="stroke"${leftwards ? ' text-anchor="end"' : ''}>${esc(k.label)}</text>`,
    );
  }
  return out;
}

/** Each series as a path (steps or lines) with a dot per point; non-finite points (and ≤ 0 on log) left out. */
function seriesLines(
  series: readonly Series[],
  px: (x: number) => number,
  py: (y: number) => number,
  log: boolean,
): string[] {
  const out: string[] = [];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
    if (pts.length === 0) return;
    let d = `M${px(pts[0]![0])},${py(pts[0]![1])}`;
    for (let k = 1; k < pts.length; k++)
      d += s.step ? `H${px(pts[k]![0])}V${py(pts[k]![1])}` : `L${px(pts[k]![0])},${py(pts[k]![1])}`;
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    for (const [x, y] of pts) out.push(`<circle class="pt" cx="${px(x)}" cy="${py(y)}" r="2.5" fill="${color}"/>`);
  });
  return out;
}

/**
 * One line chart as an SVG element. Data attributes let tests count points; the SVG scales to its
 * container's width (viewBox), and the legend sits above the plot so stage markers never cover it.
 */
export function lineChart(
  id: string,
  title: string,
  series: readonly Series[],
  markers: readonly Marker[],
  opts: ChartOptions = {},
): string {
  const W = opts.width ?? 720;
  const m = { l: 64, r: 16, t: 28, b: 36 };
  const legend = legendEntries(series, W - m.l - m.r);
  const legendH = legend.length ? (legend.at(-1)!.row + 1) * 14 : 0;
  m.t += legendH;
  const H = (opts.height ?? 260) + legendH;
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!opts.log || y > 0));
  const xs = [...all.map(([x]) => x), ...markers.map((k) => k.x)];
  const x0 = Math.min(...xs, 0.5);
  const x1 = Math.max(...xs, x0 + 1);
  const tf = (y: number) => (opts.log ? Math.log10(y) : y);
  let lo = Math.min(...all.map(([, y]) => tf(y)));
  let hi = Math.max(...all.map(([, y]) => tf(y)));
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-12) [lo, hi] = [lo - 0.5, hi + 0.5];
  const ticks = opts.log ? logTicks(lo, hi) : niceTicks(lo, hi);
  const y0 = Math.min(ticks[0]!, lo);
  const y1 = Math.max(ticks.at(-1)!, hi);
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const pyT = (t: number) => H - m.b - ((t - y0) / (y1 - y0)) * (H - m.t - m.b);
  const py = (y: number) => pyT(tf(y));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${id}" data-chart="${id}" data-points="${all.length}" data-markers="${markers.length}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>`,
  ];
  const yLabel = opts.yTick ?? fmtNum;
  for (const t of ticks) {
    const y = pyT(t);
    const label = opts.log ? fmtNum(+(10 ** t).toPrecision(3)) : yLabel(t);
    out.push(`<line x1="${m.l - 4}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text class="y-tick" x="${m.l - 6}" y="${y + 4}" text-anchor="end">${esc(label)}</text>`);
  }
  const first = Math.ceil(x0);
  const stepX = Math.max(1, Math.ceil((Math.floor(x1) - first) / 12));
  for (let x = first; x <= x1; x += stepX)
    out.push(
      `<text class="x-tick" x="${px(x)}" y="${H - m.b + 14}" text-anchor="middle">${esc(opts.xTick?.(x) ?? String(x))}</text>`,
    );
  out.push(`<text x="${(W + m.l) / 2}" y="${H - 4}" text-anchor="middle">${esc(opts.xLabel ?? 'epoch')}</text>`);
  out.push(...markerLines(markers, px, { ...m, W, H }));
  out.push(...seriesLines(series, px, py, opts.log === true));
  legend.forEach(({ name, x, row }, k) => {
    const color = COLORS[k % COLORS.length]!;
    const y = 24 + row * 14;
    out.push(
      `<rect x="${m.l + x}" y="${y + 2}" width="12" height="3" fill="${color}"/>`,
      `<text class="legend" x="${m.l + x + 16}" y="${y + 7}">${esc(name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
