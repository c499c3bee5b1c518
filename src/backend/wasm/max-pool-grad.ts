import * as tf from '../../tf.js';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import type { ConvAttrs } from './geometry.js';
import { registerDirect, type WasmBackendInternals } from './register.js';

/**
 * MaxPoolGrad on the wasm heap in one pass: each window's first maximum (row-major, strictly greater,
 * as tfjs's cpu kernel picks it) receives that output's gradient. wasm's own kernel took 27 ms for one
 * 64×28×28×16 pool in a resnet-mini step; this takes a few.
 */
function maxPoolGradKernel(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo {
  const b = args.backend as WasmBackendInternals;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const a = args.attrs as unknown as ConvAttrs & { filterSize: [number, number] | number };
  const [n, h, w, c] = input.shape as [number, number, number, number];
  const info = tf.backend_util.computePool2DInfo([n, h, w, c], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const out = b.makeOutput(input.shape, 'float32');
  // views after makeOutput: allocating may grow (and so replace) the heap
  const x = b.typedArrayFromHeap(input);
  const g = b.typedArrayFromHeap(dy);
  const dx = b.typedArrayFromHeap(out);
  dx.fill(0);
  const { outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  for (let bi = 0; bi < n; bi++)
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * strideHeight - info.padInfo.top;
      const rFrom = Math.max(0, r0);
      const rTo = Math.min(h, r0 + filterHeight);
      for (let yc = 0; yc < outWidth; yc++) {
        const c0 = yc * strideWidth - info.padInfo.left;
        const cFrom = Math.max(0, c0);
        const cTo = Math.min(w, c0 + filterWidth);
        const gBase = ((bi * outHeight + yr) * outWidth + yc) * c;
        for (let d = 0; d < c; d++) {
          let best = -Infinity;
          let at = -1;
          for (let r = rFrom; r < rTo; r++)
            for (let col = cFrom; col < cTo; col++) {
              const i = ((bi * h + r) * w + col) * c + d;
              const v = x[i]!;
              if (v > best) {
                best = v;
                at = i;
              }
            }
          if (at >= 0) dx[at] = dx[at]! + g[gBase + d]!;
        }
      }
    }
  return out;
}

export const maxPoolGrad: KernelEntry = {
  kernels: ['MaxPoolGrad'],
  impl: 'heap',
  over: 'wasm',
  what: 'max-pool gradient in one pass',
  register: () => registerDirect('MaxPoolGrad', maxPoolGradKernel),
};
