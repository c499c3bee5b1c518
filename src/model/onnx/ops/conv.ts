// Conv: plain, depthwise (groups = channels, PyTorch's depth multiplier as tfjs' depthMultiplier) and
// grouped (GroupConv2D). Weights move from PyTorch's [out, in/groups, kh, kw] to tfjs' layouts.
import * as tf from '../../../tf.js';
import type { Converter, NodeContext, Weight } from '../context.js';
import { GroupConv2D } from '../layers.js';
import { permute, type ConstValue } from '../values.js';
import { onnxPads, padFor, windowOf } from './padding.js';

function kernelFor(kind: 'conv' | 'depthwise' | 'group', w: ConstValue, cin: number): Weight {
  const [o, ig, kh, kw] = w.dims as [number, number, number, number];
  const data = Float32Array.from(w.data);
  if (kind === 'depthwise') {
    const m = o / cin; // output channel c*m + j reads input channel c
    return { data: permute(data, [cin, m, kh, kw], [2, 3, 0, 1]), shape: [kh, kw, cin, m] };
  }
  return { data: permute(data, [o, ig, kh, kw], [2, 3, 1, 0]), shape: [kh, kw, ig, o] };
}

const conv: Converter = (c: NodeContext) => {
  const x = c.tensor(0);
  const w = c.needConstant(1, 'weight');
  const b = c.constant(2);
  if (x.onnxShape.length !== 4 || w.dims.length !== 4) c.fail('only 2-D convolutions (NCHW inputs) are supported');
  const [o, , kh, kw] = w.dims as [number, number, number, number];
  const cin = x.onnxShape[1]!;
  const group = c.int('group', 1);
  const win = windowOf(c, c.ints('kernel_shape', [kh, kw]));
  if (win.strides.some((s) => s > 1) && win.dilations.some((d) => d > 1))
    c.fail('strides and dilations both above 1', 'tfjs convolutions take one or the other');
  const input = c.nhwc(x);
  const kind = group === 1 ? 'conv' : group === cin && o % cin === 0 ? 'depthwise' : 'group';
  const pads = onnxPads(c, win, [input.shape[1]!, input.shape[2]!]);
  const padded = padFor(c, input, pads, win, { fill: 0, sameOk: kind !== 'group' });
  const common = {
    name: c.name,
    kernelSize: win.kernel,
    strides: win.strides,
    dilationRate: win.dilations,
    useBias: !!b,
  };
  const layer =
    kind === 'conv'
      ? tf.layers.conv2d({ ...common, filters: o, padding: padded.padding })
      : kind === 'depthwise'
        ? tf.layers.depthwiseConv2d({ ...common, depthMultiplier: o / cin, padding: padded.padding })
        : new GroupConv2D({ ...common, filters: o, groups: group });
  const weights = [kernelFor(kind, w, cin)];
  if (b) weights.push({ data: Float32Array.from(b.data), shape: [o] });
  return c.out(c.apply(layer, padded.input, weights));
};

export const CONV: Record<string, Converter> = { Conv: conv };
