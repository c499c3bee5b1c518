// metrics.csv: one row per epoch, quoted as RFC 4180 says (a stage name may hold a comma or a quote).
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from '../../core/events.js';
import type { FileReporterOptions } from './options.js';

export const CSV_COLUMNS = [
  'stage',
  'epoch',
  'lr',
  'trainable_params',
  'loss',
  'acc',
  'val_loss',
  'val_acc',
  'seconds',
] as const;

/** A field as RFC 4180 wants it: quoted (quotes doubled) when it holds a comma, quote or line break. */
export const csvField = (v: string | number): string => {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const LAYER_COLUMNS = ['epoch', 'stage', 'layer', 'trainable', 'grad_norm', 'change'] as const;

/** output.metrics' csv options (src/schedule/reporters/csv.ts declares them). */
export interface CsvSettings {
  layers: boolean;
}

export function csvReporter({ runDir, append }: FileReporterOptions, settings: CsvSettings): Reporter {
  const file = join(runDir, 'metrics.csv');
  // layers.csv: the per-layer telemetry, one row per layer and epoch (change: ‖Δw‖/‖w‖ since the stage
  // began for trainable layers, the largest |Δw| for frozen ones)
  const layers = join(runDir, 'layers.csv');
  if (!append) writeFileSync(file, `${CSV_COLUMNS.join(',')}\n`);
  if (settings.layers && (!append || !existsSync(layers))) writeFileSync(layers, `${LAYER_COLUMNS.join(',')}\n`);
  return {
    onEvent(e) {
      if (e.type === 'run-start' && e.resumedFrom) {
        truncate(file, e.resumedFrom.epoch, metricsEpoch);
        if (settings.layers) truncate(layers, e.resumedFrom.epoch, layersEpoch);
      }
      if (e.type === 'layer-telemetry' && settings.layers) {
        const rows = e.layers.map((l) => [e.epoch, e.stage, l.path, l.trainable ? 1 : 0, l.gradNorm ?? '', l.change]);
        appendFileSync(layers, rows.map((r) => `${r.map(csvField).join(',')}\n`).join(''));
      }
      if (e.type !== 'epoch-end') return;
      const row = [e.stage, e.epoch, e.lr, e.trainableParams, e.loss, e.acc, e.valLoss, e.valAcc, e.seconds.toFixed(2)];
      appendFileSync(file, `${row.map(csvField).join(',')}\n`);
    },
  };
}

/**
 * A resumed run redoes the epochs after its checkpoint: their rows are replaced, not repeated.
 * `epochOf` reads a row's epoch.
 */
function truncate(file: string, epoch: number, epochOf: (row: string) => number): void {
  if (!existsSync(file)) return;
  const [header, ...rows] = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  writeFileSync(file, [header, ...rows.filter((r) => epochOf(r) <= epoch)].map((l) => `${l}\n`).join(''));
}

// metrics.csv: the epoch is the second field; a quoted stage name never ends in a digit followed by a comma
const metricsEpoch = (row: string) => Number(/(?:^|,)(\d+),[^,]*,\d+,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*$/.exec(row)?.[1]);
// layers.csv: the epoch is the first field
const layersEpoch = (row: string) => Number(row.slice(0, row.indexOf(',')));
