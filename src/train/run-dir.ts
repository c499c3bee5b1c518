// The run directory of one training run: where it is, what it started with, and its checkpoints.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import * as tf from '../tf.js';
import { recoverDirs } from '../core/files.js';
import { readSummary } from '../core/summary.js';
import type { OptimizerSnapshot } from './optim-state.js';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import {
  checkpointName,
  readResumePoint,
  readRunRecord,
  RUN_FILES,
  safeName,
  writeRunRecord,
  type CheckpointFile,
  type CheckpointKind,
  type RunRecord,
  type RunState,
  type SavedGroup,
} from '../core/run-files.js';
import { loadModel, saveModel } from '../model/io.js';
import { listLayers } from '../model/layers.js';

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');

export class RunDirectory {
  private constructor(
    readonly path: string,
    /** What the run started with; absent only for run directories of older versions. */
    readonly record: RunRecord | undefined,
    /** The checkpoint to resume from (absent for a new run). */
    readonly resumeFrom: CheckpointFile | undefined,
    /** Held from creation (or resume) to the end of the run. */
    readonly lock: RunLock,
  ) {}

  /**
   * A new run: its own folder (default runs/NAME-TIMESTAMP), marked as freezeflow's, the schedule copied,
   * run.json written. An existing folder is used only when it is empty: freezeflow never writes into,
   * or deletes from, a folder it did not make.
   */
  static create(path: string, scheduleText: string, record: RunRecord): RunDirectory {
    if (existsSync(path)) refuseExisting(path);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, RUN_FILES.marker), `freezeflow run directory, created ${new Date().toISOString()}\n`);
    const lock = takeLock(path);
    writeFileSync(join(path, RUN_FILES.schedule), scheduleText);
    writeRunRecord(path, record);
    return new RunDirectory(path, record, undefined, lock);
  }

  /** Where a new run goes (checked before any work): refused when that folder cannot take it. */
  static check(out: string | undefined, name: string, versionsIn?: string): string {
    const path =
      out !== undefined
        ? isVersions(resolve(out))
          ? nextVersion(resolve(out)) // --out at an output.dir folder: its next version, as output.dir does
          : resolve(out)
        : versionsIn
          ? nextVersion(versionsIn)
          : resolve(join('runs', `${safeName(name)}-${stamp()}`));
    if (existsSync(path)) refuseExisting(path);
    return path;
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
    const lock = takeLock(path); // before repairing anything: another process may be writing
    const checkpoints = join(path, RUN_FILES.checkpoints);
    recoverDirs(checkpoints);
    if (existsSync(checkpoints) && !existsSync(join(checkpoints, 'last'))) {
      const newest = newestCheckpoint(checkpoints);
      if (newest) cpSync(join(checkpoints, newest), join(checkpoints, 'last'), { recursive: true });
    }
    // killed before its first checkpoint: the run starts over in its own directory
    const from = existsSync(join(checkpoints, 'last', 'state.json')) ? readResumePoint(path) : undefined;
    return new RunDirectory(path, readRunRecord(path), from, lock);
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
    meta: { labels: string[]; stageNames: readonly string[]; scheduleFile: string; model: object },
    /** More files for the checkpoint folder (the adapters'). */
    more: { files?: Record<string, unknown>; binary?: Record<string, Uint8Array> } = {},
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
      // freezeflow.json: a checkpoint is usable by predict/evaluate like the final model
      files: { 'state.json': saved, 'optimizer.json': optimizers.groups, 'freezeflow.json': meta.model, ...more.files },
      binary: { 'optimizer.bin': Buffer.concat(bytes), ...more.binary },
    };
    await saveModel(model, dir, extra);
    if (name !== 'last') await saveModel(model, join(this.file('checkpoints'), 'last'), extra);
    if (kind === 'top') this.pruneTop(state.topEpochs ?? []);
    return dir;
  }

  /** checkpoints/top keeps the N best epochs: an epoch pushed out of them goes. */
  private pruneTop(keep: readonly number[]): void {
    const top = join(this.file('checkpoints'), 'top');
    for (const name of readdirSync(top))
      if (/^epoch-\d+$/.test(name) && !keep.includes(Number(name.slice(6))))
        rmSync(join(top, name), { recursive: true, force: true });
  }

  /** The optimizer state saved with the resume checkpoint (absent in checkpoints of older versions). */
  resumeOptimizers(): OptimizerSnapshot | undefined {
    const dir = join(this.file('checkpoints'), 'last');
    if (!this.resumeFrom || !existsSync(join(dir, 'optimizer.json'))) return undefined;
    const groups = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as SavedGroup[];
    const bin = readFileSync(join(dir, 'optimizer.bin'));
    const need = groups.flatMap((g) => g.weights).reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (need !== bin.byteLength)
      throw new UserError(
        `${join(dir, 'optimizer.bin')} does not match optimizer.json (${bin.byteLength} bytes, expected ${need}); the checkpoint is damaged`,
      );
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
    return { groups, tensors };
  }

  /** Put the best checkpoint's weights into `model` (the guard's rollback); returns its folder. */
  async restoreBest(model: tf.LayersModel): Promise<string> {
    const dir = join(this.file('checkpoints'), 'best');
    const best = await loadModel(join(dir, 'model.json'));
    // layer by layer: a model's weight list puts trainable weights first, and the trainable set of the
    // checkpoint (saved in its layers' configs) is not the current one
    const saved = new Map(listLayers(best).map((l) => [l.path, l.layer]));
    for (const l of listLayers(model)) {
      const from = saved.get(l.path);
      if (from && l.hasWeights) l.layer.setWeights(from.getWeights());
    }
    best.dispose();
    return dir;
  }

  /** The resume checkpoint's folder. */
  get lastCheckpoint(): string {
    return join(this.file('checkpoints'), 'last');
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

/** Why an existing --out folder cannot take a new run. */
function refuseExisting(path: string): void {
  const entries = readdirSync(path);
  if (entries.length === 0) return;
  if (!entries.includes(RUN_FILES.marker))
    throw new UserError(
      `${path} is not empty and is not a freezeflow run directory; freezeflow only writes into folders it made — choose a new or empty --out`,
      EXIT_USAGE,
    );
  throw new UserError(
    entries.includes(RUN_FILES.summary)
      ? `${path} already holds a finished run; choose another --out (${freeSibling(path)} is free)`
      : `${path} holds an unfinished run; continue it with --resume ${path}, or choose another --out`,
    EXIT_USAGE,
  );
}

/** Who holds a live lock ('PID 12 on host h'), or undefined when the lock is stale. */
function staleLock(file: string): string | undefined {
  let holder: { pid: number; host: string };
  try {
    holder = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; host: string };
  } catch {
    return undefined; // half-written by a process that died
  }
  if (holder.host === hostname()) {
    try {
      process.kill(holder.pid, 0);
      return `PID ${holder.pid} on this host`;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' ? `PID ${holder.pid} on this host` : undefined;
    }
  }
  const idle = Date.now() - statSync(file).mtimeMs;
  return idle < 30 * 60_000 ? `PID ${holder.pid} on ${holder.host}` : undefined;
}

