// The run report: one self-contained HTML file (inline SVG, no scripts, no network) drawn from the run's
// events. Pure: events in, strings out; `freezeflow report` and `train` do the file IO.
import { telemetrySection } from './heatmap.js';
import { lrFindChart } from './lr-find.js';
import { backendLabel, type RunEvent } from '../core/events.js';
import type { RunSummary } from '../core/summary.js';
import { fmtCount } from '../core/format.js';
import { pathBlocks } from '../core/blocks.js';
import { autoSection } from './auto.js';
import { esc, table } from './markup.js';
import { lineChart, type Marker, type Series } from './chart.js';

export { esc };

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

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

/** A group's lr in an epoch-end event: by id; runs written before epoch-end had ids, by position. */
function groupLr(e: Ev<'epoch-end'>, id: string | undefined, k: number): number {
  return e.groups?.find((g) => g.id === id)?.lr ?? e.groupLrs?.[k] ?? e.lr;
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
        points: own.map((e) => [e.epoch, groupLr(e, g.id, k)]),
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

/** The key/value table at the top: schedule, backend, data, status, epochs, best, duration. */
function headerRows(events: readonly RunEvent[], summary: Partial<RunSummary>): [string, string][] {
  const start = events.find((e): e is Ev<'run-start'> => e.type === 'run-start');
  const end = [...events].reverse().find((e): e is Ev<'run-end'> => e.type === 'run-end');
  const skipped = start?.skippedBackends.length
    ? ` (skipped: ${start.skippedBackends.map((s) => s.name).join(', ')})`
    : '';
  return [
    ['schedule', summary.schedule ?? start?.name ?? ''],
    ['backend', start ? `${backendLabel(start)}${skipped}` : ''],
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
}

/** A row per stage: epochs, trainable params, lr groups, trainable blocks, a note. */
function stageRows(starts: readonly Ev<'stage-start'>[]): string[][] {
  return starts.map((s) => [
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
}

function cacheSection(events: readonly RunEvent[], starts: readonly Ev<'stage-start'>[]): string {
  const caches = events.filter((e): e is Ev<'feature-cache'> => e.type === 'feature-cache');
  if (caches.length === 0) return '';
  const rows = caches.map((c) => [
    starts.find((s) => s.stageIndex === c.stageIndex)?.stage ?? c.stageIndex,
    c.used ? 'yes' : 'no',
    c.used ? `outputs of ${c.at} (${c.featureShape?.join('×')}), ${c.seconds?.toFixed(1)} s` : (c.reason ?? ''),
  ]);
  return `<h2>Feature cache</h2>${table(['stage', 'used', 'detail'], rows)}`;
}

/** Guard, early stops, restoreBest and warnings, a row each. */
function actionRows(events: readonly RunEvent[]): string[][] {
  return events.flatMap((a): string[][] => {
    if (a.type === 'guard') return [[`guard (${a.action}) at epoch ${a.epoch}`, a.reason]];
    if (a.type === 'early-stop')
      return [
        [
          `stage ${a.stage} ended at epoch ${a.epoch}`,
          `${a.reason}${a.unusedEpochs ? `; ${a.unusedEpochs} unused epochs, later stages moved up` : ''}`,
        ],
      ];
    if (a.type === 'restore-best')
      return [[`stage ${a.stage} ended at epoch ${a.epoch}`, `restoreBest: back to epoch ${a.bestEpoch}'s weights`]];
    return a.type === 'warning' ? [['warning', a.message]] : [];
  });
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#f4f4f4}.warn{color:#b00}
.charts,.heats{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:12px}
.charts svg.chart{width:100%;height:auto}.heat{overflow-x:auto}.caption{font-size:12px;color:#555;margin:2px 0 12px}
summary{cursor:pointer}.n{color:#888}table.inner{margin:4px 0 0 12px}table.inner td{border:none;padding:1px 8px}
td.sub{font-family:ui-monospace,monospace;font-size:12px}`;

/** The whole report page. */
export function renderReport(events: readonly RunEvent[], summary: Partial<RunSummary> = {}): string {
  const charts = runCharts(events);
  const starts = stageStarts(events);
  const header = headerRows(events, summary);
  const actions = actionRows(events);
  const lrFinds = events.filter((e): e is Ev<'lr-find'> => e.type === 'lr-find');
  const gradBlocks = events
    .filter((e): e is Ev<'gradient-report'> => e.type === 'gradient-report')
    .map(
      (r) =>
        `<h3>${esc(r.stage)} (step ${r.step})</h3>${gradientTable(r)}${r.warnings.map((w) => `<p class="warn">⚠ ${esc(w)}</p>`).join('')}`,
    );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>freezeflow report: ${esc(header[0]![1])}</title>
<style>
${STYLE}
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
${table(['stage', 'epochs', 'trainable params', 'lr groups', 'trainable blocks (layers)', 'note'], stageRows(starts))}
${cacheSection(events, starts)}
<h2>Guard, early stops and warnings</h2>
${actions.length ? table(['event', 'detail'], actions) : '<p>none</p>'}
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
