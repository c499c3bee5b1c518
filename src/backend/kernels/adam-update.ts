// One Adam (or AdamW) step per variable in one pass over its weights, gradient and moments, on
// freezeflow's SIMD module. tfjs' AdamOptimizer runs ~12 elementwise kernels per variable (each a pass
// over memory and a kernel call); this is the same arithmetic in the same float32 order, so the result
// is bit-identical (test). Used by the training step on the wasm backend (src/train/fused-adam.ts).
import * as tf from '../../tf.js';
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { simdKernels, type WasmBackend } from '../simd.js';

export const ADAM_UPDATE = 'FreezeflowAdamUpdate';

/** Float32 scalars as tfjs' scalar tensors would hold them; decay 1 means none. */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  decay: number;
}

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const b = args.backend as WasmBackend;
  const simd = simdKernels(b);
  if (!simd) throw new Error(`${ADAM_UPDATE}: the SIMD module is not loaded on this backend`);
  const { w, g, m, v, accBeta1, accBeta2 } = args.inputs as Record<string, TensorInfo>;
  const a = args.attrs as unknown as AdamUpdateAttrs;
  const outs = [w!, m!, v!].map((t) => b.makeOutput(t.shape, 'float32'));
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  simd.adam_update(
    at(w!),
    at(g!),
    at(m!),
    at(v!),
    at(accBeta1!),
    at(accBeta2!),
    at(outs[0]!),
    at(outs[1]!),
    at(outs[2]!),
    tf.util.sizeFromShape(w!.shape),
    a.beta1,
    1 - a.beta1,
    a.beta2,
    1 - a.beta2,
    a.epsilon,
    -a.learningRate,
    a.decay,
    a.decay === 1 ? 0 : 1,
  );
  return outs;
}

export const adamUpdate: KernelEntry = {
  kernels: [ADAM_UPDATE],
  impl: 'simd',
  over: 'none',
  what: 'one Adam/AdamW step per variable in one pass (bit-identical to tfjs)',
  register: () => tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: 'wasm', kernelFunc: kernel }),
};
