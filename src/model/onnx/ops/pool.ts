// Pooling: MaxPool (padding with -inf, as PyTorch pads), AveragePool (padding counted or not, as the
// export says), ceil_mode as extra padding at the end, and the global poolings whose [N, C, 1, 1] output
// is kept as a squeezed [N, C] until something needs the 1×1 back.
import * as tf from '../../../tf.js';
import type { Converter, NodeContext } from '../context.js';
import type { TensorValue } from '../values.js';
import { onnxPads, padFor, tfSame, windowOf, type Window } from './padding.js';

/** ceil_mode: the extra end padding that gives ceil((in − k) / s) + 1 windows, PyTorch's rule included. */
function ceilExtra(w: Window, size: number, before: number, after: number, i: 0 | 1): number {
  const span = size + before + after - w.kernel[i];
  let out = Math.ceil(span / w.strides[i]) + 1;
  if ((out - 1) * w.strides[i] >= size + before) out -= 1; // the last window must start inside the input
  return Math.max(0, (out - 1) * w.strides[i] + w.kernel[i] - (size + before + after));
}

function pool(c: NodeContext, kind: 'max' | 'avg'): TensorValue {
  const x = c.tensor(0);
  const input = c.nhwc(x);
  const win = windowOf(c, c.ints('kernel_shape', []));
  if (win.dilations.some((d) => d > 1)) c.fail('a dilated pooling window', 'tfjs pooling has no dilation');
  if (c.str('auto_pad', 'NOTSET') !== 'NOTSET') c.fail('auto_pad on a pooling', 're-export with explicit padding');
  const hw: [number, number] = [input.shape[1]!, input.shape[2]!];
  const pads = onnxPads(c, win, hw);
  if (c.int('ceil_mode', 0)) {
    pads[2] += ceilExtra(win, hw[0], pads[0], pads[2], 0);
    pads[3] += ceilExtra(win, hw[1], pads[1], pads[3], 1);
  }
  const countPad = c.int('count_include_pad', 0) === 1;
  if (kind === 'avg' && !countPad && pads.some((q) => q > 0) && !tfSame(win, hw).every((q, i) => q === pads[i]))
    c.fail('average pooling that excludes padding of these amounts', 'use count_include_pad=True or no padding');
  const padded = padFor(c, input, pads, win, {
    fill: kind === 'max' ? '-inf' : 0,
    sameOk: kind === 'max' || !countPad,
  });
  const cfg = { name: c.name, poolSize: win.kernel, strides: win.strides, padding: padded.padding };
  const layer = kind === 'max' ? tf.layers.maxPooling2d(cfg) : tf.layers.averagePooling2d(cfg);
  return c.out(c.apply(layer, padded.input));
}

const globalPool =
  (kind: 'max' | 'avg'): Converter =>
  (c) => {
    const x = c.tensor(0);
    if (x.squeezed) return x; // already 1×1
    if (x.onnxShape.length !== 4) c.fail(`a ${x.onnxShape.length}-D input`, 'global pooling of NCHW images only');
    const layer =
      kind === 'avg'
        ? tf.layers.globalAveragePooling2d({ name: c.name })
        : tf.layers.globalMaxPooling2d({ name: c.name });
    return c.out(c.apply(layer, x.sym), true);
  };

/** ReduceMean over H and W is a global average pooling (AdaptiveAvgPool2d(1) in some exports). */
const reduceMean: Converter = (c) => {
  const x = c.tensor(0);
  const axes = (c.constant(1)?.data ? Array.from(c.constant(1)!.data) : c.ints('axes', [])).map((a) =>
    a < 0 ? a + 4 : a,
  );
  if (x.onnxShape.length !== 4 || axes.length !== 2 || !axes.includes(2) || !axes.includes(3))
    c.fail(`a mean over axes [${axes.join(', ')}]`, 'means over H and W (global average pooling) only');
  const pooled = globalPool('avg')(c) as TensorValue;
  return c.int('keepdims', 1) ? pooled : c.out(pooled.sym);
};

export const POOL: Record<string, Converter> = {
  MaxPool: (c) => pool(c, 'max'),
  AveragePool: (c) => pool(c, 'avg'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  ReduceMean: reduceMean,
};
