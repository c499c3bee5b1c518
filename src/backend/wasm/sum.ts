import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { registerComposed } from './register.js';

/**
 * Sum over leading axes ([0,1,2] of NHWC: every BatchNorm and bias gradient) as X[M,rest]ᵀ × ones[M,1]:
 * XNNPACK's threaded GEMM instead of wasm's transpose-then-reduce (8× faster for 64×28×28×16).
 */
export function sumLeadingAxes(x: tf.Tensor, axis: number | number[], keepDims: boolean): tf.Tensor | undefined {
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const k = axes.length;
  if (x.dtype !== 'float32' || k === 0 || k >= x.rank || axes.some((a, i) => a !== i)) return undefined;
  const m = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const rest = x.shape.slice(k);
  if (m < 256) return undefined; // small reductions: the stock kernel has less overhead
  return tf.tidy(() => {
    // X as the GEMM input and the ones as its (tiny) weights: XNNPACK repacks the weights operand on every
    // new tensor, which would be all of X the other way round
    const summed = tf.matMul(tf.reshape(x, [m, -1]), tf.ones([m, 1]), true, false);
    return tf.reshape(summed, keepDims ? [...axes.map(() => 1), ...rest] : rest);
  });
}

export const sum: KernelEntry = {
  kernels: ['Sum'],
  impl: 'composed',
  over: 'wasm',
  what: 'sums over leading axes as a threaded product (bias and BatchNorm gradients)',
  register: () =>
    registerComposed('Sum', ['x'], ([x], a) => sumLeadingAxes(x!, a['axis'] as number[], a['keepDims'] as boolean)),
};
