// Shape arithmetic. `x.view(n, -1)` exports as Shape → Gather → Unsqueeze → Concat → Reshape: the shape
// parts fold to constants here (the model's spatial size is fixed at import), so the Reshape sees a
// constant target and becomes a flatten. Flatten of NHWC tensors puts channels first again when H·W > 1,
// so a Linear layer after it sees PyTorch's element order.
import * as tf from '../../../tf.js';
import type { Converter, NodeContext } from '../context.js';
import { DTYPE } from '../graph.js';
import { constant, tensorConstant, type ConstValue, type TensorValue } from '../values.js';

const ints = (v: ConstValue) => Array.from(v.data, Number);

/** Axes from an attribute (before opset 13) or the second input. */
const axesOf = (c: NodeContext) => (c.constant(1) ? ints(c.constant(1)!) : c.ints('axes', []));

/** Flatten an NCHW-ordered tensor to [N, rest]: the one reshape an image classifier needs. */
export function flatten(c: NodeContext, x: TensorValue, name = c.name): TensorValue {
  if (x.squeezed) return c.out(x.sym);
  if (x.onnxShape.length === 2) return x;
  let sym = x.sym;
  const spatial = x.onnxShape.length === 4 ? x.onnxShape[2]! * x.onnxShape[3]! : 1;
  if (spatial > 1) sym = c.apply(tf.layers.permute({ dims: [3, 1, 2], name: `${name}.nchw` }), sym);
  return c.out(c.apply(tf.layers.flatten({ name }), sym));
}

const reshape: Converter = (c) => {
  const x = c.value(0);
  const target = ints(c.needConstant(1, 'target shape'));
  if (x?.kind === 'const') {
    const n = x.data.length;
    const known = target.map((d, i) => (d === 0 ? x.dims[i]! : d));
    const rest = known.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    return constant(
      known.map((d) => (d === -1 ? n / rest : d)),
      x.data,
    );
  }
  const t = c.tensor(0);
  const rest = t.onnxShape.slice(1).reduce((a, b) => a * b, 1);
  if (target.length === 2 && (target[1] === -1 || target[1] === rest)) return flatten(c, t);
  const plain = t.squeezed || t.onnxShape.length === 2;
  if (plain && target.length === 4 && target[2] === 1 && target[3] === 1) return c.out(c.tensor(0).sym, true);
  return c.fail(`a reshape to [${target.join(', ')}]`, 'only flattening reshapes (x.view(n, -1)) are supported');
};

const shape: Converter = (c) => {
  const s = c.tensor(0).onnxShape;
  const start = c.int('start', 0);
  const end = c.int('end', s.length);
  return constant([s.slice(start, end).length], s.slice(start, end));
};

const gather: Converter = (c) => {
  const data = c.needConstant(0, 'data');
  const indices = c.needConstant(1, 'indices');
  if (c.int('axis', 0) !== 0 || data.dims.length > 1) c.fail('a gather other than from a 1-D constant');
  const picked = ints(indices).map((i) => data.data[i < 0 ? i + data.data.length : i]!);
  return constant(indices.dims, picked);
};

const unsqueeze: Converter = (c) => {
  const x = c.value(0);
  const axes = axesOf(c);
  if (x?.kind === 'const') {
    const dims = [...x.dims];
    for (const a of [...axes].sort((p, q) => p - q)) dims.splice(a < 0 ? a + dims.length + 1 : a, 0, 1);
    return constant(dims, x.data);
  }
  const t = c.tensor(0);
  if (t.onnxShape.length === 2 && axes.length === 2 && axes.includes(2) && axes.includes(3)) return c.out(t.sym, true);
  return c.fail(`unsqueeze at axes [${axes.join(', ')}]`, 'only [N, C] → [N, C, 1, 1] is supported');
};

const squeeze: Converter = (c) => {
  const x = c.value(0);
  if (x?.kind === 'const')
    return constant(
      x.dims.filter((d) => d !== 1),
      x.data,
    );
  const t = c.tensor(0);
  if (t.squeezed) return c.out(t.sym);
  return t.onnxShape.length === 4 && t.onnxShape[2] === 1 && t.onnxShape[3] === 1
    ? flatten(c, t)
    : c.fail('a squeeze of a tensor with H·W > 1');
};

const concat: Converter = (c) => {
  const vals = c.node.inputs.map((_, i) => c.value(i)!);
  if (vals.every((v) => v.kind === 'const')) {
    const parts = vals as ConstValue[];
    const data = parts.flatMap((p) => Array.from(p.data));
    return constant([data.length], parts.some((p) => p.data instanceof Float32Array) ? Float32Array.from(data) : data);
  }
  const ts = c.node.inputs.map((_, i) => c.tensor(i));
  if (ts.length === 1) return ts[0]!; // torch.cat of a one-element list (DenseNet's first layer)
  const rank = ts[0]!.onnxShape.length;
  const axis = c.int('axis', 1);
  if ((axis < 0 ? axis + rank : axis) !== 1) c.fail(`concatenation along axis ${axis}`, 'channel concatenation only');
  const squeezed = ts.every((t) => t.squeezed);
  const syms = ts.map((t) => (squeezed ? t.sym : c.nhwc(t)));
  return c.out(c.apply(tf.layers.concatenate({ axis: -1, name: c.name }), syms), squeezed);
};

const constantOp: Converter = (c) => {
  const v = c.attr('value');
  if (v && typeof v === 'object' && !Array.isArray(v)) return tensorConstant(v);
  const f = c.attr('value_float') ?? c.attr('value_floats');
  const i = c.attr('value_int') ?? c.attr('value_ints');
  const x = f ?? i;
  if (x === undefined) c.fail('a Constant without a numeric value');
  const data = typeof x === 'number' ? [x] : (x as number[]);
  return constant(typeof x === 'number' ? [] : [data.length], f !== undefined ? Float32Array.from(data) : data);
};

const cast: Converter = (c) => {
  const x = c.value(0);
  if (x?.kind === 'tensor') return x; // images are float32 throughout
  const k = c.needConstant(0, 'input');
  const to = c.int('to', DTYPE.FLOAT);
  return constant(
    k.dims,
    to === DTYPE.FLOAT || to === DTYPE.DOUBLE || to === DTYPE.FLOAT16
      ? Float32Array.from(k.data)
      : ints(k).map(Math.trunc),
  );
};

export const SHAPE: Record<string, Converter> = {
  Shape: shape,
  Gather: gather,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Concat: concat,
  Reshape: reshape,
  Flatten: (c) => (c.int('axis', 1) === 1 ? flatten(c, c.tensor(0)) : c.fail(`flatten from axis ${c.int('axis', 1)}`)),
  Constant: constantOp,
  Cast: cast,
};
