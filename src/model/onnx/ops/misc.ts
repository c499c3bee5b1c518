// Dropout (kept as a layer, so a schedule can name it), Identity, and constant Pad of H and W.
import * as tf from '../../../tf.js';
import type { Converter } from '../context.js';
import { OnnxPad } from '../layers.js';

const dropout: Converter = (c) => {
  const x = c.tensor(0);
  const rate = c.constant(1)?.data[0] ?? c.float('ratio', 0.5);
  return [c.like(x, c.apply(tf.layers.dropout({ rate, name: c.name }), x.sym))];
};

const pad: Converter = (c) => {
  const x = c.tensor(0);
  if (c.str('mode', 'constant') !== 'constant') c.fail(`mode '${c.str('mode', '')}'`, 'constant padding only');
  const pads = c.constant(1) ? Array.from(c.constant(1)!.data, Number) : c.ints('pads', []);
  const value = c.constant(2)?.data[0] ?? c.float('value', 0);
  if (x.onnxShape.length !== 4 || pads.length !== 8 || [0, 1, 4, 5].some((i) => pads[i] !== 0))
    c.fail('padding other than of H and W of an NCHW tensor');
  const padding: [[number, number], [number, number]] = [
    [pads[2]!, pads[6]!],
    [pads[3]!, pads[7]!],
  ];
  const layer =
    value === 0
      ? tf.layers.zeroPadding2d({ padding, name: c.name })
      : new OnnxPad({ padding, fill: value, name: c.name });
  return c.out(c.apply(layer, c.nhwc(x)));
};

export const MISC: Record<string, Converter> = {
  Dropout: dropout,
  Identity: (c) => c.value(0) ?? c.fail('no input'),
  Pad: pad,
};
