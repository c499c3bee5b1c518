// How freezeflow's wasm kernels meet the engine: heap tensors in and out without leaks, and registration
// in front of the kernel a name already has (which a kernel falls back to where it does not apply).
import * as tf from '../../tf.js';
import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '../../tf.js';

/** What freezeflow's kernels use of the wasm backend beyond the KernelBackend interface. */
export type WasmBackendInternals = KernelBackend & {
  incRef(dataId: object): void;
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
};

/** Hand a tensor made with tf ops back to the engine as a kernel output, without leaking it. */
export function asOutput(backend: WasmBackendInternals, t: tf.Tensor): TensorInfo {
  backend.incRef(t.dataId);
  const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return info;
}

/**
 * Wrap a kernel input as a tensor for tf ops. makeTensorFromTensorInfo does not take a reference on the
 * backend data, but dispose() drops one: without incRef the input would be freed under its owner
 * (a use-after-free in the bias gradient, and numTensors drifting by one per call).
 */
export function asTensor(backend: WasmBackendInternals, info: TensorInfo): tf.Tensor {
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend);
}

export type DirectKernel = (args: {
  inputs: NamedTensorInfoMap;
  backend: unknown;
  attrs?: NamedAttrMap;
}) => TensorInfo | undefined;

/** How many calls a kernel of ours handed to the one it replaced (the kernel profile tells the two apart). */
export const fallbacks = { count: 0 };

/** Replace a stock wasm kernel with a direct one (heap in, heap out); undefined leaves a case to the stock one. */
export function registerDirect(kernelName: string, fn: DirectKernel): void {
  const stock = tf.getKernel(kernelName, 'wasm');
  if (stock) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    ...stock,
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const out = fn(args as Parameters<DirectKernel>[0]);
      if (out) return out;
      fallbacks.count++;
      if (!stock) throw new Error(`${kernelName}: no stock wasm kernel for this case`);
      return stock.kernelFunc(args);
    },
  });
}

export type Attrs = Record<string, unknown>;

/**
 * Register a wasm kernel computed with tf ops on its inputs (kept alive and released correctly). Where
 * wasm has a stock kernel of that name, it is replaced, and `fn` returns undefined for the cases it
 * leaves to the stock kernel (where that one is faster).
 */
export function registerComposed(
  kernelName: string,
  inputNames: readonly string[],
  fn: (inputs: tf.Tensor[], attrs: Attrs) => tf.Tensor | undefined,
): void {
  registerDirect(kernelName, (args) => {
    const b = args.backend as WasmBackendInternals;
    // optional inputs (a BatchNorm without offset) come through as undefined
    const ts = inputNames.map((n) => (args.inputs[n] ? asTensor(b, args.inputs[n]) : undefined));
    try {
      const out = fn(ts as tf.Tensor[], (args.attrs ?? {}) as Attrs);
      return out && asOutput(b, out);
    } finally {
      ts.forEach((t) => t?.dispose());
    }
  });
}
