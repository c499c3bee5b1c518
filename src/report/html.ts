// The run report: one self-contained HTML file (inline SVG, no scripts, no network) drawn from the run's
// events. Pure: events in, strings out; `freezeflow report` and `train` do the file IO.
import { telemetrySection } from './heatmap.js';
import { lrFindChart } from './lr-find.js';
import { backendLabel, type RunEvent } from '../core/events.js';
import type { RunSummary } from '../core/summary.js';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

export const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
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

/** One line chart as an SVG element; `log` uses a log10 y axis. Data attributes let tests count points. */
export function lineChart(
  id: string,
  title: string,
  series: readonly Series[],
  markers: readonly Marker[],
  opts: { log?: boolean; width?: number; height?: number; xLabel?: string; xTick?: (x: number) => string } = {},
): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 260;
  const m = { l: 64, r: 16, t: 28, b: 36 };
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!opts.log || y > 0));
  const xs = [...all.map(([x]) => x), ...markers.map((k) => k.x)];
  const x0 = Math.min(...xs, 0.5);
  const x1 = Math.max(...xs, x0 + 1);
  const tf = (y: number) => (opts.log ? Math.log10(y) : y);
  let y0 = Math.min(...all.map(([, y]) => tf(y)));
  let y1 = Math.max(...all.map(([, y]) => tf(y)));
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (y1 - y0 < 1e-12) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((tf(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${id}" data-chart="${id}" data-points="${all.length}" data-markers="${markers.length}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = y0 + ((y1 - y0) * k) / 4;
    const y = H - m.b - ((H - m.t - m.b) * k) / 4;
    const label = opts.log ? fmtNum(10 ** v) : fmtNum(v);
    out.push(`<line x1="${m.l - 4}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${label}</text>`);
  }
  const first = Math.ceil(x0);
  const stepX = Math.max(1, Math.ceil((Math.floor(x1) - first) / 12));
  for (let x = first; x <= x1; x += stepX)
    out.push(`<text x="${px(x)}" y="${H - m.b + 14}" text-anchor="middle">${esc(opts.xTick?.(x) ?? String(x))}</text>`);
  out.push(`<text x="${(W + m.l) / 2}" y="${H - 4}" text-anchor="middle">${esc(opts.xLabel ?? 'epoch')}</text>`);
  for (const k of markers) {
    const color = k.kind === 'stage' ? '#888' : k.kind === 'guard' ? '#d62728' : '#ff7f0e';
    out.push(
      `<line class="${k.kind}-marker" data-label="${esc(k.label)}" x1="${px(k.x)}" y1="${m.t}" x2="${px(k.x)}" y2="${H - m.b}" stroke="${color}" stroke-dasharray="4 3"/>`,
      `<text x="${px(k.x) + 3}" y="${m.t + 10}" fill="${color}">${esc(k.label)}</text>`,
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
    out.push(
      `<rect x="${W - m.r - 170}" y="${m.t + 4 + i * 14}" width="10" height="3" fill="${color}"/>`,
      `<text x="${W - m.r - 156}" y="${m.t + 9 + i * 14}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

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
    ),
    lr: lineChart('lr', 'Learning rate per lr group (log scale, as applied)', lrSeries, markers, { log: true }),
    params: lineChart(
      'params',
      'Trainable parameters',
      [{ name: 'trainable params', points: pts((e) => e.trainableParams), step: true }],
      markers,
    ),
  };
}

const table = (head: string[], rows: (string | number)[][]) =>
  `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`)
    .join('')}</table>`;

/** The whole report page. */
export function renderReport(events: readonly RunEvent[], summary: Partial<RunSummary> = {}): string {
  const start = events.find((e): e is Ev<'run-start'> => e.type === 'run-start');
  const end = [...events].reverse().find((e): e is Ev<'run-end'> => e.type === 'run-end');
  const charts = runCharts(events);
  const starts = stageStarts(events);
  const reports = events.filter((e): e is Ev<'gradient-report'> => e.type === 'gradient-report');
  const actions = events.filter((e) => e.type === 'guard' || e.type === 'early-stop' || e.type === 'warning');
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
    s.trainableParams.toLocaleString('en-US'),
    s.groups
      .map(
        (g) =>
          `${s.groups.length > 1 && g.id ? `${g.id} ` : ''}${g.lr.toExponential(1)}${g.kept ? ' (state kept)' : ''}`,
      )
      .join(', '),
    s.trainable.length > 12
      ? `${s.trainable.slice(0, 12).join(', ')} … (${s.trainable.length})`
      : s.trainable.join(', '),
    s.skippedUnfreeze ? 'unfreeze skipped (guard)' : '',
  ]);
  const gradBlocks = reports.map((r) => {
    const top = [...r.layers].sort((a, b) => b.norm - a.norm);
    return `<h3>${esc(r.stage)} (step ${r.step})</h3>${table(
      ['layer', 'gradient norm'],
      top.map((l) => [l.path, Number.isFinite(l.norm) ? l.norm.toExponential(2) : 'not finite']),
    )}${r.warnings.map((w) => `<p class="warn">⚠ ${esc(w)}</p>`).join('')}`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>freezeflow report: ${esc(header[0]![1])}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;max-width:1500px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px}
th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:12px}.warn{color:#b00}
</style></head><body>
<h1>freezeflow run: ${esc(header[0]![1])}</h1>
${table(['', ''], header)}
<div class="charts">
${charts.loss}
${charts.accuracy}
${charts.lr}
${charts.params}
</div>
<h2>Stages</h2>
${table(['stage', 'epochs', 'trainable params', 'lr groups', 'trainable layers', ''], stageRows)}
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
              : a.type === 'warning'
                ? ['warning', a.message]
                : ['', ''],
        ),
      )
    : '<p>none</p>'
}
${lrFinds.length ? `<h2>lr range tests</h2><div class="charts">${lrFinds.map(lrFindChart).join('\n')}</div>` : ''}
${telemetrySection(events)}
<h2>Gradient reports</h2>
${gradBlocks.join('\n')}
</body></html>
`;
}

/** The charts stacked into one SVG (for `report --png`). */
export function chartsSvg(events: readonly RunEvent[]): string {
  const c = runCharts(events);
  const parts = [c.loss, c.accuracy, c.lr, c.params];
  const body = parts.map((svg, i) => `<g transform="translate(0, ${i * 270})">${svg}</g>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="${parts.length * 270}">${body}</svg>`;
}
