// A conv's filter gradient on freezeflow's SIMD module. 1×1 at stride 1: dW = Xᵀ·dY over every pixel,
// in cache-sized chunks of rows with 4×8 blocks of dW summed in registers (25–35 GFLOP/s on one
// thread). Any other kernel size, stride or padding: the same product over patch rows (each output
// pixel's kh·kw·ci inputs, built chunk by chunk in scratch memory). The composed forms (transposes of
// the activations and an XNNPACK product or a conv with an output-sized kernel, 3–15 GFLOP/s) stay the
// fallback for NCHW.
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { SIMD_CHUNK, simdCall, simdHelper } from '../simd.js';
import { convInfo, type ConvAttrs } from '../wasm/geometry.js';
import { registerDirect } from '../wasm/register.js';
import type { KernelEntry } from '../kernel-entry.js';

type Attrs = ConvAttrs & {
  dataFormat: 'NHWC' | 'NCHW';
  filterShape: [number, number, number, number];
};

function kernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap }) {
  const { b, simd } = simdCall(args.backend);
  const { x, dy } = args.inputs;
  const a = args.attrs as unknown as Attrs;
  const [kh, kw, ci, co] = a.filterShape;
  if (!simd || !x || !dy || a.dataFormat === 'NCHW' || x.dtype !== 'float32') return undefined;
  const shape = x.shape as [number, number, number, number];
  const info = convInfo(shape, a.filterShape, a);
  const { top, left, bottom, right } = info.padInfo;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const out = b.makeOutput([kh, kw, ci, co], 'float32');
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top + left + bottom + right === 0) {
    simd.pointwise_filter_grad(at(x), at(dy), at(out), shape[0] * shape[1] * shape[2], ci, co);
    return out;
  }
  const cols = Math.ceil((kh * kw * ci) / 4) * 4;
  const rows = shape[0] * info.outHeight * info.outWidth;
  const temp: TensorInfo[] = [];
  const buffer = (n: number) => (temp.push(b.makeOutput([n], 'float32')), at(temp.at(-1)!));
  const geometry = [shape[1], shape[2], ci, info.outHeight, info.outWidth, co, kh, kw, sh, sw, top, left] as const;
  // two threads: the helper sums the second half of the output pixels into its own buffer
  const helper = rows >= 4 * SIMD_CHUNK ? simdHelper(b) : undefined;
  const mid = helper ? Math.round(rows / 2 / SIMD_CHUNK) * SIMD_CHUNK : rows;
  const mine = [buffer(cols * co), buffer(SIMD_CHUNK * cols)] as const;
  const theirs = helper ? ([buffer(cols * co), buffer(SIMD_CHUNK * cols)] as const) : undefined;
  if (helper && theirs) helper.start('conv_filter_grad_rows', [at(x), at(dy), ...theirs, mid, rows, ...geometry]);
  simd.conv_filter_grad_rows(at(x), at(dy), ...mine, 0, mid, ...geometry);
  if (helper && theirs && !helper.wait()) simd.conv_filter_grad_rows(at(x), at(dy), ...theirs, mid, rows, ...geometry);
  simd.sum_into(at(out), mine[0], theirs?.[0] ?? 0, kh * kw * ci * co);
  temp.forEach((t) => b.disposeData(t.dataId, true));
  return out;
}

export const simdConvFilterGrad: KernelEntry = {
  kernels: ['Conv2DBackpropFilter'],
  impl: 'simd',
  over: 'composed',
  what: 'conv filter gradient, 1×1 as one product, others over patch rows; two threads',
  register: () => registerDirect('Conv2DBackpropFilter', kernel),
};
