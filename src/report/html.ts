// The run report: one self-contained HTML file (inline SVG, no scripts, no network) drawn from the run's
// events. Pure: events in, strings out; `freezeflow report` and `train` do the file IO.
import { telemetrySection } from './heatmap.js';
import { lrFindChart } from './lr-find.js';
import { backendLabel, type RunEvent } from '../core/events.js';
import type { RunSummary } from '../core/summary.js';
import { fmtCount } from '../core/format.js';
import { pathBlocks } from '../core/blocks.js';
import { autoSection } from './auto.js';
import { CHAR_W, esc, table } from './markup.js';

export { esc };

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

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
  // a label that would run into the one before it (stages a few epochs apart) goes a line lower; near the
  // right edge a label is written leftwards of its line, inside the plot
  const ends: number[] = [];
  for (const k of [...markers].sort((a, b) => a.x - b.x)) {
    const color = k.kind === 'stage' ? '#888' : k.kind === 'guard' ? '#d62728' : '#ff7f0e';
    const width = k.label.length * CHAR_W;
    const leftwards = px(k.x) + 3 + width > W - m.r;
    const [from, to] = leftwards ? [px(k.x) - 3 - width, px(k.x) - 3] : [px(k.x) + 3, px(k.x) + 3 + width];
    let row = ends.findIndex((end) => end + 8 < from);
    if (row < 0) row = ends.push(0) - 1;
    ends[row] = to;
    out.push(
      `<line class="${k.kind}-marker" data-label="${esc(k.label)}" x1="${px(k.x)}" y1="${m.t}" x2="${px(k.x)}" y2="${H - m.b}" stroke="${color}" stroke-dasharray="4 3"/>`,
      `<text class="marker-label" x="${leftwards ? to : from}" y="${m.t + 10 + row * 12}" fill="${color}" stroke="white" stroke-width="3" paint-order="stroke"${leftwards ? ' text-anchor="end"' : ''}>${esc(k.label)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!opts.log || y > 0));
    if (pts.length === 0) return;
    let d = `M${px(pts[0]![0])},${py(pts[0]![1])}`;
    for (let k = 1; k < pts.length; k++)
      d += s.step ? `H${px(pts[k]![0])}V${py(pts[k]![1])}` : `L${px(pts[k]![0])},${py(pts[k]![1])}`;
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    for (const [x, y] of pts) out.push(`<circle class="pt" cx="${px(x)}" cy="${py(y)}" r="2.5" fill="${color}"/>`);
  });
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

const percent = (v: number) => `${+(v * 100).toPrecision(3)} %`;

export interface ReportCharts {
  loss: string;
  accuracy: string;
  lr: string;
  params: string;
}

/** The four charts of a run (stage boundaries, guard actions and early stops marked). */
/** Stage starts, one per stage (a resumed run logs its stage again: the later one wins). */
function stageStarts(events: readonly RunEvent[]): Ev<'stage-start'>[] {
  const m = new Map<number, Ev<'stage-start'>>();
  for (const e of events) if (e.type === 'stage-start') m.set(e.stageIndex, e);
  return [...m.values()].sort((a, b) => a.stageIndex - b.stageIndex);
}

/** Epoch ends, one per epoch (the later one wins, for a resumed epoch). */
function epochEnds(events: readonly RunEvent[]): Ev<'epoch-end'>[] {
  const m = new Map<number, Ev<'epoch-end'>>();
  for (const e of events) if (e.type === 'epoch-end') m.set(e.epoch, e);
  return [...m.values()].sort((a, b) => a.epoch - b.epoch);
}

export function runCharts(events: readonly RunEvent[]): ReportCharts {
  const epochs = epochEnds(events);
  const starts = stageStarts(events);
  const markers: Marker[] = [
    ...starts.map((s) => ({ x: Math.max(s.firstEpoch, 1) - 0.5, label: s.stage, kind: 'stage' as const })),
    ...events.flatMap((e): Marker[] =>
      e.type === 'guard'
        ? [{ x: e.epoch, label: `guard: ${e.action}`, kind: 'guard' as const }]
        : e.type === 'early-stop'
          ? [{ x: e.epoch, label: `${e.stage} ends (plateau)`, kind: 'early-stop' as const }]
          : [],
    ),
  ];
  const pts = (f: (e: Ev<'epoch-end'>) => number): [number, number][] => epochs.map((e) => [e.epoch, f(e)]);
  // one lr series per (stage, group): each stage has its own optimizers
  const lrSeries: Series[] = [];
  for (const s of starts) {
    const own = epochs.filter((e) => e.stageIndex === s.stageIndex);
    s.groups.forEach((g, k) =>
      lrSeries.push({
        // runs written before groups had ids name them by position
        name: `${s.stage}${s.groups.length > 1 ? ` ${g.id ?? `group ${k + 1}`} (${g.variables} vars)` : ''}`,
        points: own.map((e) => [e.epoch, e.groupLrs?.[k] ?? e.lr]),
      }),
    );
  }
  return {
    loss: lineChart(
      'loss',
      'Loss',
      [
        { name: 'train loss', points: pts((e) => e.loss) },
        { name: 'val loss', points: pts((e) => e.valLoss) },
      ],
      markers,
    ),
    accuracy: lineChart(
      'accuracy',
      'Accuracy',
      [
        { name: 'train acc', points: pts((e) => e.acc) },
        { name: 'val acc', points: pts((e) => e.valAcc) },
      ],
      markers,
      { yTick: percent },
    ),
    lr: lineChart('lr', 'Learning rate per lr group (log scale, as applied)', lrSeries, markers, { log: true }),
    params: lineChart(
      'params',
      'Trainable parameters',
      [{ name: 'trainable params', points: pts((e) => e.trainableParams), step: true }],
      markers,
      { yTick: fmtCount },
    ),
  };
}

const fmtNorm = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : 'not finite');

/**
 * One gradient report as a row per block (its norm: the square root of its layers' squared norms, so the
 * rows compare as the layers do), each opening into its layers, largest first; blocks in model order.
 */
function gradientTable(r: Ev<'gradient-report'>): string {
  const norm = new Map(r.layers.map((l) => [l.path, l.norm]));
  const rows = pathBlocks(r.layers.map((l) => l.path)).map((b) => {
    const total = Math.sqrt(b.paths.reduce((a, p) => a + norm.get(p)! ** 2, 0));
    const inner = [...b.paths].sort((x, y) => norm.get(y)! - norm.get(x)!);
    const detail = inner.map((p) => `<tr><td class="sub">${esc(p)}</td><td>${fmtNorm(norm.get(p)!)}</td></tr>`);
    return `<tbody class="block"><tr><td><details><summary>${esc(b.name)} <span class="n">(${b.paths.length})</span></summary><table class="inner">${detail.join('')}</table></details></td><td>${fmtNorm(total)}</td></tr></tbody>`;
  });
  return `<table class="grad"><tr><th>block (click for its layers)</th><th>gradient norm</th></tr>${rows.join('')}</table>`;
}

/** The whole report page. */
export function renderReport(events: readonly RunEvent[], summary: Partial<RunSummary> = {}): string {
  const start = events.find((e): e is Ev<'run-start'> => e.type === 'run-start');
  const end = [...events].reverse().find((e): e is Ev<'run-end'> => e.type === 'run-end');
  const charts = runCharts(events);
  const starts = stageStarts(events);
  const reports = events.filter((e): e is Ev<'gradient-report'> => e.type === 'gradient-report');
  const actions = events.filter(
    (e) => e.type === 'guard' || e.type === 'early-stop' || e.type === 'restore-best' || e.type === 'warning',
  );
  const caches = events.filter((e): e is Ev<'feature-cache'> => e.type === 'feature-cache');
  const lrFinds = events.filter((e): e is Ev<'lr-find'> => e.type === 'lr-find');
  const header: [string, string][] = [
    ['schedule', summary.schedule ?? start?.name ?? ''],
    [
      'backend',
      start
        ? `${backendLabel(start)}${start.skippedBackends.length ? ` (skipped: ${start.skippedBackends.map((s) => s.name).join(', ')})` : ''}`
        : '',
    ],
    [
      'data',
      start ? `${start.trainSamples} train / ${start.valSamples} validation, classes ${start.classes.join(', ')}` : '',
    ],
    ['status', end ? `${end.status}${end.error ? `: ${end.error}` : ''}` : 'running or interrupted'],
    ['epochs', end ? String(end.epochs) : ''],
    [
      'best',
      // NaN and Infinity come back from events.ndjson as null: a run that failed before its first epoch
      end && end.bestEpoch > 0 && Number.isFinite(end.bestValLoss)
        ? `val loss ${end.bestValLoss.toFixed(4)}, val acc ${(end.bestValAcc * 100).toFixed(2)} % (epoch ${end.bestEpoch})`
        : 'no epoch finished',
    ],
    ['duration', end ? `${end.seconds.toFixed(1)} s` : ''],
  ];
  const stageRows = starts.map((s) => [
    s.stage,
    `${s.firstEpoch}–${s.lastEpoch}`,
    fmtCount(s.trainableParams),
    s.groups
      .map(
        (g) =>
          `${s.groups.length > 1 && g.id ? `${g.id} ` : ''}${g.lr.toExponential(1)}${g.kept ? ' (state kept)' : ''}`,
      )
      .join(', '),
    // by block, in model order: 'layer3 (10), head (3)' instead of a 150-name list
    pathBlocks(s.trainable)
      .map((b) => (b.paths.length > 1 ? `${b.name} (${b.paths.length})` : b.name))
      .join(', '),
    s.skippedUnfreeze ? 'unfreeze skipped (guard)' : '',
  ]);
  const gradBlocks = reports.map(
    (r) =>
      `<h3>${esc(r.stage)} (step ${r.step})</h3>${gradientTable(r)}${r.warnings.map((w) => `<p class="warn">⚠ ${esc(w)}</p>`).join('')}`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>freezeflow report: ${esc(header[0]![1])}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#f4f4f4}.warn{color:#b00}
.charts,.heats{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:12px}
.charts svg.chart{width:100%;height:auto}.heat{overflow-x:auto}.caption{font-size:12px;color:#555;margin:2px 0 12px}
summary{cursor:pointer}.n{color:#888}table.inner{margin:4px 0 0 12px}table.inner td{border:none;padding:1px 8px}
td.sub{font-family:ui-monospace,monospace;font-size:12px}
</style></head><body>
<h1>freezeflow run: ${esc(header[0]![1])}</h1>
${table(null, header)}
<div class="charts">
${charts.loss}
${charts.accuracy}
${charts.lr}
${charts.params}
</div>
<h2>Stages</h2>
${table(['stage', 'epochs', 'trainable params', 'lr groups', 'trainable blocks (layers)', 'note'], stageRows)}
${
  caches.length
    ? `<h2>Feature cache</h2>${table(
        ['stage', 'used', 'detail'],
        caches.map((c) => [
          starts.find((s) => s.stageIndex === c.stageIndex)?.stage ?? c.stageIndex,
          c.used ? 'yes' : 'no',
          c.used ? `outputs of ${c.at} (${c.featureShape?.join('×')}), ${c.seconds?.toFixed(1)} s` : (c.reason ?? ''),
        ]),
      )}`
    : ''
}
<h2>Guard, early stops and warnings</h2>
${
  actions.length
    ? table(
        ['event', 'detail'],
        actions.map((a) =>
          a.type === 'guard'
            ? [`guard (${a.action}) at epoch ${a.epoch}`, a.reason]
            : a.type === 'early-stop'
              ? [
                  `stage ${a.stage} ended at epoch ${a.epoch}`,
                  `${a.reason}${a.unusedEpochs ? `; ${a.unusedEpochs} unused epochs, later stages moved up` : ''}`,
                ]
              : a.type === 'restore-best'
                ? [`stage ${a.stage} ended at epoch ${a.epoch}`, `restoreBest: back to epoch ${a.bestEpoch}'s weights`]
                : a.type === 'warning'
                  ? ['warning', a.message]
                  : ['', ''],
        ),
      )
    : '<p>none</p>'
}
${autoSection(events)}
${lrFinds.length ? `<h2>lr range tests</h2><div class="charts">${lrFinds.map(lrFindChart).join('\n')}</div>` : ''}
${telemetrySection(events)}
<h2>Gradient reports</h2>
${gradBlocks.join('\n')}
</body></html>
`;
}

/** The charts stacked into one SVG (for `report --png`), each at its own height. */
export function chartsSvg(events: readonly RunEvent[]): string {
  const c = runCharts(events);
  let y = 0;
  const body = [c.loss, c.accuracy, c.lr, c.params].map((svg) => {
    const at = y;
    y += Number(/ height="(\d+)"/.exec(svg)![1]);
    return `<g transform="translate(0, ${at})">${svg}</g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="${y}">${body.join('\n')}</svg>`;
}
