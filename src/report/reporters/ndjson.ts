// events.ndjson: every event (batch-end only when asked), one JSON object per line, with a timestamp.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from '../../core/events.js';
import type { FileReporterOptions } from './options.js';

/** output.metrics' ndjson options (src/schedule/reporters/ndjson.ts declares them). */
export interface NdjsonSettings {
  batches: boolean;
}

export function ndjsonReporter({ runDir, append }: FileReporterOptions, settings: NdjsonSettings): Reporter {
  const file = join(runDir, 'events.ndjson');
  if (!append) writeFileSync(file, '');
  return {
    onEvent(e) {
      if (e.type === 'run-start' && e.resumedFrom) truncate(file, e.resumedFrom.epoch);
      if (e.type === 'batch-end' && !settings.batches) return; // one line per batch: only when asked
      appendFileSync(file, `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    },
  };
}

/**
 * A resumed run redoes the epochs after its checkpoint: drop what the earlier process wrote after the
 * last epoch the checkpoint holds (its epoch-end and that epoch's checkpoints stay), so nothing repeats.
 */
function truncate(file: string, epoch: number): void {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  let keep = 0;
  lines.forEach((l, i) => {
    try {
      const e = JSON.parse(l) as { type: string; epoch?: number };
      if ((e.type === 'epoch-end' || e.type === 'checkpoint') && (e.epoch ?? 0) <= epoch) keep = i + 1;
      if (e.type === 'run-start' && i === 0) keep = Math.max(keep, 1);
    } catch {
      // a line cut short by a kill
    }
  });
  writeFileSync(
    file,
    lines
      .slice(0, keep)
      .map((l) => `${l}\n`)
      .join(''),
  );
}
