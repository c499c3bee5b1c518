// A BatchNormalization layer's training-mode call (batch statistics) through freezeflow's fused kernels
// where they apply (wasm with the SIMD module, channels last, γ and β present): the same outputs and
// the same moving-average update as tfjs-layers' own call, in a few passes instead of ~30 kernels.
import * as tf from '../tf.js';
import { batchNormTraining } from '../backend/kernels/index.js';
import { batchNormFields } from '../core/tfjs-internals.js';

/** tfjs-layers' doMovingAverage: v ← v − (v − value)·(1 − momentum). */
function movingAverage(variable: tf.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const orig = variable.read();
    variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - momentum)));
  });
}

/** The layer's training call through the fused kernels; undefined where they do not apply. */
export function fusedBatchNormCall(layer: tf.layers.Layer, inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | undefined {
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0]! : undefined) : inputs;
  const f = batchNormFields(layer);
  if (!x || !f.gamma || !f.beta || (f.axis + x.rank) % x.rank !== x.rank - 1) return undefined;
  const { gamma, beta } = f;
  return tf.tidy(() => {
    const r = batchNormTraining(x, gamma.read(), beta.read(), f.epsilon);
    if (!r) return undefined;
    movingAverage(f.movingMean, r.mean, f.momentum);
    movingAverage(f.movingVariance, r.variance, f.momentum);
    return r.y;
  });
}
