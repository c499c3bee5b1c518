// DepthwiseConv2dNativeBackpropFilter composed from one depthwise conv over the batch folded into channels.
import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { assertNoDilation, convInfo, padOrCrop, type DepthwiseAttrs } from './geometry.js';
import { registerComposed } from './register.js';

/**
 * Depthwise filter gradient. For channel c: dW[:,:,c,m] = Σ_b Xpad[b,·,·,c] ⋆ dY[b,·,·,c·M+m] (dilated by
 * the stride). Folding the batch into the channels turns all of it into one depthwise convolution of
 * Xpadᵀ [1, Hp, Wp, C·B] with dYᵀ [oh, ow, C·B, M] as the filter; the batch is summed out afterwards.
 */
export function depthwiseBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: DepthwiseAttrs & { filterShape: [number, number, number, number] },
): tf.Tensor4D {
  assertNoDilation(attrs.dilations, 'DepthwiseConv2dNativeBackpropFilter');
  const [kh, kw, c, m] = attrs.filterShape;
  const info = convInfo(x.shape, attrs.filterShape, attrs, true);
  const { top, bottom, left, right } = info.padInfo;
  const [b] = x.shape;
  const [, oh, ow] = dy.shape;
  return tf.tidy(() => {
    const xp = padOrCrop(x, top, bottom, left, right);
    const [, hp, wp] = xp.shape;
    const input = tf.reshape(tf.transpose(xp, [1, 2, 3, 0]), [1, hp, wp, c * b]) as tf.Tensor4D;
    const filter = tf.reshape(tf.transpose(tf.reshape(dy, [b, oh, ow, c, m]), [1, 2, 3, 0, 4]), [oh, ow, c * b, m]);
    const out = tf.depthwiseConv2d(input, filter as tf.Tensor4D, 1, 'valid', 'NHWC', [
      info.strideHeight,
      info.strideWidth,
    ]);
    const cut = tf.slice(out, [0, 0, 0, 0], [1, kh, kw, -1]);
    return tf.sum(tf.reshape(cut, [kh, kw, c, b, m]), 3) as tf.Tensor4D;
  });
}

export const depthwiseFilterGrad: KernelEntry = {
  kernels: ['DepthwiseConv2dNativeBackpropFilter'],
  impl: 'composed',
  over: 'none',
  what: 'depthwise filter gradient as one depthwise conv',
  register: () =>
    registerComposed('DepthwiseConv2dNativeBackpropFilter', ['x', 'dy'], ([x, dy], a) =>
      depthwiseBackpropFilter(
        x as tf.Tensor4D,
        dy as tf.Tensor4D,
        a as unknown as Parameters<typeof depthwiseBackpropFilter>[2],
      ),
    ),
};
