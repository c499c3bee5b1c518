// Hard swish and its gradient in one pass each, new kernels on wasm. As tf ops the forward pass is four
// full-size kernels and the gradient from x alone two comparisons and two selects with their scalars
// tiled to full size: a third of a MobileNetV3-small training step. The imported layer
// (src/model/onnx/layers.ts) runs these where they are registered, and the tf ops elsewhere.
import type { NamedTensorInfoMap, TensorInfo } from '../../tf.js';
import * as tf from '../../tf.js';
import { HARD_SWISH, HARD_SWISH_GRAD } from '../../core/kernel-names.js';
import { simdCall } from '../simd.js';
import type { WasmBackendInternals } from '../wasm/register.js';
import type { KernelEntry } from '../kernel-entry.js';

/** The same numbers without the SIMD module (FREEZEFLOW_SIMD=0): a loop over the heap. */
function onHeap(b: WasmBackendInternals, x: TensorInfo, dy: TensorInfo | undefined, out: TensorInfo): void {
  const [xs, o] = [b.typedArrayFromHeap(x), b.typedArrayFromHeap(out)];
  const g = dy && b.typedArrayFromHeap(dy);
  const f = Math.fround;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    const a = f(f(v * f(1 / 6)) + 0.5);
    o[i] = g ? g[i]! * (v < -3 ? 0 : v > 3 ? 1 : f(f(v / 3) + 0.5)) : v * (a < 0 ? 0 : a > 1 ? 1 : a);
  }
}

function hardSwish(args: { inputs: NamedTensorInfoMap; backend: unknown }, grad: boolean): TensorInfo {
  const { b, simd } = simdCall(args.backend);
  const { x, dy } = args.inputs as { x: TensorInfo; dy?: TensorInfo };
  const out = b.makeOutput([...x.shape], 'float32');
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  if (!simd) onHeap(b as unknown as WasmBackendInternals, x, grad ? dy : undefined, out);
  else simd.hard_swish(at(x), grad ? at(dy!) : 0, at(out), tf.util.sizeFromShape(x.shape), grad ? 1 : 0);
  return out;
}

export const simdHardSwish: KernelEntry = {
  kernels: [HARD_SWISH, HARD_SWISH_GRAD],
  impl: 'simd',
  over: 'none',
  what: "hard swish and its gradient from x alone, one pass each (imported MobileNetV3's activation)",
  register: () => {
    tf.registerKernel({ kernelName: HARD_SWISH, backendName: 'wasm', kernelFunc: (a) => hardSwish(a, false) });
    tf.registerKernel({ kernelName: HARD_SWISH_GRAD, backendName: 'wasm', kernelFunc: (a) => hardSwish(a, true) });
  },
};
