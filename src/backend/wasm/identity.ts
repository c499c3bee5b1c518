import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { registerDirect, type WasmBackendInternals } from './register.js';

/** Identity without a copy: the output shares the input's data, as wasm's own Reshape already does. */
function identityKernel(args: { inputs: NamedTensorInfoMap; backend: unknown }): TensorInfo | undefined {
  const x = args.inputs['x']!;
  if (x.dtype === 'string') return undefined; // strings live in JS, not on the heap: the stock kernel
  (args.backend as WasmBackendInternals).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identity: KernelEntry = {
  kernels: ['Identity'],
  impl: 'heap',
  over: 'wasm',
  what: 'identity without a copy',
  register: () => registerDirect('Identity', identityKernel),
};

/**
 * A cast to the dtype a tensor already has is an identity too (gradients cast to float32 what already is:
 * 132 copies of activations a MobileNetV3 step, 13–17 ms); other casts convert, with the stock kernel.
 */
function castKernel(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }) {
  return args.attrs?.['dtype'] === args.inputs['x']?.dtype ? identityKernel(args) : undefined;
}

export const castSame: KernelEntry = {
  kernels: ['Cast'],
  impl: 'heap',
  over: 'wasm',
  what: 'a cast to the same dtype without a copy',
  register: () => registerDirect('Cast', castKernel),
};
