// `freezeflow lr-find -s FILE [--stage NAME]`: the lr range test of one stage, as that stage would see it
// (the stages before it train first, as the schedule says), then the curve and the suggestion. The run
// folder keeps lr-find.html and lr-find.png beside the usual files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import sharp from 'sharp';
import type { BackendChoice } from '../backend/names.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import type { RunEvent } from '../core/events.js';
import { fmtLr } from '../core/format.js';
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
  apply?: boolean;
  backend?: BackendChoice;
  threads?: number;
  set?: string[];
  json?: boolean;
}

export async function runLrFind(opts: LrFindOptions): Promise<number> {
  if (opts.apply && opts.schedule === '-')
    throw new UserError('--apply writes the pick into the schedule file: give a file, not -', EXIT_USAGE);
  const loaded = readScheduleFile(opts.schedule, opts.set);
  const stages = loaded.schedule.stages;
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
      // a sweep, not a training run: its folder says so, and it writes no TensorBoard curves
      out:
        opts.out ??
        join(
          'runs',
          `${safeFolder(loaded.name)}-lr-find-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`,
        ),
      backend: opts.backend,
      threads: opts.threads,
      set: [...(opts.set ?? []), `stages.${stage}.lr=find`, 'output.metrics=[csv, ndjson]'],
      lrFindStage: stage,
    },
    {
      progress: {
        onEvent: (e) => {
          if (e.type === 'lr-find') found = e;
          else if (e.type !== 'batch-end') void lines.onEvent(e);
        },
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
      `${asciiCurve(found)}\n\nsweep finished: picked ${fmtLr(found.lr)} (${found.rule}) for stage ${stage}; curve in ${join(r.runDir, 'lr-find.html')}\n`,
    );
  if (opts.apply) applyLr(opts.schedule, stage, found.lr);
  return EXIT_OK;
}

const safeFolder = (name: string) => name.replace(/[^A-Za-z0-9_.-]+/g, '-');

/** Write the pick (2 significant digits) into the stage's lr in the file itself; comments stay. */
function applyLr(file: string, stage: string, lr: number): void {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const stages = doc.get('stages') as { items: { get(k: string): unknown; set(k: string, v: unknown): void }[] };
  const node = stages.items.find((s) => s.get('name') === stage);
  if (!node) throw new UserError(`--apply: stage ${stage} is set by --set only, not in ${file}`, EXIT_USAGE);
  node.set('lr', Number(lr.toPrecision(2)));
  writeAtomic(file, doc.toString());
  process.stderr.write(`applied: ${file} stage ${stage} lr: ${fmtLr(Number(lr.toPrecision(2)))}\n`);
}
