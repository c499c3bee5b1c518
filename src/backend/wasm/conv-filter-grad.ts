// Conv2DBackpropFilter composed from XNNPACK kernels (transposes and a conv, or one product for 1×1).
import * as tf from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { convInfo, padOrCrop, type Conv2DBackpropFilterAttrs } from './geometry.js';
import { registerComposed } from './register.js';

/**
 * dW[kh,kw,ci,co] = Σ_{b,y,x} Xpad[b, y·s+kh, x·s+kw, ci] · dY[b,y,x,co]
 * which is a stride-1 convolution of Xpadᵀ [ci, Hp, Wp, b] with dYᵀ [oh, ow, b, co] as the filter,
 * dilated by the forward stride; the first kh×kw outputs are the gradient.
 */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Conv2DBackpropFilterAttrs): tf.Tensor4D {
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter: NCHW is not supported on wasm');
  const [kh, kw] = attrs.filterShape;
  const info = convInfo(x.shape, attrs.filterShape, attrs);
  const { top, bottom, left, right } = info.padInfo;
  if (kh === 1 && kw === 1 && top === 0 && left === 0) return pointwiseFilterGrad(x, dy, info);
  return tf.tidy(() => {
    // 'same' can ask for more padding on one side than the output ever reads: the cut below drops it
    const xt = tf.transpose(padOrCrop(x, top, bottom, left, right), [3, 1, 2, 0]);
    const f = tf.transpose(dy, [1, 2, 0, 3]);
    const conv = tf.conv2d(xt, f, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
    const cut = conv.shape[1] === kh && conv.shape[2] === kw ? conv : tf.slice(conv, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(cut, [1, 2, 0, 3]);
  });
}

/**
 * A 1×1 conv's filter gradient is one matrix product, dW = Xᵀ·dY over every pixel of the batch (after
 * taking every stride-th pixel). The general form above treats it as a conv with an output-sized kernel,
 * which XNNPACK runs at under 1 GFLOP/s (92 ms for one MobileNetV2 expansion layer at batch 8).
 */
function pointwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [b, oh, ow, co] = dy.shape;
  const ci = x.shape[3];
  return tf.tidy(() => {
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const picked =
      sh === 1 && sw === 1 && x.shape[1] === oh && x.shape[2] === ow
        ? x
        : tf.stridedSlice(x, [0, 0, 0, 0], [b, (oh - 1) * sh + 1, (ow - 1) * sw + 1, ci], [1, sh, sw, 1]);
    const n = b * oh * ow;
    const xs = tf.reshape(picked, [n, ci]);
    const ds = tf.reshape(dy, [n, co]);
    // XNNPACK repacks the right operand on every call and likes many left rows: the wider side goes
    // left, transposed explicitly (wasm's matMul with transposeA runs at ~0.5 GFLOP/s)
    const dw = co > ci ? tf.transpose(tf.matMul(tf.transpose(ds), xs)) : tf.matMul(tf.transpose(xs), ds);
    return tf.reshape(dw, [1, 1, ci, co]) as tf.Tensor4D;
  });
}

export const convFilterGrad: KernelEntry = {
  kernels: ['Conv2DBackpropFilter'],
  impl: 'composed',
  over: 'none',
  what: 'conv filter gradient as a forward conv (or one product for 1×1)',
  register: () =>
    registerComposed('Conv2DBackpropFilter', ['x', 'dy'], ([x, dy], a) =>
      conv2dBackpropFilter(x as tf.Tensor4D, dy as tf.Tensor4D, a as unknown as Conv2DBackpropFilterAttrs),
    ),
};
