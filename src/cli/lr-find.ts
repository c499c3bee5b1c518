// `freezeflow lr-find -s FILE [--stage NAME]`: the lr range test of one stage, as that stage would see it
// (the stages before it train first, as the schedule says), then the curve and the suggestion. The run
// folder keeps lr-find.html and lr-find.png beside the usual files.
import { join } from 'node:path';
import sharp from 'sharp';
import type { BackendChoice } from '../backend/names.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import type { RunEvent } from '../core/events.js';
import { writeAtomic } from '../core/files.js';
import { asciiCurve, lrFindChart } from '../report/lr-find.js';
import { progressReporter } from '../report/progress.js';
import { readScheduleFile } from '../schedule/load.js';
import { trainSession } from '../train/session.js';
import { style } from './style.js';

export interface LrFindOptions {
  schedule: string;
  stage?: string;
  out?: string;
  backend?: BackendChoice;
  threads?: number;
  set?: string[];
  json?: boolean;
}

export async function runLrFind(opts: LrFindOptions): Promise<number> {
  const stages = readScheduleFile(opts.schedule, opts.set).schedule.stages;
  const stage = opts.stage ?? (stages.find((s) => s.lr === 'find') ?? stages[0]!).name;
  if (!stages.some((s) => s.name === stage))
    throw new UserError(
      `--stage ${stage}: no such stage (stages: ${stages.map((s) => s.name).join(', ')})`,
      EXIT_USAGE,
    );
  let found: Extract<RunEvent, { type: 'lr-find' }> | undefined;
  const lines = progressReporter(
    'lines',
    style,
    (s) => process.stderr.write(`${s}\n`),
    (s) => process.stderr.write(`${s}\n`),
  );
  const r = await trainSession(
    {
      schedule: opts.schedule,
      out: opts.out,
      backend: opts.backend,
      threads: opts.threads,
      set: [...(opts.set ?? []), `stages.${stage}.lr=find`],
      lrFindStage: stage,
    },
    {
      progress: {
        onEvent: (e) => (e.type === 'lr-find' ? (found = e) : e.type === 'batch-end' ? undefined : lines.onEvent(e)),
      },
      signal: new AbortController().signal,
    },
  );
  if (r.error || !found) {
    process.stderr.write(`freezeflow: ${r.error ?? `stage ${stage} did not run its range test`}\n`);
    return EXIT_FAILURE;
  }
  const svg = lrFindChart(found);
  writeAtomic(
    join(r.runDir, 'lr-find.html'),
    `<!doctype html><meta charset="utf-8"><title>lr-find ${stage}</title>${svg}\n`,
  );
  await sharp(Buffer.from(svg), { density: 144 }).png().toFile(join(r.runDir, 'lr-find.png'));
  if (opts.json)
    process.stdout.write(
      `${JSON.stringify({ stage, lr: found.lr, rule: found.rule, points: found.points, runDir: r.runDir })}\n`,
    );
  else
    process.stdout.write(
      `${asciiCurve(found)}\n\nstage ${stage}: suggested lr ${found.lr} (${found.rule}); curve in ${join(r.runDir, 'lr-find.html')}\n`,
    );
  return EXIT_OK;
}
