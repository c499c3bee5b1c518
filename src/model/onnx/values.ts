// What a converted ONNX value is while the graph is being built: a constant the importer can compute with
// (weights, shapes), or a symbolic tfjs tensor. Rank-4 tensors are NCHW in ONNX and NHWC in tfjs: the
// layout changes once, here, and ONNX axes are mapped through onnxAxis.
import type * as tf from '../../tf.js';
import type { OnnxTensor } from './graph.js';

export interface ConstValue {
  kind: 'const';
  dims: number[];
  data: Float32Array | number[];
}

export interface TensorValue {
  kind: 'tensor';
  /** the value's shape as ONNX sees it (NCHW for rank 4); the batch dimension as the graph gives it */
  onnxShape: number[];
  sym: tf.SymbolicTensor;
  /**
   * ONNX [N, C, 1, 1] held as tfjs [N, C] (a global pooling's output): classification heads then need no
   * reshape; a consumer that needs rank 4 asks the context for it.
   */
  squeezed?: boolean;
}

export type Value = ConstValue | TensorValue;

export const constant = (dims: number[], data: Float32Array | number[]): ConstValue => ({ kind: 'const', dims, data });

/** An initializer or a Constant node's tensor as a constant value. */
export const tensorConstant = (t: OnnxTensor): ConstValue => constant(t.dims, t.float ?? t.int ?? []);

/** ONNX's NCHW axis of a rank-4 tensor → the tfjs NHWC axis. */
export function onnxAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return rank === 4 ? ([0, 3, 1, 2] as const)[a]! : a;
}

/** A tfjs tensor's shape as ONNX would give it (batch: the graph's batch size). */
export function onnxShapeOf(sym: tf.SymbolicTensor, batch: number): number[] {
  const s = sym.shape.map((d, i) => (i === 0 ? batch : (d ?? -1)));
  return s.length === 4 ? [s[0]!, s[3]!, s[1]!, s[2]!] : s;
}

/** Transpose a row-major array: out dims = dims permuted by perm. */
export function permute(data: Float32Array, dims: readonly number[], perm: readonly number[]): Float32Array {
  const rank = dims.length;
  const outDims = perm.map((p) => dims[p]!);
  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * dims[i + 1]!;
  const srcStride = perm.map((p) => strides[p]!); // for each output axis, the stride in the source
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += idx[a]! * srcStride[a]!;
    out[o] = data[src]!;
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a]! < outDims[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

/** A constant broadcast against a tensor of rank `rank`, moved to tfjs' layout: [dims, values]. */
export function constantForLayout(c: ConstValue, rank: number): { shape: number[]; values: number[] } {
  const values = Array.from(c.data);
  if (rank !== 4 || c.dims.length <= 1) return { shape: c.dims.length ? c.dims : [], values };
  const dims = [...Array<number>(4 - c.dims.length).fill(1), ...c.dims];
  const moved = permute(Float32Array.from(values), dims, [0, 2, 3, 1]);
  return { shape: [dims[0]!, dims[2]!, dims[3]!, dims[1]!], values: Array.from(moved) };
}
