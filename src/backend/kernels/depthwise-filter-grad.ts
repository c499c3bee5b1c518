// Depthwise conv filter gradient on freezeflow's SIMD module: one pass over x and dy per filter tap row,
// 16 channels at a time with the sum over the row in registers. tfjs composes it from a depthwise conv
// with an output-sized kernel (~0.25 GFLOP/s on MobileNetV2 shapes), which stays the fallback for
// channel multipliers > 1 and dilations.
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { depthwiseGeometry, simdCall, undilated } from '../simd.js';
import { convInfo, registerDirect, type DepthwiseAttrs } from '../wasm-kernels.js';

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

/** Put the SIMD kernel in front of the composed one (registered before it, which it falls back to). */
export function registerSimdDepthwiseFilterGrad(): void {
  registerDirect('DepthwiseConv2dNativeBackpropFilter', kernel);
}
