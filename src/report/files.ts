// File reporters: events.ndjson, metrics.csv and summary.json in the run directory.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventBus, RunEvent } from '../core/events.js';
import { writeAtomic } from '../core/files.js';

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

export function attachFileReporters(
  bus: EventBus,
  runDir: string,
  formats: readonly ('csv' | 'ndjson')[],
  append: boolean,
): void {
  const ndjson = join(runDir, 'events.ndjson');
  const csv = join(runDir, 'metrics.csv');
  if (formats.includes('ndjson') && !append) writeFileSync(ndjson, '');
  if (formats.includes('csv') && !append) writeFileSync(csv, `${CSV_COLUMNS.join(',')}\n`);
  bus.on((e: RunEvent) => {
    if (e.type === 'batch-end') return; // too chatty for files
    if (formats.includes('ndjson'))
      appendFileSync(ndjson, `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    if (e.type === 'epoch-end' && formats.includes('csv')) {
      const row = [e.stage, e.epoch, e.lr, e.trainableParams, e.loss, e.acc, e.valLoss, e.valAcc, e.seconds.toFixed(2)];
      appendFileSync(csv, `${row.join(',')}\n`);
    }
  });
}

export function writeSummary(runDir: string, summary: Record<string, unknown>): void {
  writeAtomic(join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}
