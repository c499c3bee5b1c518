// The run directory of one training run: where it is, what it started with, and its checkpoints.
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { recoverDirs } from '../core/files.js';
import { readSummary } from '../core/summary.js';
import type { OptimizerSnapshot } from './optim-state.js';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import {
  checkpointName,
  readResumePoint,
  readRunRecord,
  RUN_FILES,
  writeRunRecord,
  type CheckpointFile,
  type CheckpointKind,
  type RunRecord,
  type RunState,
  type SavedGroup,
} from '../core/run-files.js';
import { loadModel, saveModel } from '../model/io.js';

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');

export class RunDirectory {
  private constructor(
    readonly path: string,
    /** What the run started with; absent only for run directories of older versions. */
    readonly record: RunRecord | undefined,
    /** The checkpoint to resume from (absent for a new run). */
    readonly resumeFrom?: CheckpointFile,
  ) {}

  /** A new run: its own folder (default runs/NAME-TIMESTAMP), the schedule copied, run.json written. */
  static create(out: string | undefined, name: string, scheduleFile: string, record: RunRecord): RunDirectory {
    const path = resolve(out ?? join('runs', `${name}-${stamp()}`));
    if (existsSync(join(path, RUN_FILES.summary)))
      throw new UserError(`${path} already holds a finished run; choose another --out`, EXIT_USAGE);
    mkdirSync(path, { recursive: true });
    copyFileSync(scheduleFile, join(path, RUN_FILES.schedule));
    writeRunRecord(path, record);
    return new RunDirectory(path, record);
  }

  /**
   * An interrupted or failed run, to continue from its last checkpoint. A checkpoint write cut short by
   * a crash is repaired first (the new copy if it was complete, else the old one); with no 'last' at all,
   * the newest complete checkpoint becomes the resume point.
   */
  static resume(dir: string): RunDirectory {
    const path = resolve(dir);
    if (!existsSync(join(path, RUN_FILES.record)) && !existsSync(join(path, RUN_FILES.schedule)))
      throw new UserError(`--resume ${dir}: not a freezeflow run directory (no run.json)`, EXIT_USAGE);
    const done = readSummary(path);
    if (done && (done.status === 'completed' || done.status === 'stopped'))
      throw new UserError(
        `--resume ${dir}: that run has ${done.status === 'completed' ? 'completed' : 'stopped (guard)'}; nothing to resume — start a new run with another --out`,
        EXIT_USAGE,
      );
    const checkpoints = join(path, RUN_FILES.checkpoints);
    recoverDirs(checkpoints);
    if (existsSync(checkpoints) && !existsSync(join(checkpoints, 'last'))) {
      const newest = newestCheckpoint(checkpoints);
      if (newest) cpSync(join(checkpoints, newest), join(checkpoints, 'last'), { recursive: true });
    }
    // killed before its first checkpoint: the run starts over in its own directory
    const from = existsSync(join(checkpoints, 'last', 'state.json')) ? readResumePoint(path) : undefined;
    return new RunDirectory(path, readRunRecord(path), from);
  }

  file(name: keyof typeof RUN_FILES): string {
    return join(this.path, RUN_FILES[name]);
  }

  /** Save a checkpoint; 'last', the resume point, is updated with every one. Returns its folder. */
  async checkpoint(
    model: tf.LayersModel,
    kind: CheckpointKind,
    state: RunState,
    optimizers: OptimizerSnapshot,
    meta: { labels: string[]; stageNames: readonly string[]; scheduleFile: string },
  ): Promise<string> {
    const name = checkpointName(kind, state, meta.stageNames);
    const dir = join(this.file('checkpoints'), name);
    const saved: CheckpointFile = {
      kind,
      state,
      schedule: basename(meta.scheduleFile),
      savedAt: new Date().toISOString(),
    };
    const bytes = await Promise.all(
      optimizers.tensors.flat().map(async (t) => new Uint8Array((await t.data()).buffer)),
    );
    const extra = {
      labels: meta.labels,
      files: { 'state.json': saved, 'optimizer.json': optimizers.groups },
      binary: { 'optimizer.bin': Buffer.concat(bytes) },
    };
    await saveModel(model, dir, extra);
    if (name !== 'last') await saveModel(model, join(this.file('checkpoints'), 'last'), extra);
    return dir;
  }

  /** The optimizer state saved with the resume checkpoint (absent in checkpoints of older versions). */
  resumeOptimizers(): OptimizerSnapshot | undefined {
    const dir = join(this.file('checkpoints'), 'last');
    if (!this.resumeFrom || !existsSync(join(dir, 'optimizer.json'))) return undefined;
    const groups = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as SavedGroup[];
    const bin = readFileSync(join(dir, 'optimizer.bin'));
    let at = 0;
    const tensors = groups.map((g) =>
      g.weights.map((w) => {
        const n = w.shape.reduce((a, b) => a * b, 1);
        const bytes = bin.subarray(at, at + 4 * n);
        at += 4 * n;
        const copy = new Uint8Array(bytes).buffer;
        return tf.tensor(w.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy), w.shape, w.dtype);
      }),
    );
    if (at !== bin.byteLength)
      throw new UserError(
        `${join(dir, 'optimizer.bin')} does not match optimizer.json (${bin.byteLength} bytes, expected ${at})`,
      );
    return { groups, tensors };
  }

  /** Put the best checkpoint's weights into `model` (the guard's rollback). */
  async restoreBest(model: tf.LayersModel): Promise<void> {
    const best = await loadModel(join(this.file('checkpoints'), 'best', 'model.json'));
    model.setWeights(best.getWeights());
    best.dispose();
  }
}

/** The checkpoint folder whose state.json is the furthest into the run (stage, epoch). */
function newestCheckpoint(dir: string): string | undefined {
  const rank = (name: string) => {
    try {
      const c = JSON.parse(readFileSync(join(dir, name, 'state.json'), 'utf8')) as CheckpointFile;
      return c.state.epoch * 1000 + c.state.stageIndex;
    } catch {
      return -1;
    }
  };
  const best = readdirSync(dir)
    .map((name) => ({ name, r: rank(name) }))
    .filter((c) => c.r >= 0)
    .sort((a, b) => b.r - a.r)[0];
  return best?.name;
}
