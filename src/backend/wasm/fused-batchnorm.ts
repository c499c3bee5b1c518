import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { registerComposed } from './register.js';

/**
 * Inference-form BatchNorm, (x − μ)·γ/√(σ² + ε) + β per channel, as x·a + b computed by a 1×1 depthwise
 * conv with bias: XNNPACK's SIMD, threaded kernel instead of wasm's per-element loop (94 ms → 14 ms on
 * 16×112×112×96). Only for NHWC inputs with one value per channel in every parameter.
 */
export function batchNormAsDepthwise(
  x: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  offset: tf.Tensor | undefined,
  scale: tf.Tensor | undefined,
  epsilon: number,
): tf.Tensor | undefined {
  const c = x.shape[3];
  if (x.rank !== 4 || x.dtype !== 'float32' || c === undefined) return undefined;
  if ([mean, variance, offset, scale].some((t) => t !== undefined && t.size !== c)) return undefined;
  return tf.tidy(() => {
    const perChannel = (t: tf.Tensor) => tf.reshape(t, [c]);
    const inv = tf.rsqrt(tf.add(perChannel(variance), epsilon));
    const a = scale ? tf.mul(perChannel(scale), inv) : inv;
    const shift = tf.mul(perChannel(mean), a);
    const b = offset ? tf.sub(perChannel(offset), shift) : tf.neg(shift);
    return tf.fused.depthwiseConv2d({
      x: x as tf.Tensor4D,
      filter: tf.reshape(a, [1, 1, c, 1]) as tf.Tensor4D,
      strides: 1,
      pad: 'valid',
      bias: b,
    });
  });
}

export const fusedBatchNorm: KernelEntry = {
  kernels: ['FusedBatchNorm'],
  impl: 'composed',
  over: 'wasm',
  what: 'inference BatchNorm as a 1×1 depthwise conv with bias',
  register: () =>
    registerComposed('FusedBatchNorm', ['x', 'mean', 'variance', 'offset', 'scale'], ([x, m, v, o, sc], a) =>
      batchNormAsDepthwise(x!, m!, v!, o, sc, a['varianceEpsilon'] as number),
    ),
};
