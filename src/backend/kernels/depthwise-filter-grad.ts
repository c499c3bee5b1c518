// Depthwise conv filter gradient on freezeflow's SIMD module: one pass over x and dy per filter tap row,
// 16 channels at a time with the sum over the row in registers. tfjs composes it from a depthwise conv
// with an output-sized kernel (~0.25 GFLOP/s on MobileNetV2 shapes), which stays the fallback for
// channel multipliers > 1 and dilations.
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { depthwiseGeometry, simdCall, undilated } from '../simd.js';
import { convInfo, type DepthwiseAttrs } from '../wasm/geometry.js';
import { registerDirect } from '../wasm/register.js';
import type { KernelEntry } from '../kernel-entry.js';

type Attrs = DepthwiseAttrs & { filterShape: [number, number, number, number] };

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const { b, simd } = simdCall(args.backend);
  const { x, dy } = args.inputs;
  const a = args.attrs as unknown as Attrs;
  const [kh, kw, c, m] = a.filterShape;
  if (!simd || !x || !dy || m !== 1 || !undilated(a.dilations) || x.dtype !== 'float32') return undefined;
  const info = convInfo(x.shape as [number, number, number, number], a.filterShape, a, true);
  const out = b.makeOutput([kh, kw, c, m], 'float32');
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  simd.depthwise_filter_grad(at(x), at(dy), at(out), ...depthwiseGeometry(info));
  return out;
}

export const simdDepthwiseFilterGrad: KernelEntry = {
  kernels: ['DepthwiseConv2dNativeBackpropFilter'],
  impl: 'simd',
  over: 'composed',
  what: 'depthwise filter gradient, 16 channels at a time',
  register: () => registerDirect('DepthwiseConv2dNativeBackpropFilter', kernel),
};
