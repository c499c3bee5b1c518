// One epoch of training steps: batches in, updates applied, running numbers out. On GPU backends no
// step waits for a read (see step.ts); the epoch's numbers are read once it is dispatched.
import * as tf from '../tf.js';
import type { GradNorms } from './telemetry.js';
import { GradAccumulator } from './accumulate.js';
import { faultPoint } from '../core/fault.js';
import { scheduleFactor, type StagePlan } from '../schedule/plan.js';
import type { AugmentRequest, BatchSource } from '../data/dataset.js';
import { applyStep, type GroupOptimizer } from './optim.js';
import type { RunEvent } from '../core/events.js';
import type { ModeController } from './mode.js';
import {
  commitIf,
  disposeStep,
  EpochSums,
  forwardBackward,
  holdVariables,
  restoreVariables,
  LaggedReader,
  type EpochPartial,
  type Readback,
  type Reading,
} from './step.js';

/** Where in the schedule the epoch is. */
export interface EpochAt {
  stage: StagePlan;
  stageIndex: number;
  /** Epoch number (global, 1-based) and its index inside the stage. */
  epoch: number;
  e0: number;
}

/** What trains: the model and its training mode, the param groups and the lr factor on them. */
export interface EpochNet {
  model: tf.LayersModel;
  mode: ModeController;
  groups: GroupOptimizer[];
  /** Multiplies the scheduler's factor (reduceOnPlateau). */
  plateauFactor: number;
  /** Variables no step of the stage changes (skipped when undoing a non-finite deferred step). */
  stable: ReadonlySet<tf.Variable>;
  /** Variables a training forward pass may write (BatchNorm statistics; `stable` ones aside): all an eager step must undo. */
  written: readonly tf.Variable[];
}

/** What it trains on, in which order. */
export interface EpochData {
  train: BatchSource;
  order: readonly number[];
  batchSize: number;
  augment?: AugmentRequest;
}

/** How steps meet the device: reads back, how far it may run ahead, its errors, per-layer sums kept on it. */
export interface EpochDevice {
  readback: Readback;
  /** How far the device may run ahead of the numbers read back (deferred only). */
  maxLag?: number;
  /** The first error the GPU reported since the last call (validation, out of memory, device lost). */
  deviceError?: () => string | undefined;
  /** Per-layer gradient norms, accumulated on the device step by step (telemetry). */
  gradNorms?: GradNorms;
}

/** Who hears of the epoch and may stop it. */
export interface EpochHooks {
  emit: (e: RunEvent) => void;
  /** Called with the gradients of the stage's first step and every `reportEvery` steps, before the update. */
  report?: (step: number, grads: tf.NamedTensorMap) => Promise<void>;
  reportEvery: number;
  /** Called after the first step of the epoch (the frozen-weights check). */
  afterFirstStep?: () => Promise<void>;
  shouldStop?: () => boolean;
}

export interface EpochContext {
  at: EpochAt;
  net: EpochNet;
  data: EpochData;
  device: EpochDevice;
  hooks: EpochHooks;
  /** Continue an epoch interrupted part-way: the steps it had done and their sums. */
  from?: EpochPartial;
}

/** The GPU reported an error: the numbers since then cannot be trusted. */
export class DeviceError extends Error {}

export interface EpochResult {
  loss: number;
  acc: number;
  samples: number;
  /** The scheduler's factor (× plateau factor) at the last step: the stage lr × it is the lr used. */
  factor: number;
  /** A step's loss or gradients were not finite: what and where (the update was not applied). */
  failure?: string;
  interrupted: boolean;
  /** Interrupted: where the epoch stood (a checkpoint continues it from the next batch). */
  partial?: EpochPartial;
  /** Per layer (GradNorms' order), the steps' gradient norms summed, and over how many steps. */
  gradNorms?: { steps: number; sums: number[] };
}

function oneHot(y: Int32Array, classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), classes) as tf.Tensor2D);
}

export function toTensors(
  d: BatchSource,
  idx: readonly number[],
  pixels: Float32Array,
  classes: number,
): { x: tf.Tensor; y: tf.Tensor2D } {
  return {
    x: tf.tensor(pixels, [idx.length, ...d.shape]),
    y: oneHot(
      Int32Array.from(idx, (i) => d.labels[i]!),
      classes,
    ),
  };
}

function failed(c: EpochContext, r: Reading, interrupted: boolean): EpochResult {
  const what = r.badLoss ? 'the loss' : 'the gradient norm';
  const failure = `${what} became NaN or infinite in stage '${c.at.stage.name}', epoch ${c.at.epoch}, batch ${r.badStep ?? r.steps}; the last good checkpoint is kept (try a lower lr)`;
  return { loss: NaN, acc: NaN, samples: 0, factor: NaN, failure, interrupted };
}

/**
 * One step: forward, backward, and an update that a non-finite loss or gradient never reaches. Eager:
 * reads the step's numbers first and skips the update (undoing what the forward pass wrote: BatchNorm
 * statistics). Deferred: applies it, then selects every changed variable back on the device unless the
 * step was finite. Either way the variables stay at their last good values.
 */
