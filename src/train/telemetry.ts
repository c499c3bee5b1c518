// Per-layer telemetry: every epoch, each trainable layer's gradient norm (mean over the epoch's steps)
// and its weights' movement since the stage began (‖Δw‖/‖w‖), and each frozen layer's largest change
// (0: proof it did not move). Gradient norms accumulate on the device (no per-step read); the weights are
// compared once per epoch.
import * as tf from '../tf.js';
import type { LayerEntry } from '../model/layers.js';
import { inSevens } from './step.js';

/**
 * Each layer's gradient norm, summed over an epoch's steps. On backends that read every step anyway
 * (eager), the per-variable Σg² come back with one small read and are summed in JS; on GPU backends
 * (deferred) they are summed on the device and read once per epoch.
 */
export class GradNorms {
  private device?: tf.Tensor;
  private readonly host: Float64Array;
  private steps = 0;
  private matrix?: tf.Tensor2D;
  /** `layerOf[i]`: the index (into `layers`) of the layer of the step's variable i. */
  constructor(
    readonly layers: readonly string[],
    private readonly layerOf: readonly number[],
    from?: { steps: number; sums: number[] },
  ) {
    this.host = new Float64Array(layers.length);
    if (from && from.sums.length === layers.length) {
      this.host.set(from.sums);
      this.steps = from.steps;
    }
  }

  /** One step: each variable's Σg², as scalars. */
  add(varSq: readonly tf.Scalar[], eager: boolean): void {
    this.steps++;
    if (eager) {
      // CPU-side tensors here: a read is a copy with no pipeline to drain, cheaper than any op on them
      const layerSq = new Float64Array(this.layers.length);
      this.layerOf.forEach((l, v) => (layerSq[l]! += varSq[v]!.dataSync()[0]!));
      layerSq.forEach((x, l) => (this.host[l]! += Math.sqrt(x)));
      return;
    }
    this.matrix ??= this.sumByLayer();
    const next = tf.tidy(() => {
      const column = inSevens(
        varSq.map((p) => tf.reshape(p, [1])),
        (ts) => tf.concat(ts),
      )!;
      const norms = tf.reshape(tf.sqrt(tf.matMul(tf.reshape(column, [1, -1]), this.matrix!)), [-1]);
      return this.device ? tf.add(this.device, norms) : norms;
    });
    this.device?.dispose();
    this.device = next;
  }

  /** [variables × layers] of 0/1: which layer each variable belongs to. */
  private sumByLayer(): tf.Tensor2D {
    const m = new Float32Array(this.layerOf.length * this.layers.length);
    this.layerOf.forEach((l, v) => (m[v * this.layers.length + l] = 1));
    return tf.tensor2d(m, [this.layerOf.length, this.layers.length]);
  }

  /** Per layer, the sum of the steps' norms so far (kept with a partial epoch), and how many steps. */
  async totals(): Promise<{ steps: number; sums: number[] }> {
    const dev = this.device ? await this.device.data() : undefined;
    return { steps: this.steps, sums: Array.from(this.host, (h, l) => h + (dev?.[l] ?? 0)) };
  }

  dispose(): void {
    this.device?.dispose();
    this.matrix?.dispose();
  }
}

/** Each layer's weights as CPU copies (once per stage and per epoch: not per step). */
export async function weightsOf(
  layers: readonly LayerEntry[],
  pick: (l: LayerEntry) => boolean,
): Promise<Map<string, Float32Array[]>> {
  const out = new Map<string, Float32Array[]>();
  for (const l of layers)
    if (pick(l) && l.hasWeights)
      out.set(l.path, await Promise.all(l.layer.weights.map(async (w) => Float32Array.from(await w.read().data()))));
  return out;
}

/** ‖now − before‖ / ‖before‖ over all of a layer's weights (‖before‖ = 0: the plain ‖now − before‖). */
export function relativeChange(before: readonly Float32Array[], now: readonly Float32Array[]): number {
  let d = 0;
  let n = 0;
  before.forEach((b, i) => {
    const a = now[i]!;
    for (let k = 0; k < b.length; k++) {
      d += (a[k]! - b[k]!) ** 2;
      n += b[k]! ** 2;
    }
  });
  return n > 0 ? Math.sqrt(d / n) : Math.sqrt(d);
}

/** The largest |now − before| over a layer's weights. */
export function maxChange(before: readonly Float32Array[], now: readonly Float32Array[]): number {
  let m = 0;
  before.forEach((b, i) => {
    const a = now[i]!;
    for (let k = 0; k < b.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  });
  return m;
}
