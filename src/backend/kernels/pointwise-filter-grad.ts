// A 1×1 conv's filter gradient (stride 1) on freezeflow's SIMD module: dW = Xᵀ·dY over every pixel, in
// cache-sized chunks of rows with 4×8 blocks of dW summed in registers. The composed form (two
// transposes of the activations and an XNNPACK matrix product) ran at ~3 GFLOP/s on MobileNetV2's
// expansion and projection layers; it stays the fallback for strides and other kernel sizes.
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { simdCall } from '../simd.js';
import { convInfo, registerDirect } from '../wasm-kernels.js';

type Attrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const { b, simd } = simdCall(args.backend);
  const { x, dy } = args.inputs;
  const a = args.attrs as unknown as Attrs;
  const [kh, kw, ci, co] = a.filterShape;
  if (!simd || !x || !dy || kh !== 1 || kw !== 1 || a.dataFormat === 'NCHW' || x.dtype !== 'float32') return undefined;
  const info = convInfo(x.shape as [number, number, number, number], a.filterShape, a);
  const { top, left, bottom, right } = info.padInfo;
  const plain = info.strideHeight === 1 && info.strideWidth === 1 && top + left + bottom + right === 0;
  if (!plain || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const out = b.makeOutput([1, 1, ci, co], 'float32');
  const rows = x.shape[0]! * x.shape[1]! * x.shape[2]!;
  simd.pointwise_filter_grad(
    b.getMemoryOffset(x.dataId),
    b.getMemoryOffset(dy.dataId),
    b.getMemoryOffset(out.dataId),
    rows,
    ci,
    co,
  );
  return out;
}

/** In front of the composed Conv2DBackpropFilter, which it falls back to. */
export function registerSimdPointwiseFilterGrad(): void {
  registerDirect('Conv2DBackpropFilter', kernel);
}