async function step(
  c: EpochContext,
  sums: EpochSums,
  x: tf.Tensor,
  y: tf.Tensor,
  n: number,
  at: number,
  group?: { acc: GradAccumulator; last: boolean },
) {
  // with accumulation, the variables are held once, before the group's first batch; eager steps read
  // before they update, so they hold only what the forward pass writes
  const hold = () => holdVariables(c.net.stable, c.device.readback === 'eager' ? c.net.written : undefined);
  const held = group ? (group.acc.held ??= hold()) : hold();
  const t = forwardBackward(
    c.net.model,
    c.net.mode,
    x,
    y,
    c.net.groups.flatMap((g) => g.vars),
    c.device.gradNorms !== undefined,
  );
  try {
    sums.add(t, n);
    if (t.varSq) c.device.gradNorms?.add(t.varSq);
    const reading = c.device.readback === 'deferred' ? undefined : await sums.read();
    if (reading && !reading.ok) {
      restoreVariables(held);
      group?.acc.reset();
      return reading;
    }
    if (at === 0 || (c.hooks.reportEvery > 0 && at % c.hooks.reportEvery === 0)) await c.hooks.report?.(at, t.grads);
    if (group) {
      group.acc.add(t.grads, n);
      if (!group.last) return reading; // the update waits for the group's last batch
      const mean = group.acc.mean();
      applyStep(c.net.groups, mean, c.at.stage);
      tf.dispose(Object.values(mean));
      group.acc.reset();
    } else applyStep(c.net.groups, t.grads, c.at.stage);
    if (reading) for (const h of held.values()) h.dispose();
    else {
      const ok = sums.okFlag();
      commitIf(ok, held, c.net.stable);
      ok.dispose();
    }
    return reading;
  } finally {
    disposeStep(t);
  }
}

/** Batch b's lr factor: the stage's curve (per optimizer step when batches accumulate) × the plateau's. */
function batchFactor(c: EpochContext, b: number, steps: number): number {
  const every = c.at.stage.accumulate;
  const curve =
    every > 1
      ? scheduleFactor(c.at.stage, c.at.e0, Math.floor(b / every), Math.ceil(steps / every))
      : scheduleFactor(c.at.stage, c.at.e0, b, steps);
  return curve * c.net.plateauFactor;
}

function emitBatchEnd(c: EpochContext, r: Reading, steps: number, lr: number): void {
  c.hooks.emit({
    type: 'batch-end',
    stageIndex: c.at.stageIndex,
    epoch: c.at.epoch,
    batch: r.steps,
    batches: steps,
    loss: r.lossSum / r.samples,
    acc: r.accSum / r.samples,
    lr,
  });
}

export async function trainEpoch(c: EpochContext): Promise<EpochResult> {
  const steps = Math.ceil(c.data.order.length / c.data.batchSize);
  const classes = c.data.train.classes.length;
  const sums = new EpochSums(c.from);
  const first = c.from?.steps ?? 0;
  let lr = c.at.stage.lr;
  let lastFactor = 1;
  let last: Reading | undefined;
  const onReading = (r: Reading) => {
    last = r;
    if (r.ok && r.steps > 0) emitBatchEnd(c, r, steps, lr);
  };
  const reader = new LaggedReader(sums, c.device.readback === 'deferred' ? (c.device.maxLag ?? 2) : 0, onReading);
  // gradient accumulation: one optimizer step (and one scheduler step) per `accumulate` batches
  const every = c.at.stage.accumulate;
  const acc = every > 1 ? new GradAccumulator() : undefined;
  const batchIdx = (b: number) => c.data.order.slice(b * c.data.batchSize, (b + 1) * c.data.batchSize);
  // the next batch decodes (on sharp's threads) while this one trains; tensors are made only when
  // a batch is used, so a prefetch abandoned by an interrupt leaves nothing behind
  let pending = c.data.train.batch(batchIdx(first), c.data.augment);
  let interrupted = false;
  try {
    for (let b = first; b < steps; b++) {
      const lastOfGroup = (b + 1) % every === 0 || b + 1 === steps;
      const factor = batchFactor(c, b, steps);
      for (const g of c.net.groups) g.setLr(g.baseLr * factor);
      lr = c.at.stage.lr * factor;
      lastFactor = factor;
      const idx = batchIdx(b);
      const pixels = await pending;
      if (b + 1 < steps) pending = c.data.train.batch(batchIdx(b + 1), c.data.augment);
      const { x, y } = toTensors(c.data.train, idx, pixels, classes);
      let reading: Reading | undefined;
      try {
        reading = await step(c, sums, x, y, idx.length, c.at.e0 * steps + b, acc && { acc, last: lastOfGroup });
      } finally {
        tf.dispose([x, y]);
      }
      if (reading && !reading.ok) return failed(c, reading, false);
      if (b === 0) await c.hooks.afterFirstStep?.();
      faultPoint('batch');
      if (reading) onReading(reading);
      else await reader.afterStep(b + 1);
      const gpu = c.device.deviceError?.();
      if (gpu)
        throw new DeviceError(`the GPU reported an error in stage '${c.at.stage.name}', epoch ${c.at.epoch}: ${gpu}`);
      if (last && !last.ok) break;
      // Training is synchronous: yield to the event loop so signal handlers (Ctrl-C) can run.
      await new Promise((r) => setImmediate(r));
      // an interrupt waits for the group's update: a checkpoint never holds half a group
      if (lastOfGroup && c.hooks.shouldStop?.()) {
        interrupted = true;
        break;
      }
    }
    // an epoch interrupted after its last batch has nothing left to run: its sums are the reading
    const final = c.device.readback === 'eager' ? (last ?? (await sums.read())) : await reader.finish();
    if (!final.ok) return failed(c, final, interrupted);
    const { lossSum, accSum, samples } = final;
    const gradNorms = await c.device.gradNorms?.totals();
    const partial = interrupted ? { steps: final.steps, samples, lossSum, accSum, gradNorms } : undefined;
    const result = { loss: lossSum / samples, acc: accSum / samples, samples, factor: lastFactor, interrupted };
    return { ...result, partial, gradNorms };
  } finally {
    sums.dispose();
    for (const t of acc?.held?.values() ?? []) t.dispose();
    acc?.reset();
  }
}
