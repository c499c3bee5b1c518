// MaxPoolGrad on freezeflow's SIMD module: four channels at a time, each window's first maximum gets the
// output's gradient (the heap kernel's rule, and its order of additions: the two agree bit for bit).
import * as tf from '../../tf.js';
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { depthwiseGeometry, simdCall } from '../simd.js';
import type { ConvAttrs } from '../wasm/geometry.js';
import { registerDirect } from '../wasm/register.js';
import type { KernelEntry } from '../kernel-entry.js';

type Attrs = ConvAttrs & { filterSize: [number, number] | number };

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const { b, simd } = simdCall(args.backend);
  const { dy, input } = args.inputs;
  if (!simd || !dy || !input || input.dtype !== 'float32') return undefined;
  const a = args.attrs as unknown as Attrs;
  const [n, h, w, c] = input.shape as [number, number, number, number];
  const info = tf.backend_util.computePool2DInfo([n, h, w, c], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const out = b.makeOutput([...input.shape], 'float32');
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  simd.max_pool_grad(at(input), at(dy), at(out), ...depthwiseGeometry(info));
  return out;
}

export const simdMaxPoolGrad: KernelEntry = {
  kernels: ['MaxPoolGrad'],
  impl: 'simd',
  over: 'composed',
  what: 'max-pool gradient, four channels at a time',
  register: () => registerDirect('MaxPoolGrad', kernel),
};
