// Gemm and MatMul with a constant right-hand side: a Dense layer (kernel [in, out]).
import * as tf from '../../../tf.js';
import type { Converter, NodeContext } from '../context.js';
import { permute, type ConstValue } from '../values.js';
import { flatten } from './shape.js';

function dense(c: NodeContext, b: ConstValue, transB: boolean, alpha: number, bias?: Float32Array) {
  const x = flatten(c, c.tensor(0), `${c.name}.flatten`); // [N, C, 1, 1] or [N, C] in: PyTorch flattens before nn.Linear
  const [r, k] = b.dims as [number, number];
  const kernel = transB ? permute(Float32Array.from(b.data), [r, k], [1, 0]) : Float32Array.from(b.data);
  const units = transB ? r : k;
  const layer = tf.layers.dense({ units, useBias: !!bias, name: c.name });
  const weights = [{ data: alpha === 1 ? kernel : kernel.map((v) => v * alpha), shape: [transB ? k : r, units] }];
  if (bias) weights.push({ data: bias, shape: [units] });
  return c.out(c.apply(layer, x.sym, weights));
}

const gemm: Converter = (c) => {
  if (c.int('transA', 0)) c.fail('transA = 1', 'export with the input first');
  const b = c.needConstant(1, 'weight');
  if (b.dims.length !== 2) c.fail(`a ${b.dims.length}-D weight`);
  const transB = c.int('transB', 0) === 1;
  const units = transB ? b.dims[0]! : b.dims[1]!;
  const cv = c.constant(2);
  const beta = c.float('beta', 1);
  const bias = cv
    ? Float32Array.from({ length: units }, (_, i) => beta * cv.data[cv.data.length === 1 ? 0 : i]!)
    : undefined;
  return dense(c, b, transB, c.float('alpha', 1), bias);
};

const matMul: Converter = (c) => {
  const b = c.needConstant(1, 'right-hand side');
  if (b.dims.length !== 2) c.fail(`a ${b.dims.length}-D right-hand side`, 'matrix products with a 2-D weight only');
  return dense(c, b, false, 1);
};

export const DENSE: Record<string, Converter> = { Gemm: gemm, MatMul: matMul };
