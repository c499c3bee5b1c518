// Depthwise conv input gradient on freezeflow's SIMD module: each output pixel's gradient scattered back
// through every filter tap, 16 channels at a time. The composed kernel (a depthwise conv over the
// stride-dilated, padded gradient with the flipped filter) stays the fallback for channel multipliers
// > 1 and dilations.
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { depthwiseGeometry, simdCall, undilated } from '../simd.js';
import { convInfo, type DepthwiseAttrs } from '../wasm/geometry.js';
import { registerDirect } from '../wasm/register.js';
import type { KernelEntry } from '../kernel-entry.js';

type Attrs = DepthwiseAttrs & { inputShape: [number, number, number, number] };

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const { b, simd } = simdCall(args.backend);
  const { dy, filter } = args.inputs;
  const a = args.attrs as unknown as Attrs;
  const fs = (filter?.shape ?? []) as [number, number, number, number];
  const m = fs[3];
  if (!simd || !dy || !filter || m !== 1 || !undilated(a.dilations) || dy.dtype !== 'float32') return undefined;
  const info = convInfo(a.inputShape, fs, a, true);
  const out = b.makeOutput([...a.inputShape], 'float32');
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  simd.depthwise_input_grad(at(dy), at(filter), at(out), ...depthwiseGeometry(info));
  return out;
}

export const simdDepthwiseInputGrad: KernelEntry = {
  kernels: ['DepthwiseConv2dNativeBackpropInput'],
  impl: 'simd',
  over: 'composed',
  what: 'depthwise input gradient',
  register: () => registerDirect('DepthwiseConv2dNativeBackpropInput', kernel),
};
