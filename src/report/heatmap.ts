// The per-layer telemetry as heat maps (rows × epochs, stage boundaries marked): gradient norm and weight
// movement on one log colour scale (white → dark blue). A row per block, and every layer in a map that
// opens below it, so a 150-layer model stays readable. Frozen cells are grey; a frozen layer that moved is
// the one alarm, drawn apart from the scale (a red ring), never a colour the scale also uses.
import type { RunEvent } from '../core/events.js';
import { commonParent, pathBlocks } from '../core/blocks.js';
import { CHAR_W, esc } from './markup.js';

type Telemetry = Extract<RunEvent, { type: 'layer-telemetry' }>;
type LayerRow = Telemetry['layers'][number];

/** White → dark blue over [lo, hi] in log10. */
function colour(v: number, lo: number, hi: number): string {
  const t = hi > lo ? Math.min(1, Math.max(0, (Math.log10(v) - lo) / (hi - lo))) : 0.5;
  const mix = (a: number, b: number) => (a + (b - a) * t).toFixed(0);
  return `rgb(${mix(247, 8)},${mix(251, 48)},${mix(255, 107)})`;
}

/** One row of a map: a label and, per epoch, the layers it covers. */
interface MapRow {
  label: string;
  paths: string[];
}

interface Cell {
  trainable: boolean;
  value?: number;
  moved: number;
}

/** A row's cell at one epoch: trainable if any layer is; gradient norms add in squares, movement takes the largest. */
function cellOf(layers: LayerRow[], metric: 'grad' | 'change'): Cell | undefined {
  if (layers.length === 0) return undefined;
  const on = layers.filter((l) => l.trainable);
  const moved = Math.max(0, ...layers.filter((l) => !l.trainable).map((l) => l.change));
  const values = on.map((l) => (metric === 'grad' ? l.gradNorm : l.change)).filter((v): v is number => v !== undefined);
  if (on.length === 0) return { trainable: false, moved };
  const value = metric === 'grad' ? Math.sqrt(values.reduce((a, v) => a + v * v, 0)) : Math.max(0, ...values);
  return { trainable: true, value, moved };
}

function heatmap(title: string, epochs: Telemetry[], rows: MapRow[], metric: 'grad' | 'change'): string {
  const byPath = epochs.map((e) => new Map(e.layers.map((l) => [l.path, l])));
  const grid = rows.map((r) =>
    byPath.map((at) =>
      cellOf(
        r.paths.flatMap((p) => at.get(p) ?? []),
        metric,
      ),
    ),
  );
  const values = grid.flat().flatMap((c) => (c?.trainable && c.value !== undefined && c.value > 0 ? [c.value] : []));
  const lo = values.length ? Math.log10(Math.min(...values)) : 0;
  const hi = values.length ? Math.log10(Math.max(...values)) : 1;
  const cell = { w: Math.max(8, Math.min(28, 600 / epochs.length)), h: 14 };
  const left = 10 + CHAR_W * Math.max(8, ...rows.map((r) => r.label.length));
  const top = 40;
  const rects = grid.flatMap((row, y) =>
    row.map((c, x) => {
      if (!c) return '';
      const fill = !c.trainable ? '#dcdcdc' : c.value !== undefined && c.value > 0 ? colour(c.value, lo, hi) : '#fff';
      const at = `x="${left + x * cell.w}" y="${top + y * cell.h}" width="${cell.w}" height="${cell.h}"`;
      const what = c.trainable ? (c.value?.toExponential(2) ?? '–') : 'frozen';
      const tip = `${rows[y]!.label}, epoch ${epochs[x]!.epoch}: ${what}${c.moved > 0 ? `; a frozen layer moved by ${c.moved.toExponential(2)}` : ''}`;
      const ring = c.moved > 0 ? `<rect class="moved" ${at} fill="none" stroke="#e00" stroke-width="2"/>` : '';
      return `<rect ${at} fill="${fill}"><title>${esc(tip)}</title></rect>${ring}`;
    }),
  );
  const boundaries = epochs
    .map((e, x) => (x > 0 && e.stageIndex !== epochs[x - 1]!.stageIndex ? x : -1))
    .filter((x) => x > 0)
    .map(
      (x) =>
        `<line x1="${left + x * cell.w}" x2="${left + x * cell.w}" y1="${top - 6}" y2="${top + rows.length * cell.h}" stroke="#000" stroke-width="2"/>`,
    );
  const labels = rows.map(
    (r, y) =>
      `<text class="row-label" x="${left - 4}" y="${top + y * cell.h + cell.h - 3}" font-size="11" text-anchor="end">${esc(r.label)}</text>`,
  );
  const every = Math.ceil(epochs.length / 20);
  const ticks = epochs.map((e, x) =>
    x % every === 0
      ? `<text x="${left + x * cell.w + cell.w / 2}" y="${top - 8}" font-size="10" text-anchor="middle">${e.epoch}</text>`
      : '',
  );
  const width = left + epochs.length * cell.w + 10;
  const height = top + rows.length * cell.h + 6;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" class="heatmap" data-rows="${rows.length}" font-family="sans-serif"><text x="4" y="14" font-size="13" font-weight="bold">${esc(title)}</text>${rects.join('')}${boundaries.join('')}${labels.join('')}${ticks.join('')}</svg>`;
  const scale = `log scale: 1e${lo.toFixed(1)} white → 1e${hi.toFixed(1)} dark blue; grey: frozen; red ring: a frozen layer moved`;
  return `<div class="heat">${svg}<p class="caption">${esc(scale)}</p></div>`;
}

/** A block's label: its name without the path its blocks share (sequential_1/model1/). */
function shortLabels(rows: MapRow[]): MapRow[] {
  const p = commonParent(rows.filter((r) => r.label !== 'head').map((r) => r.label));
  return rows.map((r) => ({ ...r, label: r.label.startsWith(p) ? r.label.slice(p.length) : r.label }));
}

/** Both heat maps by block, each with its per-layer map behind a <details>; '' without telemetry. */
export function telemetrySection(events: readonly RunEvent[]): string {
  const epochs = events.filter((e): e is Telemetry => e.type === 'layer-telemetry');
  if (epochs.length === 0) return '';
  const paths = [...new Set(epochs.flatMap((e) => e.layers.map((l) => l.path)))];
  const blocks = shortLabels(pathBlocks(paths).map((b) => ({ label: b.name, paths: b.paths })));
  const layers = paths.map((p) => ({ label: p, paths: [p] }));
  const moved = epochs.flatMap((e) =>
    e.layers.filter((l) => !l.trainable && l.change > 0).map((l) => `${l.path} (epoch ${e.epoch})`),
  );
  const pair = (title: string, metric: 'grad' | 'change') =>
    `<div>${heatmap(`${title}, by block`, epochs, blocks, metric)}<details><summary>every layer (${layers.length})</summary>${heatmap(title, epochs, layers, metric)}</details></div>`;
  return `<h2>Per-layer telemetry</h2>
<p>Every epoch: each trainable layer's gradient norm (mean over the epoch's steps) and how far its weights moved since its stage began (‖Δw‖/‖w‖); a block's row is the root of its layers' squared norms, and the largest movement among them. Frozen layers must not move: ${moved.length ? `<b class="warn">moved: ${esc(moved.slice(0, 8).join(', '))}</b>` : 'none did (largest change 0)'}. Black lines: stage boundaries.</p>
<div class="heats">
${pair('gradient norm', 'grad')}
${pair('weight movement ‖Δw‖/‖w‖ since the stage began', 'change')}
</div>`;
}
