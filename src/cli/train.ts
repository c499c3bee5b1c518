// `freezeflow train`: flags → a TrainRequest, Ctrl-C → an AbortSignal, the result → an exit code. The run
// itself lives in src/train/session.ts.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { BackendChoice } from '../backend/names.js';
import { RUN_FILES } from '../core/run-files.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from '../core/errors.js';
import { progressReporter, type ProgressMode } from '../report/progress.js';
import { readScheduleFile } from '../schedule/load.js';
import { errStyle, style } from './style.js';

/** The flags, as commander checked and converted them (src/cli/args.ts). */
export interface TrainOptions {
  schedule?: string;
  out?: string;
  backend?: BackendChoice;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
  resume?: string;
  strict?: boolean;
  samples?: number;
  seed?: number;
  set?: string[];
  printConfig?: boolean;
}

function progressMode(opts: TrainOptions): ProgressMode {
  if (opts.json) return 'json';
  if (opts.quiet) return 'quiet';
  return process.stderr.isTTY && process.stdout.isTTY ? 'bars' : 'lines';
}

/** SIGINT/SIGTERM: the first finishes the batch and checkpoints, a second quits at once. */
function interrupts(): { signal: AbortSignal; release: () => void } {
  const ctl = new AbortController();
  const onSignal = () => {
    if (ctl.signal.aborted) process.exit(EXIT_INTERRUPTED);
    ctl.abort();
    process.stderr.write(
      '\nfreezeflow: interrupted — finishing the batch and writing a checkpoint (Ctrl-C again to quit at once)\n',
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ctl.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * tfjs takes 0.5–7 s to load: a schedule with a mistake is reported before that (one line, exit 2), and on
 * a terminal a status line shows while it loads (erased when the run's own first line comes).
 */
async function loadSession(opts: TrainOptions): Promise<typeof import('../train/session.js')> {
  if (opts.schedule && opts.schedule !== '-') readScheduleFile(opts.schedule, opts.set);
  const status = progressMode(opts) === 'bars';
  if (status) process.stderr.write(errStyle.dim('freezeflow: loading tfjs…'));
  try {
    return await import('../train/session.js');
  } finally {
    if (status) process.stderr.write('\r\x1b[K');
  }
}

export async function runTrain(opts: TrainOptions): Promise<number> {
  const { schedule, resume, out, backend, threads, strict, samples, seed, set } = opts;
  const request = { schedule, resume, out, backend, threads, strict, samples, seed, set };
  const { resolvedConfig, trainSession } = await loadSession(opts);
  if (opts.printConfig) {
    process.stdout.write(await resolvedConfig(request));
    return EXIT_OK;
  }
  const progress = progressReporter(
    progressMode(opts),
    style,
    (s) => process.stdout.write(`${s}\n`),
    (s) => process.stderr.write(`${s}\n`),
  );
  const { signal, release } = interrupts();
  try {
    const r = await trainSession(request, { progress, signal });
    const mode = progressMode(opts);
    if (mode === 'bars' || mode === 'lines') for (const line of resultsPointers(r.runDir)) process.stdout.write(line);
    if (r.error) {
      process.stderr.write(`freezeflow: ${r.error}\n`);
      return EXIT_FAILURE;
    }
    if (r.status !== 'interrupted') return EXIT_OK;
    process.stderr.write(`freezeflow: interrupted; continue with: freezeflow train --resume ${r.runDir}\n`);
    return EXIT_INTERRUPTED;
  } finally {
    release();
  }
}

/** The run's last lines: where its report is, and how to watch it in TensorBoard (those that were written). */
function resultsPointers(runDir: string): string[] {
  const shown = relative(process.cwd(), runDir) || '.';
  const lines: string[] = [];
  if (existsSync(join(runDir, RUN_FILES.report)))
    lines.push(`report: ${join(shown, RUN_FILES.report)} (open it in a browser)\n`);
  if (existsSync(join(runDir, 'tensorboard')))
    lines.push(`TensorBoard: tensorboard --logdir ${join(shown, 'tensorboard')} (train and validation overlay)\n`);
  return lines;
}
