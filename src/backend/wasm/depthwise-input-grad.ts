// DepthwiseConv2dNativeBackpropInput composed from a depthwise conv with the flipped filter.
import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { assertNoDilation, convInfo, fullCorrelationInput, type DepthwiseAttrs } from './geometry.js';
import { registerComposed } from './register.js';

/**
 * Depthwise input gradient: dY dilated by the stride (zeros between rows/columns), padded for a "full"
 * correlation, then a depthwise convolution with the spatially flipped filter, one channel per (c, m);
 * the channel multiplier is summed out afterwards.
 */
export function depthwiseBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: DepthwiseAttrs & { inputShape: [number, number, number, number] },
): tf.Tensor4D {
  assertNoDilation(attrs.dilations, 'DepthwiseConv2dNativeBackpropInput');
  const [kh, kw, c, m] = filter.shape;
  const info = convInfo(attrs.inputShape, filter.shape, attrs, true);
  const [b, h, w] = attrs.inputShape;
  return tf.tidy(() => {
    const padded = fullCorrelationInput(dy, info, h, w);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
    const out = tf.depthwiseConv2d(padded, flipped, 1, 'valid');
    return (m === 1 ? out : tf.sum(tf.reshape(out, [b, h, w, c, m]), 4)) as tf.Tensor4D;
  });
}

export const depthwiseInputGrad: KernelEntry = {
  kernels: ['DepthwiseConv2dNativeBackpropInput'],
  impl: 'composed',
  over: 'none',
  what: 'depthwise input gradient as a depthwise conv',
  register: () =>
    registerComposed('DepthwiseConv2dNativeBackpropInput', ['dy', 'filter'], ([dy, f], a) =>
      depthwiseBackpropInput(
        dy as tf.Tensor4D,
        f as tf.Tensor4D,
        a as unknown as Parameters<typeof depthwiseBackpropInput>[2],
      ),
    ),
};
