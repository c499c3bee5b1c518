// The run directory of one training run: where it is, what it started with, and its checkpoints.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
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

  /** An interrupted or failed run, to continue from its last checkpoint. */
  static resume(dir: string): RunDirectory {
    const path = resolve(dir);
    return new RunDirectory(path, readRunRecord(path), readResumePoint(path));
  }

  file(name: keyof typeof RUN_FILES): string {
    return join(this.path, RUN_FILES[name]);
  }

  /** Save a checkpoint; 'last', the resume point, is updated with every one. Returns its folder. */
  async checkpoint(
    model: tf.LayersModel,
    kind: CheckpointKind,
    state: RunState,
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
    const files = { 'state.json': saved };
    await saveModel(model, dir, { labels: meta.labels, files });
    if (name !== 'last') await saveModel(model, join(this.file('checkpoints'), 'last'), { labels: meta.labels, files });
    return dir;
  }

  /** Put the best checkpoint's weights into `model` (the guard's rollback). */
  async restoreBest(model: tf.LayersModel): Promise<void> {
    const best = await loadModel(join(this.file('checkpoints'), 'best', 'model.json'));
    model.setWeights(best.getWeights());
    best.dispose();
  }
}
