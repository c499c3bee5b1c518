// A conv's input gradient on freezeflow's SIMD module: per chunk of output pixels, their patch gradients
// dY·Wᵀ (4×8 register blocks), each added back to the input pixels it came from. The composed form (an
// XNNPACK conv over the stride-dilated, padded gradient with the flipped filter) stays for 1×1 convs at
// stride 1, where it is one well-shaped matrix product, and for NCHW.
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { SIMD_CHUNK, simdCall, simdHelper } from '../simd.js';
import { convInfo, type ConvAttrs } from '../wasm/geometry.js';
import { registerDirect } from '../wasm/register.js';
import type { KernelEntry } from '../kernel-entry.js';

type Attrs = ConvAttrs & {
  dataFormat: 'NHWC' | 'NCHW';
  inputShape: [number, number, number, number];
};

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const { b, simd } = simdCall(args.backend);
  const { dy, filter } = args.inputs;
  const a = args.attrs as unknown as Attrs;
  if (!simd || !dy || !filter || a.dataFormat === 'NCHW' || dy.dtype !== 'float32') return undefined;
  const fs = filter.shape as [number, number, number, number];
  const [kh, kw, ci, co] = fs;
  const info = convInfo(a.inputShape, fs, a);
  // a 1×1 conv at stride 1 is one matrix product, which XNNPACK's forward conv (the composed form) does well
  if (kh === 1 && kw === 1 && info.strideHeight === 1 && info.strideWidth === 1) return undefined;
  const cols = Math.ceil((kh * kw * ci) / 8) * 8;
  const out = b.makeOutput([...a.inputShape], 'float32');
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  const [n, h, w] = a.inputShape;
  const [oh, ow] = [info.outHeight, info.outWidth];
  const geometry = [kh, kw, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left] as const;
  // two threads: the helper takes the second half of the images (their dx are their own)
  const helper = n >= 2 ? simdHelper(b) : undefined;
  const half = helper ? Math.floor(n / 2) : n;
  const scratch = [b.makeOutput([(co + SIMD_CHUNK) * cols], 'float32')];
  if (helper) scratch.push(b.makeOutput([(co + SIMD_CHUNK) * cols], 'float32'));
  const part = (b0: number, nb: number, s: TensorInfo) =>
    [
      at(dy) + 4 * b0 * oh * ow * co,
      at(filter),
      at(out) + 4 * b0 * h * w * ci,
      at(s),
      nb,
      h,
      w,
      ci,
      oh,
      ow,
      co,
      ...geometry,
    ] as const;
  if (helper) helper.start('conv_input_grad', part(half, n - half, scratch[1]!));
  simd.conv_input_grad(...part(0, half, scratch[0]!));
  if (helper && !helper.wait()) simd.conv_input_grad(...part(half, n - half, scratch[1]!));
  scratch.forEach((t) => b.disposeData(t.dataId, true));
  return out;
}

export const simdConvInputGrad: KernelEntry = {
  kernels: ['Conv2DBackpropInput'],
  impl: 'simd',
  over: 'composed',
  what: 'conv input gradient as dY·Wᵀ added back to the input pixels',
  register: () => registerDirect('Conv2DBackpropInput', kernel),
};
