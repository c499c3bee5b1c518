import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { registerComposed } from './register.js';

/** UnsortedSegmentSum (the gradient of gather, e.g. embeddings) as a one-hot matrix product. */
export function unsortedSegmentSum(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const rows = segmentIds.size;
    const flatX = tf.reshape(x, [rows, -1]);
    const oneHot = tf.oneHot(tf.cast(tf.reshape(segmentIds, [rows]), 'int32'), numSegments);
    const out = tf.matMul(tf.cast(oneHot, 'float32'), tf.cast(flatX, 'float32'), true, false);
    return tf.cast(tf.reshape(out, [numSegments, ...x.shape.slice(segmentIds.rank)]), x.dtype);
  });
}

export const segmentSum: KernelEntry = {
  kernels: ['UnsortedSegmentSum'],
  impl: 'composed',
  over: 'none',
  what: 'segment sum (gather gradient) as a one-hot product',
  register: () =>
    registerComposed('UnsortedSegmentSum', ['x', 'segmentIds'], ([x, ids], a) =>
      unsortedSegmentSum(x!, ids!, a['numSegments'] as number),
    ),
};
