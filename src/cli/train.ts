// `freezeflow train`: flags → a TrainRequest, Ctrl-C → an AbortSignal, the result → an exit code. The run
// itself lives in src/train/session.ts.
import { backendChoice } from '../backend/index.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { progressReporter, type ProgressMode } from '../report/progress.js';
import { trainSession } from '../train/session.js';
import { threadsSetting } from './threads.js';
import { style } from './style.js';

export interface TrainOptions {
  schedule?: string;
  out?: string;
  backend?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
  resume?: string;
  strict?: boolean;
  samples?: string;
  seed?: string;
}

function wholeNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${flag} must be a whole number (got '${v}')`, EXIT_USAGE);
  return n;
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

export async function runTrain(opts: TrainOptions): Promise<number> {
  const request = {
    schedule: opts.schedule,
    resume: opts.resume,
    out: opts.out,
    backend: opts.backend === undefined ? undefined : backendChoice(opts.backend),
    threads: threadsSetting(opts.threads),
    strict: opts.strict,
    samples: wholeNumber(opts.samples, '--samples'),
    seed: wholeNumber(opts.seed, '--seed'),
  };
  const progress = progressReporter(
    progressMode(opts),
    style,
    (s) => process.stdout.write(`${s}\n`),
    (s) => process.stderr.write(`${s}\n`),
  );
  const { signal, release } = interrupts();
  try {
    const r = await trainSession(request, { progress, signal });
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
