// ONNX pads ([top, left, bottom, right]) on an NHWC tensor: tfjs' 'same' where it pads exactly the same
// amounts (stride 1 with symmetric pads, mostly), else an explicit padding layer and 'valid'.
import * as tf from '../../../tf.js';
import type { NodeContext } from '../context.js';
import { OnnxPad } from '../layers.js';

export interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
}

/** pads from the node's `pads` or `auto_pad` attribute, for an input of spatial size hw. */
export function onnxPads(c: NodeContext, w: Window, hw: [number, number]): [number, number, number, number] {
  const auto = c.str('auto_pad', 'NOTSET');
  if (auto === 'NOTSET') {
    const p = c.ints('pads', [0, 0, 0, 0]);
    return [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0, p[3] ?? 0];
  }
  if (auto === 'VALID') return [0, 0, 0, 0];
  const same = tfSame(w, hw); // SAME_UPPER: the extra pixel at the end, as tfjs; SAME_LOWER at the start
  return auto === 'SAME_LOWER' ? [same[2]!, same[3]!, same[0]!, same[1]!] : same;
}

/** What tfjs' 'same' pads for this window and size, in ONNX order (the odd pixel at the end). */
export function tfSame(w: Window, hw: [number, number]): [number, number, number, number] {
  const total = [0, 1].map((i) => {
    const out = Math.ceil(hw[i]! / w.strides[i]!);
    return Math.max((out - 1) * w.strides[i]! + (w.kernel[i]! - 1) * w.dilations[i]! + 1 - hw[i]!, 0);
  });
  const small = total.map((t) => Math.floor(t / 2));
  return [small[0]!, small[1]!, total[0]! - small[0]!, total[1]! - small[1]!];
}

/**
 * The input to a windowed op and the tfjs padding mode that reproduces ONNX's pads. `fill` is what padding
 * adds (0 for convolutions, '-inf' for max pooling); `sameOk` is false where tfjs' 'same' differs in more
 * than the amounts (average pooling counts the padding differently).
 */
export function padFor(
  c: NodeContext,
  x: tf.SymbolicTensor,
  pads: number[],
  w: Window,
  opts: { fill: number | '-inf'; sameOk: boolean },
): { input: tf.SymbolicTensor; padding: 'same' | 'valid' } {
  if (pads.every((p) => p === 0)) return { input: x, padding: 'valid' };
  const hw: [number, number] = [x.shape[1]!, x.shape[2]!];
  if (opts.sameOk && tfSame(w, hw).every((p, i) => p === pads[i])) return { input: x, padding: 'same' };
  const padding: [[number, number], [number, number]] = [
    [pads[0]!, pads[2]!],
    [pads[1]!, pads[3]!],
  ];
  const layer =
    opts.fill === 0
      ? tf.layers.zeroPadding2d({ padding, name: c.extra('pad') })
      : new OnnxPad({ padding, fill: opts.fill, name: c.extra('pad') });
  return { input: c.apply(layer, x), padding: 'valid' };
}

export function windowOf(c: NodeContext, kernel: number[]): Window {
  const two = (v: number[], d: number): [number, number] => [v[0] ?? d, v[1] ?? d];
  return {
    kernel: two(kernel, 1),
    strides: two(c.ints('strides', [1, 1]), 1),
    dilations: two(c.ints('dilations', [1, 1]), 1),
  };
}
