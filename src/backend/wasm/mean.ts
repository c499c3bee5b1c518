import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { registerComposed } from './register.js';
import { sumLeadingAxes } from './sum.js';

/** The mean over leading axes: the sum above divided by the count (the stock kernel's order too). */
export function meanLeadingAxes(x: tf.Tensor, axis: number | number[], keepDims: boolean): tf.Tensor | undefined {
  return tf.tidy(() => {
    const sum = sumLeadingAxes(x, axis, keepDims);
    return sum && tf.div(sum, x.size / sum.size);
  });
}

export const mean: KernelEntry = {
  kernels: ['Mean'],
  impl: 'composed',
  over: 'wasm',
  what: 'means over leading axes (the sum above, divided)',
  register: () =>
    registerComposed('Mean', ['x'], ([x], a) => meanLeadingAxes(x!, a['axis'] as number[], a['keepDims'] as boolean)),
};