export interface RunLock {
  release: () => void;
  refresh: () => void;
}

/**
 * Take the run's lock (a second process on the same folder is a usage error). A lock left by a dead
 * process on this host, or not refreshed for 30 minutes by another host, is taken over. Returns the
 * release and a refresh (call it now and then: it is the heartbeat other hosts judge staleness by).
 */
function takeLock(path: string): RunLock {
  const file = join(path, RUN_FILES.lock);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx' });
      const release = () => rmSync(file, { force: true });
      process.once('exit', release);
      return { release, refresh: () => existsSync(file) && utimesSync(file, new Date(), new Date()) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = staleLock(file);
      if (holder) throw new UserError(`${path} is in use by ${holder}; wait for it or use another --out`, EXIT_USAGE);
      rmSync(file, { force: true });
    }
  }
  throw new UserError(`${path}: could not take the run lock ${file}`, EXIT_USAGE);
}

/** output.dir holds one folder per run, version_0, version_1, … (as Lightning's logs do). */
function nextVersion(parent: string): string {
  const taken = existsSync(parent) ? versionsIn(parent) : [];
  return join(resolve(parent), `version_${taken.length ? Math.max(...taken) + 1 : 0}`);
}

const versionsIn = (dir: string): number[] =>
  readdirSync(dir).flatMap((n) => (/^version_(\d+)$/.exec(n) ? [Number(n.slice(8))] : []));

/** A folder of version_N runs and nothing else (what output.dir makes). */
function isVersions(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  const entries = readdirSync(dir).filter((n) => !n.startsWith('.'));
  return entries.length > 0 && versionsIn(dir).length === entries.length;
}

/** The first of PATH_1, PATH_2, … that does not exist: a name to offer instead of a finished run's. */
function freeSibling(path: string): string {
  let n = 1;
  while (existsSync(`${path}_${n}`)) n++;
  return relative(process.cwd(), `${path}_${n}`) || `${path}_${n}`;
}
