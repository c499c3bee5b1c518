// The per-layer telemetry as heat maps (layers × epochs, stage boundaries marked): gradient norm and
// weight movement of trainable layers on a log colour scale; frozen layers grey, or red if they moved.
import type { RunEvent } from '../core/events.js';
import { esc } from './html.js';

type Telemetry = Extract<RunEvent, { type: 'layer-telemetry' }>;

/** White → blue → dark red over [lo, hi] in log10. */
function colour(v: number, lo: number, hi: number): string {
  const t = hi > lo ? Math.min(1, Math.max(0, (Math.log10(v) - lo) / (hi - lo))) : 0.5;
  const [r, g, b] =
    t < 0.5
      ? [255 - 200 * t * 2, 255 - 130 * t * 2, 255 - 20 * t * 2]
      : [55 + 150 * (t - 0.5) * 2, 125 - 110 * (t - 0.5) * 2, 235 - 200 * (t - 0.5) * 2];
  return `rgb(${r.toFixed(0)},${g.toFixed(0)},${b.toFixed(0)})`;
}

function heatmap(
  title: string,
  rows: Telemetry[],
  value: (l: Telemetry['layers'][number]) => number | undefined,
): string {
  const layers = [...new Set(rows.flatMap((e) => e.layers.map((l) => l.path)))];
  const cell = { w: Math.max(8, Math.min(28, 600 / rows.length)), h: layers.length > 60 ? 6 : 12 };
  const left = 190;
  const top = 40;
  const values = rows
    .flatMap((e) => e.layers.filter((l) => l.trainable).map(value))
    .filter((v): v is number => v !== undefined && v > 0);
  const lo = values.length ? Math.log10(Math.min(...values)) : 0;
  const hi = values.length ? Math.log10(Math.max(...values)) : 1;
  const cells = rows.flatMap((e, x) =>
    e.layers.map((l) => {
      const y = layers.indexOf(l.path);
      const v = value(l);
      const fill = !l.trainable
        ? l.change > 0
          ? '#d00'
          : '#e4e4e4'
        : v !== undefined && v > 0
          ? colour(v, lo, hi)
          : '#fff';
      const tip = `${l.path}, epoch ${e.epoch}: ${l.trainable ? (v?.toExponential(2) ?? '–') : l.change > 0 ? `frozen but moved by ${l.change.toExponential(2)}` : 'frozen, unchanged'}`;
      return `<rect x="${left + x * cell.w}" y="${top + y * cell.h}" width="${cell.w}" height="${cell.h}" fill="${fill}"><title>${esc(tip)}</title></rect>`;
    }),
  );
  const stageLines = rows
    .map((e, x) => (x > 0 && e.stageIndex !== rows[x - 1]!.stageIndex ? x : -1))
    .filter((x) => x > 0)
    .map(
      (x) =>
        `<line x1="${left + x * cell.w}" x2="${left + x * cell.w}" y1="${top - 6}" y2="${top + layers.length * cell.h}" stroke="#000" stroke-width="2"/>`,
    );
  const labels =
    layers.length <= 60
      ? layers.map(
          (p, y) =>
            `<text x="${left - 4}" y="${top + y * cell.h + cell.h - 2}" font-size="10" text-anchor="end">${esc(p.length > 30 ? `…${p.slice(-29)}` : p)}</text>`,
        )
      : [];
  const epochs = rows.map((e, x) =>
    x % Math.ceil(rows.length / 20) === 0
      ? `<text x="${left + x * cell.w + cell.w / 2}" y="${top - 8}" font-size="10" text-anchor="middle">${e.epoch}</text>`
      : '',
  );
  const width = Math.max(left + rows.length * cell.w + 20, 640);
  const height = top + layers.length * cell.h + 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" class="heatmap"><text x="4" y="14" font-size="13" font-weight="bold">${esc(title)}</text>${cells.join('')}${stageLines.join('')}${labels.join('')}${epochs.join('')}<text x="${left}" y="${height - 6}" font-size="10">epochs →; log colour 1e${lo.toFixed(1)} (white) to 1e${hi.toFixed(1)} (dark red); grey: frozen, unchanged; red: frozen but moved</text></svg>`;
}

/** Both heat maps, or '' when the run has no telemetry. */
export function telemetrySection(events: readonly RunEvent[]): string {
  const rows = events.filter((e): e is Telemetry => e.type === 'layer-telemetry');
  if (rows.length === 0) return '';
  const moved = rows.flatMap((e) =>
    e.layers.filter((l) => !l.trainable && l.change > 0).map((l) => `${l.path} (epoch ${e.epoch})`),
  );
  return `<h2>Per-layer telemetry</h2>
<p>Every epoch: each trainable layer's gradient norm (mean over the epoch's steps) and how far its weights moved since its stage began (‖Δw‖/‖w‖); frozen layers must not move: ${moved.length ? `<b class="warn">moved: ${esc(moved.slice(0, 8).join(', '))}</b>` : 'none did (largest change 0)'}. Black lines: stage boundaries.</p>
<div class="charts">
${heatmap('gradient norm', rows, (l) => l.gradNorm)}
${heatmap('weight movement ‖Δw‖/‖w‖ since the stage began', rows, (l) => l.change)}
</div>`;
}
