import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { registerComposed } from './register.js';

/**
 * Tile that is a pure broadcast of an input whose leading axes are 1 ([1,1,1,C] → [B,H,W,C]: what tfjs's
 * BatchNorm gradient does for every BN layer): the input repeated whole, built by doubling copies.
 * wasm's own Tile kernel spends ~1 s on one such 8×112×112×96 tile; this takes a few ms.
 */
export function tileLeadingBroadcast(x: tf.Tensor, reps: readonly number[]): tf.Tensor | undefined {
  if (x.dtype !== 'float32' || reps.length !== x.rank) return undefined;
  let k = 0; // first axis that is not repeated
  while (k < reps.length && reps[k]! > 1) k++;
  if (k === 0 || reps.slice(k).some((r) => r !== 1) || x.shape.slice(0, k).some((d) => d !== 1)) return undefined;
  const times = reps.slice(0, k).reduce((a, b) => a * b, 1);
  const src = x.dataSync() as Float32Array;
  const out = new Float32Array(src.length * times);
  out.set(src);
  for (let filled = src.length; filled < out.length; filled *= 2)
    out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  return tf.tensor(
    out,
    x.shape.map((d, i) => d * reps[i]!),
    'float32',
  );
}

export const tile: KernelEntry = {
  kernels: ['Tile'],
  impl: 'composed',
  over: 'wasm',
  what: 'broadcast tile by doubling copies (every BatchNorm gradient)',
  register: () => registerComposed('Tile', ['x'], ([x], a) => tileLeadingBroadcast(x!, a['reps'] as number[])),
};
