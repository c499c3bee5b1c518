// Depthwise conv input gradient on freezeflow's SIMD module: each output pixel's gradient scattered back
// through every filter tap, 16 channels at a time. The composed kernel (a depthwise conv over the
// stride-dilated, padded gradient with the flipped filter) stays the fallback for channel multipliers
// > 1 and dilations.
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { simdKernels, type WasmBackend } from '../simd.js';
import { convInfo, registerDirect, type DepthwiseAttrs } from '../wasm-kernels.js';

type Attrs = DepthwiseAttrs & { inputShape: [number, number, number, number] };

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const b = args.backend as WasmBackend;
  const simd = simdKernels(b);
  const { dy, filter } = args.inputs;
  const a = args.attrs as unknown as Attrs;
  const [kh, kw, c, m] = filter?.shape ?? [];
  const dil = typeof a.dilations === 'number' ? [a.dilations, a.dilations] : a.dilations;
  if (!simd || !dy || !filter || m !== 1 || dil[0] !== 1 || dil[1] !== 1 || dy.dtype !== 'float32') return undefined;
  const [batch, h, w] = a.inputShape;
  const info = convInfo(a.inputShape, filter.shape as [number, number, number, number], a, true);
  const out = b.makeOutput([...a.inputShape], 'float32');
  simd.depthwise_input_grad(
    b.getMemoryOffset(dy.dataId),
    b.getMemoryOffset(filter.dataId),
    b.getMemoryOffset(out.dataId),
    batch,
    h,
    w,
    c!,
    info.outHeight,
    info.outWidth,
    kh!,
    kw!,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  return out;
}

/** In front of the composed kernel, which it falls back to. */
export function registerSimdDepthwiseInputGrad(): void {
  registerDirect('DepthwiseConv2dNativeBackpropInput', kernel);
}
