// A run directory's files and their formats, in one place: what `train` writes and `--resume`, `compare`
// and `report` read back. Damaged files are named in the error, never a bare parser message.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_USAGE, UserError } from './errors.js';
import type { RunEvent } from './events.js';
import { writeAtomic } from './files.js';

export const RUN_FILES = {
  record: 'run.json',
  /** The fully resolved schedule (every default written out; loads again) and where it ran. */
  config: 'config.yaml',
  environment: 'environment.json',
  schedule: 'schedule.yaml',
  summary: 'summary.json',
  events: 'events.ndjson',
  metrics: 'metrics.csv',
  report: 'report.html',
  plan: 'plan.json',
  /** stages: auto — the stages it chose, as a plain schedule that re-runs them exactly. */
  chosen: 'chosen-schedule.yaml',
  /** Image-folder runs: which images were held out for validation (evaluate scores those by default). */
  split: 'data-split.json',
  /** Says "freezeflow made this folder": the only folders it writes into or deletes from. */
  marker: '.freezeflow-run',
  /** Held while a process trains in the folder: {pid, host, started}. */
  lock: 'run.lock',
  model: 'model',
  /** Runs with adapters: the adapters alone (adapters.json + adapters.bin), beside the merged model. */
  adapters: 'adapters',
  checkpoints: 'checkpoints',
} as const;

/** What a run started with (run.json), so --resume continues it as it began. */
export interface RunRecord {
  /** The schedule file the run started from: relative paths in it resolve against its folder. */
  scheduleFile: string;
  /** Command-line overrides (compare's sizes and seeds, --backend, --threads). */
  overrides: { samples?: number; seed?: number; backend?: string; threads?: number; set?: string[] };
}

/** Everything the runner's future depends on, saved with every checkpoint (state.json). */
export interface RunState {
  stageIndex: number;
  /** Last completed epoch (global, 1-based); 0 before the first. */
  epoch: number;
  trainable: string[];
  /** The best epoch so far by the monitored value (val loss unless output.checkpoints.best says otherwise). */
  bestValLoss: number;
  bestValAcc: number;
  bestEpoch: number;
  lastValLoss: number;
  /** lr: find — the lr each such stage found (by stage index), so a resume does not sweep again. */
  foundLr?: Record<string, number>;
  /** stages: auto — the block order the gradient probe chose (block names), once it ran. */
  auto?: { order: string[] };
  /** Epochs that stages ended on a plateau left unused: later stages start that much earlier. */
  shift?: number;
  /** The epochs checkpoints/top keeps (output.checkpoints.best.keep > 1), best first. */
  topEpochs?: number[];
  /** Every policy's own state, by its key: what --resume needs to decide as the run would have. */
  policies: Record<string, unknown>;
  /** Position of the seeded random stream (dropout masks, augmentation draws by tfjs). */
  random?: number;
  /** An interrupt inside epoch `epoch + 1`: the steps done and their sums, to continue at the next batch. */
  partial?: {
    steps: number;
    samples: number;
    lossSum: number;
    accSum: number;
    /** The per-layer gradient norms summed over those steps (telemetry). */
    gradNorms?: { steps: number; sums: number[] };
  };
}

/** A param group's optimizer state, by the group's identity (variables as 'layer/path:index'). */
export interface SavedGroup {
  id: string;
  config: string;
  baseLr: number;
  keys: string[];
  weights: { name: string; shape: number[]; dtype: 'float32' | 'int32' }[];
}

export type CheckpointKind = 'stage' | 'epoch' | 'best' | 'top' | 'interrupt';

export interface CheckpointFile {
  kind: CheckpointKind;
  state: RunState;
  schedule: string;
  savedAt: string;
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new UserError(`${file} (${what}) is damaged: ${(err as Error).message.split('\n')[0]}`, EXIT_USAGE);
  }
}

export const readRunRecord = (dir: string): RunRecord | undefined =>
  existsSync(join(dir, RUN_FILES.record)) ? readJson<RunRecord>(join(dir, RUN_FILES.record), 'run record') : undefined;

export const writeRunRecord = (dir: string, r: RunRecord): void =>
  writeAtomic(join(dir, RUN_FILES.record), `${JSON.stringify(r, null, 2)}\n`);

/** Image-folder runs: the data folder and its validation images (absolute paths). */
export interface DataSplit {
  root: string;
  val: string[];
}

export const writeDataSplit = (dir: string, split: DataSplit): void =>
  writeAtomic(join(dir, RUN_FILES.split), `${JSON.stringify(split, null, 2)}\n`);

export const readDataSplit = (dir: string): DataSplit | undefined =>
  existsSync(join(dir, RUN_FILES.split))
    ? readJson<DataSplit>(join(dir, RUN_FILES.split), 'validation split')
    : undefined;

/** The checkpoint a resume starts from (checkpoints/last), or a usage error saying there is none. */
export function readResumePoint(dir: string): CheckpointFile {
  const file = join(dir, RUN_FILES.checkpoints, 'last', 'state.json');
  if (!existsSync(file))
    throw new UserError(
      `--resume ${dir}: no checkpoint (checkpoints/last/state.json) in that run directory`,
      EXIT_USAGE,
    );
  const c = readJson<CheckpointFile>(file, 'checkpoint state');
  // JSON has no Infinity: a run that had no epoch yet saved its best loss as null
  c.state.bestValLoss ??= Infinity;
  c.state.lastValLoss ??= Infinity;
  c.state.policies ??= {};
  return c;
}

/**
 * A name as part of a folder name: path separators, control characters and a leading dot replaced, cut
 * to 80 characters. The schema already refuses separators; this keeps every folder inside the run even
 * for names from elsewhere (an older run.json, the library API).
 */
export function safeName(name: string): string {
  const s = name.replace(/[/\\\u0000-\u001f]/g, '_').replace(/^\.+/, '_');
  return s.slice(0, 80) || '_';
}

/** Folder name of a checkpoint: stage-N-NAME after a stage, epoch-N, best, top/epoch-N, or last (interrupts). */
export function checkpointName(kind: CheckpointKind, state: RunState, stageNames: readonly string[]): string {
  if (kind === 'stage') return `stage-${state.stageIndex}-${safeName(stageNames[state.stageIndex - 1] ?? 'end')}`;
  if (kind === 'epoch') return `epoch-${state.epoch}`;
  if (kind === 'top') return `top/epoch-${state.epoch}`;
  return kind === 'best' ? 'best' : 'last';
}

/** The events of a run (both processes of a resumed one); a line cut short by a kill is skipped. */
export function readRunEvents(runDir: string): RunEvent[] {
  const file = join(runDir, RUN_FILES.events);
  if (!existsSync(file))
    throw new UserError(`${runDir} has no events.ndjson (is it a freezeflow run directory with ndjson metrics?)`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as RunEvent];
      } catch {
        return [];
      }
    });
}
