// Conv2DBackpropInput composed as a forward conv (XNNPACK) of dY with the flipped, transposed filter.
import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { convInfo, fullCorrelationInput, type Conv2DBackpropFilterAttrs } from './geometry.js';
import { registerComposed } from './register.js';

/**
 * Conv2D input gradient as a forward convolution (XNNPACK): dY dilated by the stride and padded for a
 * full correlation, convolved with the filter flipped in space and with in/out channels swapped.
 */
export function conv2dBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: Omit<Conv2DBackpropFilterAttrs, 'filterShape'> & { inputShape: [number, number, number, number] },
): tf.Tensor4D {
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropInput: NCHW is not supported on wasm');
  const [kh, kw] = filter.shape;
  const info = convInfo(attrs.inputShape, filter.shape, attrs);
  const [, h, w] = attrs.inputShape;
  return tf.tidy(() => {
    const padded = fullCorrelationInput(dy, info, h, w);
    const flipped = kh === 1 && kw === 1 ? filter : tf.reverse(filter, [0, 1]);
    return tf.conv2d(padded, tf.transpose(flipped, [0, 1, 3, 2]) as tf.Tensor4D, 1, 'valid');
  });
}

export const convInputGrad: KernelEntry = {
  kernels: ['Conv2DBackpropInput'],
  impl: 'composed',
  over: 'wasm',
  what: "conv input gradient as a forward conv (wasm's own for strided RGB stems)",
  register: () =>
    registerComposed('Conv2DBackpropInput', ['dy', 'filter'], ([dy, f], a) => {
      const attrs = a as unknown as Parameters<typeof conv2dBackpropInput>[2];
      const [sh, sw] = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
      const strided = sh > 1 || sw > 1;
      // measured: with few input channels (an RGB stem) and a stride, wasm's own kernel is faster
      if (attrs.dataFormat === 'NCHW' || (strided && f!.shape[2]! < 8)) return undefined;
      return conv2dBackpropInput(dy as tf.Tensor4D, f as tf.Tensor4D, attrs);
    }),
};
