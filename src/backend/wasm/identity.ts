import type { NamedTensorInfoMap, TensorInfo } from '../../tf.js';
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
