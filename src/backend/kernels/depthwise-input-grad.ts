// Depthwise conv input gradient on freezeflow's SIMD module: each output pixel's gradient scattered back
// through every filter tap, 16 channels at a time. The composed kernel (a depthwise conv over the
// stride-dilated, padded gradient with the flipped filter) stays the fallback for channel multipliers
// > 1 and dilations.
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { simdCall, undilated } from '../simd.js';
import { convInfo, registerDirect, type DepthwiseAttrs } from '../wasm-kernels.js';

type Attrs = DepthwiseAttrs & { inputShape: [number, number, number, number] };

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const { b, simd } = simdCall(args.backend);
  const { dy, filter } = args.inputs;
  const a = args.attrs as unknown as Attrs;
  const fs = (filter?.shape ?? []) as [number, number, number, number];
  const [kh, kw, c, m] = fs;
  if (!simd || !dy || !filter || m !== 1 || !undilated(a.dilations) || dy.dtype !== 'float32') return undefined;
  const info = convInfo(a.inputShape, fs, a, true);
  const out = b.makeOutput([...a.inputShape], 'float32');
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  const geometry = [info.outHeight, info.outWidth, kh, kw, info.strideHeight, info.strideWidth] as const;
  simd.depthwise_input_grad(
    at(dy),
    at(filter),
    at(out),
    a.inputShape[0],
    a.inputShape[1],
    a.inputShape[2],
    c,
    ...geometry,
    info.padInfo.top,
    info.padInfo.left,
  );
  return out;
}

/** In front of the composed kernel, which it falls back to. */
export function registerSimdDepthwiseInputGrad(): void {
  registerDirect('DepthwiseConv2dNativeBackpropInput', kernel);
}
