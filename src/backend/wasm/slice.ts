import * as tf from '../../tf.js';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { registerDirect, type WasmBackendInternals } from './register.js';

/**
 * Slice as block copies: the innermost axes the slice takes whole are merged into one contiguous run, so
 * the gradient of a ZeroPadding2D (a crop of [B, H+1, W+1, C]) is one copy per row instead of one per
 * pixel; wasm's own 4-D slice copied C floats at a time (42 ms per MobileNetV2 pad gradient at batch 32).
 */
function sliceKernel(args: {
  inputs: NamedTensorInfoMap;
  backend: unknown;
  attrs?: NamedAttrMap;
}): TensorInfo | undefined {
  const b = args.backend as WasmBackendInternals;
  const x = args.inputs['x']!;
  if (x.dtype === 'string' || x.shape.length === 0) return undefined;
  const [begin, size] = tf.slice_util.parseSliceParams(
    { shape: x.shape } as tf.TensorInfo,
    args.attrs!['begin'] as number[],
    args.attrs!['size'] as number[],
  ) as [number[], number[]];
  const shape = x.shape;
  let k = shape.length - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const strides = tf.util.computeStrides(shape);
  const inner = k === shape.length - 1 ? 1 : strides[k]!;
  const run = size[k]! * inner;
  const out = b.makeOutput(size, x.dtype);
  const from = b.typedArrayFromHeap(x);
  const to = b.typedArrayFromHeap(out);
  const idx = new Array<number>(k).fill(0);
  const runs = size.slice(0, k).reduce((a, v) => a * v, 1);
  for (let n = 0, o = 0; n < runs; n++, o += run) {
    let off = begin[k]! * inner;
    for (let a = 0; a < k; a++) off += (begin[a]! + idx[a]!) * strides[a]!;
    to.set(from.subarray(off, off + run), o);
    for (let a = k - 1; a >= 0 && ++idx[a]! >= size[a]!; a--) idx[a] = 0;
  }
  return out;
}

export const slice: KernelEntry = {
  kernels: ['Slice'],
  impl: 'heap',
  over: 'wasm',
  what: 'slice by contiguous runs (ZeroPadding2D gradients)',
  register: () => registerDirect('Slice', sliceKernel),
};
