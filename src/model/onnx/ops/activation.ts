// Activations: tfjs' own layers where one means the same (ReLU, ReLU6 as ReLU{maxValue: 6}, LeakyReLU,
// sigmoid, tanh, softmax), OnnxUnary for HardSigmoid, HardSwish and a general Clip.
import * as tf from '../../../tf.js';
import type { Converter, NodeContext } from '../context.js';
import { OnnxUnary } from '../layers.js';
import { onnxAxis } from '../values.js';

/** A layer applied to the input as it is (a squeezed [N, C] value stays squeezed: elementwise). */
const unary =
  (make: (c: NodeContext) => tf.layers.Layer): Converter =>
  (c) => {
    const x = c.tensor(0);
    return c.like(x, c.apply(make(c), x.sym));
  };

/** Clip's bounds: inputs from opset 11, attributes before. */
function clipBounds(c: NodeContext): [number, number] {
  const lo = c.constant(1)?.data[0] ?? c.float('min', -Infinity);
  const hi = c.constant(2)?.data[0] ?? c.float('max', Infinity);
  return [lo, hi];
}

function clip(c: NodeContext): tf.layers.Layer {
  const [lo, hi] = clipBounds(c);
  if (lo === 0) return tf.layers.reLU({ name: c.name, ...(Number.isFinite(hi) ? { maxValue: hi } : {}) });
  if (!Number.isFinite(lo) || !Number.isFinite(hi))
    c.fail(`bounds [${lo}, ${hi}]`, 'clip with both bounds finite or min 0');
  return new OnnxUnary({ op: 'clip', alpha: lo, beta: hi, name: c.name });
}

function softmax(c: NodeContext): tf.layers.Layer {
  const x = c.tensor(0);
  const rank = x.squeezed ? 2 : x.onnxShape.length;
  const axis = c.int('axis', c.opset >= 13 ? -1 : 1); // before opset 13 the default was 1 (rank 2: the same)
  const a = axis < 0 ? axis + rank : axis;
  if (a !== rank - 1 && !(rank === 4 && a === 1))
    c.fail(`softmax over axis ${axis}`, 'softmax over the last (or channel) axis');
  return tf.layers.softmax({ name: c.name, axis: x.squeezed ? -1 : onnxAxis(a, rank) });
}

export const ACTIVATION: Record<string, Converter> = {
  Relu: unary((c) => tf.layers.reLU({ name: c.name })),
  Clip: unary(clip),
  LeakyRelu: unary((c) => tf.layers.leakyReLU({ name: c.name, alpha: c.float('alpha', 0.01) })),
  Sigmoid: unary((c) => tf.layers.activation({ name: c.name, activation: 'sigmoid' })),
  Tanh: unary((c) => tf.layers.activation({ name: c.name, activation: 'tanh' })),
  HardSigmoid: unary(
    (c) => new OnnxUnary({ op: 'hardSigmoid', alpha: c.float('alpha', 0.2), beta: c.float('beta', 0.5), name: c.name }),
  ),
  HardSwish: unary((c) => new OnnxUnary({ op: 'hardSwish', name: c.name })),
  Softmax: unary(softmax),
};
