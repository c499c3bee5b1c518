// One training step, and how its numbers come back to the CPU. On CPU backends a read is a copy, so the
// step reads its loss and finiteness before updating ('eager'). On GPU backends every read drains the
// pipeline, so the step updates unconditionally, undoes a non-finite update on the device with `where`,
// and the numbers are read later, at most `maxLag` steps behind ('deferred').
import * as tf from '../tf.js';
import type { ModeController } from './mode.js';

export type Readback = 'eager' | 'deferred';

/** GPU backends defer reads; everything else reads per step. */
export function defaultReadback(backend: string = tf.getBackend()): Readback {
  return backend === 'webgpu' || backend === 'webgl' ? 'deferred' : 'eager';
}

/** Mean categorical cross-entropy on probabilities, exactly as tfjs-layers computes it for model.fit. */
export function lossFn(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.mean(tf.metrics.categoricalCrossentropy(yTrue, yPred));
}

export function accuracy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(yTrue, -1), tf.argMax(yPred, -1)), 'float32')));
}

/**
 * Σ‖g‖² over tensors, in AddN kernels of at most 7 inputs: WebGPU binds one storage buffer per input
 * and guarantees only 8 per shader.
 */
export function sumOfSquares(ts: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(
    () =>
      inSevens(
        ts.map((t) => tf.sum(tf.square(t))),
        tf.addN,
      ) ?? tf.scalar(0),
  ) as tf.Scalar;
}

/** Combines tensors by `op` in groups of at most 7 inputs (the WebGPU limit), level by level. */
export function inSevens(parts: tf.Tensor[], op: (ts: tf.Tensor[]) => tf.Tensor): tf.Tensor | undefined {
  while (parts.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < parts.length; i += 7) next.push(op(parts.slice(i, i + 7)));
    parts = next;
  }
  return parts[0];
}

/** What forward + backward leave on the device; the caller disposes it. */
export interface StepTensors {
  loss: tf.Scalar;
  acc: tf.Scalar;
  /** Finite loss and finite global gradient norm, as 0/1 floats (a NaN anywhere makes the norm NaN). */
  lossOk: tf.Scalar;
  gradOk: tf.Scalar;
  grads: tf.NamedTensorMap;
  /** Each variable's Σg² as a scalar, in the order of `vars` (per-layer telemetry; only when asked for). */
  varSq?: tf.Tensor1D;
}

export function forwardBackward(
  model: tf.LayersModel,
  mode: ModeController,
  x: tf.Tensor,
  y: tf.Tensor,
  vars: tf.Variable[],
  perVariable = false,
): StepTensors {
  return tf.tidy(() => {
    mode.training = true;
    let acc: tf.Scalar | undefined;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const p = model.apply(x) as tf.Tensor;
        acc = tf.keep(accuracy(y, p));
        return lossFn(y, p);
      }, vars);
      // each variable's Σg² once: summed for the finite check, kept for the per-layer norms
      const parts = vars.map((v) => tf.sum(tf.square(grads[v.name]!)));
      // with telemetry the per-variable sums become one vector, and the finite check sums that instead
      const varSq = perVariable
        ? (inSevens(
            parts.map((p) => tf.reshape(p, [1])),
            (ts) => tf.concat(ts),
          ) as tf.Tensor1D | undefined)
        : undefined;
      const sq = varSq ? tf.sum(varSq) : (inSevens(parts, tf.addN) ?? tf.scalar(0));
      const flag = (t: tf.Tensor) => tf.cast(tf.isFinite(t), 'float32') as tf.Scalar;
      return { loss: value, acc: acc!, lossOk: flag(value), gradOk: flag(sq), grads, varSq };
    } catch (err) {
      acc?.dispose();
      throw err;
    } finally {
      mode.training = false;
    }
  });
}

export function disposeStep(t: StepTensors): void {
  tf.dispose([t.loss, t.acc, t.lossOk, t.gradOk, ...(t.varSq ? [t.varSq] : []), ...Object.values(t.grads)]);
}

/**
 * Keeps a step's changes only if `ok` (a 0/1 scalar, on the device) is 1: otherwise every variable the
 * update (or the forward pass before it: BatchNorm statistics) replaced is selected back to its old value,
 * and a variable the update created (an optimizer slot) back to zeros, where tfjs's slots start. No read.
 * `before` comes from `holdVariables`, taken before the forward pass; it is disposed here.
 */
export function commitIf(ok: tf.Scalar, before: Map<tf.Variable, tf.Tensor>, skip: ReadonlySet<tf.Variable>): void {
  tf.tidy(() => {
    const keep = tf.greater(ok, 0.5);
    for (const v of Object.values(tf.engine().registeredVariables)) {
      if (skip.has(v)) continue;
      const old = before.get(v);
      if (old && old.dataId === v.dataId) continue;
      v.assign(tf.where(keep, v, old ?? tf.zerosLike(v)));
    }
  });
  for (const t of before.values()) t.dispose();
}

