// Conv geometry shared by the composed gradient kernels: tfjs's own output sizes and padding, and the
// padded / dilated views of dY that turn a gradient into a forward convolution.
import * as tf from '../../tf.js';

export type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

export type Conv2DBackpropFilterAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

export type DepthwiseAttrs = ConvAttrs & { dilations: [number, number] | number };

export function assertNoDilation(dilations: [number, number] | number, kernel: string): void {
  const [a, b] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (a !== 1 || b !== 1) throw new Error(`${kernel}: dilations > 1 are not supported (tfjs has no gradient for them)`);
}

/** tfjs's own conv geometry (output size, padding per side, strides) for the given shapes. */
export const convInfo = (
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  a: ConvAttrs,
  depthwise = false,
) => tf.backend_util.computeConv2DInfo(inShape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode, depthwise);

/**
 * The input-gradient view of dY: dilated by the stride and padded (or cropped) so that a stride-1
 * 'valid' correlation with the flipped kernel yields exactly the input's height × width.
 */
export function fullCorrelationInput(
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  h: number,
  w: number,
): tf.Tensor4D {
  const d = dilateSpatial(dy, info.strideHeight, info.strideWidth);
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  return padOrCrop(
    d,
    top,
    h + info.filterHeight - 1 - d.shape[1] - top,
    left,
    w + info.filterWidth - 1 - d.shape[2] - left,
  );
}

/** Pad (positive) or crop (negative) the two spatial axes of an NHWC tensor. */
export function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const padded =
    top > 0 || bottom > 0 || left > 0 || right > 0
      ? tf.pad(t, [
          [0, 0],
          [Math.max(top, 0), Math.max(bottom, 0)],
          [Math.max(left, 0), Math.max(right, 0)],
          [0, 0],
        ])
      : t;
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return padded;
  const [, h, w] = padded.shape;
  const t0 = Math.max(-top, 0);
  const l0 = Math.max(-left, 0);
  return tf.slice(padded, [0, t0, l0, 0], [-1, h - t0 - Math.max(-bottom, 0), w - l0 - Math.max(-right, 0), -1]);
}

/** dY spread out by the stride: (s−1) zeros between rows and columns, as a transposed conv sees it. */
export function dilateSpatial(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [b, oh, ow, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [b, oh, 1, ow, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.slice(
    tf.reshape(spread, [b, oh * sh, ow * sw, c]) as tf.Tensor4D,
    [0, 0, 0, 0],
    [-1, (oh - 1) * sh + 1, (ow - 1) * sw + 1, -1],
  );
}
