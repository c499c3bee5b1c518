// A conv's forward pass (Conv2D, and FusedConv2D with a bias and linear, relu or relu6) on freezeflow's
// SIMD module: per chunk of output pixels, their patch rows times the filter (packed once), 4×8 blocks
// in registers, bias and activation on the way out; two threads take halves of the output pixels. With
// fused multiply-adds it runs 1.5–1.8× XNNPACK's conv on resnet18's shapes (one thread), so it is used
// with the relaxed-SIMD build only: FREEZEFLOW_FMA=0 keeps XNNPACK's forward and its rounding.
import * as tf from '../../tf.js';
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { SIMD_CHUNK, simdBuild, simdCall, simdHelper, undilated } from '../simd.js';
import { convInfo, type ConvAttrs } from '../wasm/geometry.js';
import { registerDirect } from '../wasm/register.js';
import type { KernelEntry } from '../kernel-entry.js';

type Attrs = ConvAttrs & {
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  activation?: string;
};

/**
 * Where the kernel beats XNNPACK (2 threads, resnet18, resnet-mini and MobileNetV2 shapes): k×k convs over
 * 8 or more channels, and 1×1 convs at stride 1 into 32 or more. A 1- or 3-channel stem and strided or
 * narrow 1×1 convs run faster in XNNPACK, which needs no patch rows.
 */
const worthIt = (kh: number, kw: number, ci: number, co: number, sh: number, sw: number) =>
  kh * kw > 1 ? ci >= 8 : sh === 1 && sw === 1 && co >= 32;

/** The activations the kernel applies itself (kernels.c's act codes); others go to XNNPACK. */
const ACTIVATION: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

/** The kernel itself (undefined: a case it leaves to XNNPACK); exported for the tests. */
export function simdConv2D(args: {
  inputs: Record<string, TensorInfo | undefined>;
  backend: unknown;
  attrs?: NamedAttrMap;
}): TensorInfo | undefined {
  const { b, simd } = simdCall(args.backend);
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const a = args.attrs as unknown as Attrs;
  const act = ACTIVATION[a.activation ?? 'linear'];
  if (!simd || !simdBuild().relaxed || !x || !filter || act === undefined || preluActivationWeights) return undefined;
  if (a.dataFormat === 'NCHW' || x.dtype !== 'float32' || !undilated(a.dilations)) return undefined;
  const shape = x.shape as [number, number, number, number];
  const fs = filter.shape as [number, number, number, number];
  const [kh, kw, ci, co] = fs;
  const info = convInfo(shape, fs, a);
  if (!worthIt(kh, kw, ci, co, info.strideHeight, info.strideWidth)) return undefined;
  // a bias broadcast from one value (or none): the kernel adds a per-channel vector
  if (bias && tf.util.sizeFromShape(bias.shape) !== co) return undefined;
  const out = b.makeOutput([shape[0], info.outHeight, info.outWidth, co], 'float32');
  const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
  const [cols, co8] = [Math.ceil((kh * kw * ci) / 4) * 4, Math.ceil(co / 8) * 8];
  const rows = shape[0] * info.outHeight * info.outWidth;
  const temp: TensorInfo[] = [];
  const buffer = (n: number) => (temp.push(b.makeOutput([n], 'float32')), at(temp.at(-1)!));
  const packed = buffer(cols * co8);
  simd.pack_filter(at(filter), packed, kh * kw * ci, co);
  const geometry = [shape[1], shape[2], ci, info.outHeight, info.outWidth, co, kh, kw] as const;
  const pads = [info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, act] as const;
  const head = [at(x), packed, bias ? at(bias) : 0, at(out)] as const;
  // two threads: the helper computes the second half of the output pixels with its own scratch
  const helper = rows >= 4 * SIMD_CHUNK ? simdHelper(b) : undefined;
  const mid = helper ? Math.round(rows / 2 / SIMD_CHUNK) * SIMD_CHUNK : rows;
  const scratch = SIMD_CHUNK * (cols + co8);
  const theirs = helper ? buffer(scratch) : 0;
  if (helper) helper.start('conv_forward_rows', [...head, theirs, mid, rows, ...geometry, ...pads]);
  simd.conv_forward_rows(...head, buffer(scratch), 0, mid, ...geometry, ...pads);
  if (helper && !helper.wait()) simd.conv_forward_rows(...head, theirs, mid, rows, ...geometry, ...pads);
  temp.forEach((t) => b.disposeData(t.dataId, true));
  return out;
}

export const simdConvForward: KernelEntry = {
  kernels: ['Conv2D', 'FusedConv2D'],
  impl: 'simd',
  over: 'wasm',
  what: 'conv forward (bias, linear/relu/relu6) as patch rows times the packed filter; two threads; relaxed SIMD only',
  register: () => {
    registerDirect('Conv2D', simdConv2D);
    registerDirect('FusedConv2D', simdConv2D);
  },
};
