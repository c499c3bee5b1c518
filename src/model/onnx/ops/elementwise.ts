// Add, Sub, Mul, Div with ONNX (numpy) broadcasting. Two same-shaped tensors add or multiply through
// tfjs' own Add / Multiply layers (residual connections: stock tfjs loads them); broadcasting between
// tensors (squeeze-excitation's x · s) and any constant operand go through OnnxBinary. Constants with
// constants fold. x times a sigmoid (or PyTorch's hard sigmoid) of x is one swish (hard swish) layer.
import * as tf from '../../../tf.js';
import type { Converter, NodeContext } from '../context.js';
import { OnnxBinary, OnnxUnary, type BinaryOp } from '../layers.js';
import { constant, constantForLayout, type ConstValue, type TensorValue } from '../values.js';

const FOLD: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};

function foldConstants(c: NodeContext, op: BinaryOp, a: ConstValue, b: ConstValue): ConstValue {
  const na = a.data.length;
  const nb = b.data.length;
  if (na !== nb && na !== 1 && nb !== 1)
    c.fail('constant operands of different shapes', 'fold them in PyTorch before export');
  const big = na >= nb ? a : b;
  const out = Array.from({ length: Math.max(na, nb) }, (_, i) =>
    FOLD[op](a.data[na === 1 ? 0 : i]!, b.data[nb === 1 ? 0 : i]!),
  );
  return constant(
    big.dims,
    big.data instanceof Float32Array || a.data instanceof Float32Array ? Float32Array.from(out) : out,
  );
}

/** A constant in the tensor's layout; a squeezed [N, C] tensor takes a [1, C, 1, 1] constant as [1, C]. */
function constantFor(c: NodeContext, x: TensorValue, k: ConstValue): { shape: number[]; values: number[] } {
  if (!x.squeezed) return constantForLayout(k, x.onnxShape.length);
  const d = [...Array<number>(Math.max(0, 4 - k.dims.length)).fill(1), ...k.dims];
  if (k.dims.length > 1 && (d[2] !== 1 || d[3] !== 1)) c.fail('a spatial constant against a pooled tensor');
  return { shape: k.dims.length > 1 ? [d[0]!, d[1]!] : k.dims, values: Array.from(k.data) };
}

/**
 * x · gate(x), the gate a sigmoid or PyTorch's hard sigmoid (x/6 + 1/2) of x itself: swish (SiLU) and
 * hard swish as PyTorch exports them. One layer then, whose gradient needs only x.
 */
function gated(a: TensorValue, b: TensorValue): { x: TensorValue; op: 'swish' | 'hardSwish' } | undefined {
  for (const [x, g] of [
    [a, b],
    [b, a],
  ] as const) {
    const gate = g.sym.sourceLayer;
    if (g.sym.inputs?.length !== 1 || g.sym.inputs[0] !== x.sym) continue;
    const config = gate.getConfig();
    if (gate.getClassName() === 'Activation' && config['activation'] === 'sigmoid') return { x, op: 'swish' };
    if (
      gate instanceof OnnxUnary &&
      gate.op === 'hardSigmoid' &&
      Math.abs(gate.alpha - 1 / 6) < 1e-6 &&
      gate.beta === 0.5
    )
      return { x, op: 'hardSwish' };
  }
  return undefined;
}

function twoTensors(c: NodeContext, op: BinaryOp, a: TensorValue, b: TensorValue) {
  const same = !!a.squeezed === !!b.squeezed;
  const fused = same && op === 'mul' ? gated(a, b) : undefined;
  if (fused) return c.like(fused.x, c.apply(new OnnxUnary({ op: fused.op, name: c.name }), fused.x.sym));
  const [sa, sb] = same ? [a.sym, b.sym] : [c.nhwc(a), c.nhwc(b)];
  const equal = sa.shape.length === sb.shape.length && sa.shape.every((d, i) => d === sb.shape[i]);
  const layer =
    equal && op === 'add'
      ? tf.layers.add({ name: c.name })
      : equal && op === 'mul'
        ? tf.layers.multiply({ name: c.name })
        : new OnnxBinary({ op, name: c.name });
  const out = c.apply(layer, [sa, sb]);
  return same ? c.like(a.onnxShape.length >= b.onnxShape.length ? a : b, out) : c.out(out);
}

const binary =
  (op: BinaryOp): Converter =>
  (c) => {
    const a = c.value(0);
    const b = c.value(1);
    if (!a || !b) return c.fail('an operand is missing');
    if (a.kind === 'const' && b.kind === 'const') return foldConstants(c, op, a, b);
    if (a.kind === 'tensor' && b.kind === 'tensor') return twoTensors(c, op, a, b);
    const [x, k] = a.kind === 'tensor' ? [a, b as ConstValue] : [b as TensorValue, a];
    const layer = new OnnxBinary({
      op,
      constant: constantFor(c, x, k),
      constantFirst: a.kind === 'const',
      name: c.name,
    });
    return c.like(x, c.apply(layer, x.sym));
  };

export const ELEMENTWISE: Record<string, Converter> = {
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
};
