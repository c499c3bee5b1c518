// Per-layer telemetry: every epoch, each trainable layer's gradient norm (mean over the epoch's steps)
// and its weights' movement since the stage began (‖Δw‖/‖w‖), and each frozen layer's largest change
// (0: proof it did not move). Gradient norms accumulate on the device (no per-step read); the weights are
// compared once per epoch.
import * as tf from '../tf.js';
import type { LayerEntry } from '../model/layers.js';

/**
 * Each layer's gradient norm over an epoch as a root mean square over its steps, sqrt(mean_t ||g_t||^2):
 * one add per step on the device (no read, no per-layer work), one read per epoch.
 */
export class GradNorms {
  private sum?: tf.Tensor1D;
  private steps = 0;
  /** `layerOf[i]`: the index (into `layers`) of the layer of the step's variable i. */
  constructor(
    readonly layers: readonly string[],
    private readonly layerOf: readonly number[],
    private readonly from?: { steps: number; sums: number[] },
  ) {}

  /** One step: each variable's sum of squared gradients. */
  add(varSq: tf.Tensor1D): void {
    const next = this.sum ? tf.add(this.sum, varSq) : tf.clone(varSq);
    this.sum?.dispose();
    this.sum = next as tf.Tensor1D;
    this.steps++;
  }

  /** Per layer, the steps' squared norms summed (kept with a partial epoch), and how many steps. */
  async totals(): Promise<{ steps: number; sums: number[] }> {
    const perVar = this.sum ? await this.sum.data() : new Float32Array(0);
    const sums = this.layers.map((_, l) => this.from?.sums[l] ?? 0);
    this.layerOf.forEach((l, v) => (sums[l]! += perVar[v] ?? 0));
    return { steps: this.steps + (this.from?.steps ?? 0), sums };
  }

  dispose(): void {
    this.sum?.dispose();
  }
}

/** A layer's gradient norm for the epoch from totals(): sqrt(Σ_t ||g_t||² / steps). */
export const rmsNorm = (sumSq: number, steps: number): number => Math.sqrt(sumSq / steps);

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