/**
 * Shares (does not copy) the current value of every variable outside `skip` — or of `only` those — for
 * `commitIf` or `restoreVariables`.
 */
export function holdVariables(
  skip: ReadonlySet<tf.Variable>,
  only?: readonly tf.Variable[],
): Map<tf.Variable, tf.Tensor> {
  const out = new Map<tf.Variable, tf.Tensor>();
  for (const v of only ?? Object.values(tf.engine().registeredVariables)) if (!skip.has(v)) out.set(v, tf.clone(v));
  return out;
}

/** Puts every held variable that changed back to its held value (no update ran: eager); disposes `before`. */
export function restoreVariables(before: Map<tf.Variable, tf.Tensor>): void {
  for (const [v, old] of before) if (old.dataId !== v.dataId) v.assign(old);
  for (const t of before.values()) t.dispose();
}

/** Where an interrupted epoch stood: its steps done and their sums. */
export interface EpochPartial {
  steps: number;
  samples: number;
  lossSum: number;
  accSum: number;
  gradNorms?: { steps: number; sums: number[] };
}

/** One reading of an epoch's running numbers. */
export interface Reading {
  /** Steps (batches) the reading covers. */
  steps: number;
  samples: number;
  lossSum: number;
  accSum: number;
  ok: boolean;
  /** The first step (1-based) whose loss or gradients were not finite, and which of the two. */
  badStep?: number;
  badLoss?: boolean;
}

/**
 * An epoch's running sums on the device: sample-weighted loss and accuracy, a sticky "all steps finite"
 * flag, and where the first bad step was. `read` copies them back with one small transfer.
 */
export class EpochSums {
  private sums: tf.Tensor1D; // lossSum, accSum, bad, badStep, badLoss
  private steps: number;
  private samples: number;

  /** `from`: the sums of an epoch interrupted part-way, to continue it. */
  constructor(from?: EpochPartial) {
    this.sums = tf.tensor1d([from?.lossSum ?? 0, from?.accSum ?? 0, 0, 0, 0]);
    this.steps = from?.steps ?? 0;
    this.samples = from?.samples ?? 0;
  }

  /** The sticky flag as a new 0/1 scalar: 1 while every step so far was finite. The caller disposes it. */
  okFlag(): tf.Scalar {
    return tf.tidy(() => tf.sub(1, tf.reshape(tf.slice(this.sums, [2], [1]), [])) as tf.Scalar);
  }

  add(t: StepTensors, n: number): void {
    this.steps++;
    this.samples += n;
    const next = tf.tidy(() => {
      const [lossSum, accSum, bad, badStep, badLoss] = tf.unstack(this.sums) as tf.Scalar[];
      const stepBad = tf.sub(1, tf.mul(t.lossOk, t.gradOk));
      const first = tf.mul(tf.sub(1, bad!), stepBad); // 1 only at the first bad step
      return tf.stack([
        tf.add(lossSum!, tf.mul(t.loss, n)),
        tf.add(accSum!, tf.mul(t.acc, n)),
        tf.maximum(bad!, stepBad),
        tf.add(badStep!, tf.mul(first, this.steps)),
        tf.add(badLoss!, tf.mul(first, tf.sub(1, t.lossOk))),
      ]) as tf.Tensor1D;
    });
    this.sums.dispose();
    this.sums = next;
  }

  /** Starts a read of the sums as they are now. */
  read(): Promise<Reading> {
    const snap = tf.clone(this.sums);
    const [steps, samples] = [this.steps, this.samples];
    return snap.data().then((v) => {
      snap.dispose();
      const ok = v[2] === 0 && Number.isFinite(v[0]!);
      return {
        steps,
        samples,
        lossSum: v[0]!,
        accSum: v[1]!,
        ok,
        ...(v[2] !== 0 ? { badStep: v[3]!, badLoss: v[4] !== 0 } : {}),
      };
    });
  }

  dispose(): void {
    this.sums.dispose();
  }
}

/**
 * Keeps at most one read in flight and lets the device run ahead of it by at most `maxLag` steps:
 * `afterStep` starts a read when none is pending and waits only when the pending one is too old.
 */
export class LaggedReader {
  private pending?: { promise: Promise<Reading>; steps: number; done: boolean };
  constructor(
    private readonly sums: EpochSums,
    private readonly maxLag: number,
    private readonly onReading: (r: Reading) => void,
  ) {}

  async afterStep(steps: number): Promise<void> {
    if (this.pending && (this.pending.done || steps - this.pending.steps > this.maxLag)) await this.settle();
    if (!this.pending) {
      const p = { promise: this.sums.read(), steps, done: false };
      void p.promise.then(() => (p.done = true)).catch(() => undefined);
      this.pending = p;
    }
  }

  /** Waits for the pending read, then reads once more for the final numbers. */
  async finish(): Promise<Reading> {
    await this.settle();
    const last = await this.sums.read();
    this.onReading(last);
    return last;
  }

  private async settle(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.onReading(await p.promise);
  }
}
