// Training kernels the tfjs wasm backend lacks, composed from kernels it has (XNNPACK conv, transpose,
// pad), so conv nets can be fine-tuned on wasm at close to forward-conv speed.
import * as tf from '../tf.js';
import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '../tf.js';
import { simdKernels } from './simd.js';

export type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

type Conv2DBackpropFilterAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

/** What freezeflow's kernels use of the wasm backend beyond the KernelBackend interface. */
type WasmBackendInternals = KernelBackend & {
  incRef(dataId: object): void;
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
};

/** Hand a tensor made with tf ops back to the engine as a kernel output, without leaking it. */
function asOutput(backend: WasmBackendInternals, t: tf.Tensor): TensorInfo {
  backend.incRef(t.dataId);
  const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return info;
}

/**
 * Wrap a kernel input as a tensor for tf ops. makeTensorFromTensorInfo does not take a reference on the
 * backend data, but dispose() drops one: without incRef the input would be freed under its owner
 * (a use-after-free in the bias gradient, and numTensors drifting by one per call).
 */
function asTensor(backend: WasmBackendInternals, info: TensorInfo): tf.Tensor {
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend);
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,y,x} Xpad[b, y·s+kh, x·s+kw, ci] · dY[b,y,x,co]
 * which is a stride-1 convolution of Xpadᵀ [ci, Hp, Wp, b] with dYᵀ [oh, ow, b, co] as the filter,
 * dilated by the forward stride; the first kh×kw outputs are the gradient.
 */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Conv2DBackpropFilterAttrs): tf.Tensor4D {
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter: NCHW is not supported on wasm');
  const [kh, kw] = attrs.filterShape;
  const info = convInfo(x.shape, attrs.filterShape, attrs);
  const { top, bottom, left, right } = info.padInfo;
  if (kh === 1 && kw === 1 && top === 0 && left === 0) return pointwiseFilterGrad(x, dy, info);
  return tf.tidy(() => {
    // 'same' can ask for more padding on one side than the output ever reads: the cut below drops it
    const xt = tf.transpose(padOrCrop(x, top, bottom, left, right), [3, 1, 2, 0]);
    const f = tf.transpose(dy, [1, 2, 0, 3]);
    const conv = tf.conv2d(xt, f, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
    const cut = conv.shape[1] === kh && conv.shape[2] === kw ? conv : tf.slice(conv, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(cut, [1, 2, 0, 3]);
  });
}

/**
 * A 1×1 conv's filter gradient is one matrix product, dW = Xᵀ·dY over every pixel of the batch (after
 * taking every stride-th pixel). The general form above treats it as a conv with an output-sized kernel,
 * which XNNPACK runs at under 1 GFLOP/s (92 ms for one MobileNetV2 expansion layer at batch 8).
 */
function pointwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [b, oh, ow, co] = dy.shape;
  const ci = x.shape[3];
  return tf.tidy(() => {
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const picked =
      sh === 1 && sw === 1 && x.shape[1] === oh && x.shape[2] === ow
        ? x
        : tf.stridedSlice(x, [0, 0, 0, 0], [b, (oh - 1) * sh + 1, (ow - 1) * sw + 1, ci], [1, sh, sw, 1]);
    const n = b * oh * ow;
    const xs = tf.reshape(picked, [n, ci]);
    const ds = tf.reshape(dy, [n, co]);
    // XNNPACK repacks the right operand on every call and likes many left rows: the wider side goes
    // left, transposed explicitly (wasm's matMul with transposeA runs at ~0.5 GFLOP/s)
    const dw = co > ci ? tf.transpose(tf.matMul(tf.transpose(ds), xs)) : tf.matMul(tf.transpose(xs), ds);
    return tf.reshape(dw, [1, 1, ci, co]) as tf.Tensor4D;
  });
}

export type DepthwiseAttrs = ConvAttrs & { dilations: [number, number] | number };

function assertNoDilation(dilations: [number, number] | number, kernel: string): void {
  const [a, b] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (a !== 1 || b !== 1) throw new Error(`${kernel}: dilations > 1 are not supported (tfjs has no gradient for them)`);
}

/** tfjs's own conv geometry (output size, padding per side, strides) for the given shapes. */
export const convInfo = (
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  a: ConvAttrs,
  depthwise = false,
) => tf.backend_util.computeConv2DInfo(inShape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode, depthwise);

/**
 * The input-gradient view of dY: dilated by the stride and padded (or cropped) so that a stride-1
 * 'valid' correlation with the flipped kernel yields exactly the input's height × width.
 */
function fullCorrelationInput(dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo, h: number, w: number): tf.Tensor4D {
  const d = dilateSpatial(dy, info.strideHeight, info.strideWidth);
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  return padOrCrop(
    d,
    top,
    h + info.filterHeight - 1 - d.shape[1] - top,
    left,
    w + info.filterWidth - 1 - d.shape[2] - left,
  );
}

/** Pad (positive) or crop (negative) the two spatial axes of an NHWC tensor. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const padded =
    top > 0 || bottom > 0 || left > 0 || right > 0
      ? tf.pad(t, [
          [0, 0],
          [Math.max(top, 0), Math.max(bottom, 0)],
          [Math.max(left, 0), Math.max(right, 0)],
          [0, 0],
        ])
      : t;
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return padded;
  const [, h, w] = padded.shape;
  const t0 = Math.max(-top, 0);
  const l0 = Math.max(-left, 0);
  return tf.slice(padded, [0, t0, l0, 0], [-1, h - t0 - Math.max(-bottom, 0), w - l0 - Math.max(-right, 0), -1]);
}

/**
 * Depthwise filter gradient. For channel c: dW[:,:,c,m] = Σ_b Xpad[b,·,·,c] ⋆ dY[b,·,·,c·M+m] (dilated by
 * the stride). Folding the batch into the channels turns all of it into one depthwise convolution of
 * Xpadᵀ [1, Hp, Wp, C·B] with dYᵀ [oh, ow, C·B, M] as the filter; the batch is summed out afterwards.
 */
export function depthwiseBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: DepthwiseAttrs & { filterShape: [number, number, number, number] },
): tf.Tensor4D {
  assertNoDilation(attrs.dilations, 'DepthwiseConv2dNativeBackpropFilter');
  const [kh, kw, c, m] = attrs.filterShape;
  const info = convInfo(x.shape, attrs.filterShape, attrs, true);
  const { top, bottom, left, right } = info.padInfo;
  const [b] = x.shape;
  const [, oh, ow] = dy.shape;
  return tf.tidy(() => {
    const xp = padOrCrop(x, top, bottom, left, right);
    const [, hp, wp] = xp.shape;
    const input = tf.reshape(tf.transpose(xp, [1, 2, 3, 0]), [1, hp, wp, c * b]) as tf.Tensor4D;
    const filter = tf.reshape(tf.transpose(tf.reshape(dy, [b, oh, ow, c, m]), [1, 2, 3, 0, 4]), [oh, ow, c * b, m]);
    const out = tf.depthwiseConv2d(input, filter as tf.Tensor4D, 1, 'valid', 'NHWC', [
      info.strideHeight,
      info.strideWidth,
    ]);
    const cut = tf.slice(out, [0, 0, 0, 0], [1, kh, kw, -1]);
    return tf.sum(tf.reshape(cut, [kh, kw, c, b, m]), 3) as tf.Tensor4D;
  });
}

/**
 * Depthwise input gradient: dY dilated by the stride (zeros between rows/columns), padded for a "full"
 * correlation, then a depthwise convolution with the spatially flipped filter, one channel per (c, m);
 * the channel multiplier is summed out afterwards.
 */
export function depthwiseBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: DepthwiseAttrs & { inputShape: [number, number, number, number] },
): tf.Tensor4D {
  assertNoDilation(attrs.dilations, 'DepthwiseConv2dNativeBackpropInput');
  const [kh, kw, c, m] = filter.shape;
  const info = convInfo(attrs.inputShape, filter.shape, attrs, true);
  const [b, h, w] = attrs.inputShape;
  return tf.tidy(() => {
    const padded = fullCorrelationInput(dy, info, h, w);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
    const out = tf.depthwiseConv2d(padded, flipped, 1, 'valid');
    return (m === 1 ? out : tf.sum(tf.reshape(out, [b, h, w, c, m]), 4)) as tf.Tensor4D;
  });
}

/** dY spread out by the stride: (s−1) zeros between rows and columns, as a transposed conv sees it. */
function dilateSpatial(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [b, oh, ow, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [b, oh, 1, ow, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.slice(
    tf.reshape(spread, [b, oh * sh, ow * sw, c]) as tf.Tensor4D,
    [0, 0, 0, 0],
    [-1, (oh - 1) * sh + 1, (ow - 1) * sw + 1, -1],
  );
}

/**
 * Conv2D input gradient as a forward convolution (XNNPACK): dY dilated by the stride and padded for a
 * full correlation, convolved with the filter flipped in space and with in/out channels swapped.
 */
export function conv2dBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: Omit<Conv2DBackpropFilterAttrs, 'filterShape'> & { inputShape: [number, number, number, number] },
): tf.Tensor4D {
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropInput: NCHW is not supported on wasm');
  const [kh, kw] = filter.shape;
  const info = convInfo(attrs.inputShape, filter.shape, attrs);
  const [, h, w] = attrs.inputShape;
  return tf.tidy(() => {
    const padded = fullCorrelationInput(dy, info, h, w);
    const flipped = kh === 1 && kw === 1 ? filter : tf.reverse(filter, [0, 1]);
    return tf.conv2d(padded, tf.transpose(flipped, [0, 1, 3, 2]) as tf.Tensor4D, 1, 'valid');
  });
}

/** UnsortedSegmentSum (the gradient of gather, e.g. embeddings) as a one-hot matrix product. */
export function unsortedSegmentSum(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const rows = segmentIds.size;
    const flatX = tf.reshape(x, [rows, -1]);
    const oneHot = tf.oneHot(tf.cast(tf.reshape(segmentIds, [rows]), 'int32'), numSegments);
    const out = tf.matMul(tf.cast(oneHot, 'float32'), tf.cast(flatX, 'float32'), true, false);
    return tf.cast(tf.reshape(out, [numSegments, ...x.shape.slice(segmentIds.rank)]), x.dtype);
  });
}

/**
 * Tile that is a pure broadcast of an input whose leading axes are 1 ([1,1,1,C] → [B,H,W,C]: what tfjs's
 * BatchNorm gradient does for every BN layer): the input repeated whole, built by doubling copies.
 * wasm's own Tile kernel spends ~1 s on one such 8×112×112×96 tile; this takes a few ms.
 */
export function tileLeadingBroadcast(x: tf.Tensor, reps: readonly number[]): tf.Tensor | undefined {
  if (x.dtype !== 'float32' || reps.length !== x.rank) return undefined;
  let k = 0; // first axis that is not repeated
  while (k < reps.length && reps[k]! > 1) k++;
  if (k === 0 || reps.slice(k).some((r) => r !== 1) || x.shape.slice(0, k).some((d) => d !== 1)) return undefined;
  const times = reps.slice(0, k).reduce((a, b) => a * b, 1);
  const src = x.dataSync() as Float32Array;
  const out = new Float32Array(src.length * times);
  out.set(src);
  for (let filled = src.length; filled < out.length; filled *= 2)
    out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  return tf.tensor(
    out,
    x.shape.map((d, i) => d * reps[i]!),
    'float32',
  );
}

/**
 * Sum over leading axes ([0,1,2] of NHWC: every BatchNorm and bias gradient) as X[M,rest]ᵀ × ones[M,1]:
 * XNNPACK's threaded GEMM instead of wasm's transpose-then-reduce (8× faster for 64×28×28×16).
 */
export function sumLeadingAxes(x: tf.Tensor, axis: number | number[], keepDims: boolean): tf.Tensor | undefined {
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const k = axes.length;
  if (x.dtype !== 'float32' || k === 0 || k >= x.rank || axes.some((a, i) => a !== i)) return undefined;
  const m = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const rest = x.shape.slice(k);
  if (m < 256) return undefined; // small reductions: the stock kernel has less overhead
  return tf.tidy(() => {
    // X as the GEMM input and the ones as its (tiny) weights: XNNPACK repacks the weights operand on every
    // new tensor, which would be all of X the other way round
    const summed = tf.matMul(tf.reshape(x, [m, -1]), tf.ones([m, 1]), true, false);
    return tf.reshape(summed, keepDims ? [...axes.map(() => 1), ...rest] : rest);
  });
}

/** The mean over leading axes: the sum above divided by the count (the stock kernel's order too). */
export function meanLeadingAxes(x: tf.Tensor, axis: number | number[], keepDims: boolean): tf.Tensor | undefined {
  return tf.tidy(() => {
    const sum = sumLeadingAxes(x, axis, keepDims);
    return sum && tf.div(sum, x.size / sum.size);
  });
}

/**
 * Inference-form BatchNorm, (x − μ)·γ/√(σ² + ε) + β per channel, as x·a + b computed by a 1×1 depthwise
 * conv with bias: XNNPACK's SIMD, threaded kernel instead of wasm's per-element loop (94 ms → 14 ms on
 * 16×112×112×96). Only for NHWC inputs with one value per channel in every parameter.
 */
export function batchNormAsDepthwise(
  x: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  offset: tf.Tensor | undefined,
  scale: tf.Tensor | undefined,
  epsilon: number,
): tf.Tensor | undefined {
  const c = x.shape[3];
  if (x.rank !== 4 || x.dtype !== 'float32' || c === undefined) return undefined;
  if ([mean, variance, offset, scale].some((t) => t !== undefined && t.size !== c)) return undefined;
  return tf.tidy(() => {
    const perChannel = (t: tf.Tensor) => tf.reshape(t, [c]);
    const inv = tf.rsqrt(tf.add(perChannel(variance), epsilon));
    const a = scale ? tf.mul(perChannel(scale), inv) : inv;
    const shift = tf.mul(perChannel(mean), a);
    const b = offset ? tf.sub(perChannel(offset), shift) : tf.neg(shift);
    return tf.fused.depthwiseConv2d({
      x: x as tf.Tensor4D,
      filter: tf.reshape(a, [1, 1, c, 1]) as tf.Tensor4D,
      strides: 1,
      pad: 'valid',
      bias: b,
    });
  });
}

/**
 * MaxPoolGrad on the wasm heap in one pass: each window's first maximum (row-major, strictly greater,
 * as tfjs's cpu kernel picks it) receives that output's gradient. wasm's own kernel took 27 ms for one
 * 64×28×28×16 pool in a resnet-mini step; this takes a few.
 */
function maxPoolGrad(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo {
  const b = args.backend as WasmBackendInternals;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const a = args.attrs as unknown as ConvAttrs & { filterSize: [number, number] | number };
  const [n, h, w, c] = input.shape as [number, number, number, number];
  const info = tf.backend_util.computePool2DInfo([n, h, w, c], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const out = b.makeOutput(input.shape, 'float32');
  // views after makeOutput: allocating may grow (and so replace) the heap
  const x = b.typedArrayFromHeap(input);
  const g = b.typedArrayFromHeap(dy);
  const dx = b.typedArrayFromHeap(out);
  dx.fill(0);
  const { outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  for (let bi = 0; bi < n; bi++)
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * strideHeight - info.padInfo.top;
      const rFrom = Math.max(0, r0);
      const rTo = Math.min(h, r0 + filterHeight);
      for (let yc = 0; yc < outWidth; yc++) {
        const c0 = yc * strideWidth - info.padInfo.left;
        const cFrom = Math.max(0, c0);
        const cTo = Math.min(w, c0 + filterWidth);
        const gBase = ((bi * outHeight + yr) * outWidth + yc) * c;
        for (let d = 0; d < c; d++) {
          let best = -Infinity;
          let at = -1;
          for (let r = rFrom; r < rTo; r++)
            for (let col = cFrom; col < cTo; col++) {
              const i = ((bi * h + r) * w + col) * c + d;
              const v = x[i]!;
              if (v > best) {
                best = v;
                at = i;
              }
            }
          if (at >= 0) dx[at] = dx[at]! + g[gBase + d]!;
        }
      }
    }
  return out;
}

/**
 * Reverse by block copies: everything after the last reversed axis is contiguous and moves as one
 * block, so flipping a [kh, kw, ci, co] kernel's spatial axes (every conv input gradient does) is kh·kw
 * copies. wasm's own kernel took 2.6 ms for a 3×3×64×64 flip.
 */
function reverse(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo | undefined {
  const b = args.backend as WasmBackendInternals;
  const xInfo = args.inputs['x']!;
  if (xInfo.dtype === 'string') return undefined;
  const shape = xInfo.shape;
  const axes = new Set(tf.util.parseAxisParam(args.attrs!['dims'] as number | number[], shape));
  const out = b.makeOutput(shape, xInfo.dtype);
  const x = b.typedArrayFromHeap(xInfo);
  const y = b.typedArrayFromHeap(out);
  if (axes.size === 0 || shape.length === 0) {
    y.set(x);
    return out;
  }
  const last = Math.max(...axes);
  const block = shape.slice(last + 1).reduce((p, d) => p * d, 1);
  const outer = shape.slice(0, last + 1);
  const strides = outer.map((_, i) => outer.slice(i + 1).reduce((p, d) => p * d, 1) * block);
  const index = new Array<number>(outer.length).fill(0);
  const count = outer.reduce((p, d) => p * d, 1);
  for (let k = 0; k < count; k++) {
    let from = 0;
    for (let i = 0; i < outer.length; i++) from += (axes.has(i) ? outer[i]! - 1 - index[i]! : index[i]!) * strides[i]!;
    y.set(x.subarray(from, from + block), k * block);
    for (let i = outer.length - 1; i >= 0; i--) {
      if (++index[i]! < outer[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}

/**
 * Slice as block copies: the innermost axes the slice takes whole are merged into one contiguous run, so
 * the gradient of a ZeroPadding2D (a crop of [B, H+1, W+1, C]) is one copy per row instead of one per
 * pixel; wasm's own 4-D slice copied C floats at a time (42 ms per MobileNetV2 pad gradient at batch 32).
 */
function slice(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo | undefined {
  const b = args.backend as WasmBackendInternals;
  const x = args.inputs['x']!;
  if (x.dtype === 'string' || x.shape.length === 0) return undefined;
  const [begin, size] = tf.slice_util.parseSliceParams(
    { shape: x.shape } as tf.TensorInfo,
    args.attrs!['begin'] as number[],
    args.attrs!['size'] as number[],
  ) as [number[], number[]];
  const shape = x.shape;
  let k = shape.length - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const strides = tf.util.computeStrides(shape);
  const inner = k === shape.length - 1 ? 1 : strides[k]!;
  const run = size[k]! * inner;
  const out = b.makeOutput(size, x.dtype);
  const from = b.typedArrayFromHeap(x);
  const to = b.typedArrayFromHeap(out);
  const idx = new Array<number>(k).fill(0);
  const runs = size.slice(0, k).reduce((a, v) => a * v, 1);
  for (let n = 0, o = 0; n < runs; n++, o += run) {
    let off = begin[k]! * inner;
    for (let a = 0; a < k; a++) off += (begin[a]! + idx[a]!) * strides[a]!;
    to.set(from.subarray(off, off + run), o);
    for (let a = k - 1; a >= 0 && ++idx[a]! >= size[a]!; a--) idx[a] = 0;
  }
  return out;
}

const CLIP_GRAD = 'FreezeflowClipByValueGrad';

/**
 * The gradient of clipByValue (every ReLU6 in a MobileNet) in one pass: dy where min ≤ x ≤ max, else 0.
 * tfjs computes it as where(logicalAnd(x ≥ min, x ≤ max), dy, zeros): four full-size wasm kernels, 0.6 s
 * of a 2.2 s MobileNetV2 training step at batch 8.
 */
function clipByValueGrad(args: {
  inputs: NamedTensorInfoMap;
  backend: unknown;
  attrs?: NamedAttrMap;
}): TensorInfo | undefined {
  const b = args.backend as WasmBackendInternals;
  const { dy: dyInfo, x: xInfo } = args.inputs as { dy: TensorInfo; x: TensorInfo };
  const lo = args.attrs!['clipValueMin'] as number;
  const hi = args.attrs!['clipValueMax'] as number;
  const out = b.makeOutput(xInfo.shape, 'float32');
  const simd = simdKernels(b);
  if (simd) {
    const at = (t: TensorInfo) => b.getMemoryOffset(t.dataId);
    simd.clip_grad(at(xInfo), at(dyInfo), at(out), tf.util.sizeFromShape(xInfo.shape), lo, hi);
    return out;
  }
  const x = b.typedArrayFromHeap(xInfo);
  const dy = b.typedArrayFromHeap(dyInfo);
  const dx = b.typedArrayFromHeap(out);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    dx[i] = v >= lo && v <= hi ? dy[i]! : 0;
  }
  return out;
}

/** clipByValue's gradient through the one-pass kernel on wasm; tfjs's own everywhere else. */
function registerClipByValueGradient(): void {
  const stock = tf.getGradient('ClipByValue');
  if (!stock) return;
  tf.registerGradient({
    ...stock,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const same = !Array.isArray(dy) && x!.dtype === 'float32' && dy.dtype === 'float32' && x!.size === dy.size;
      if (tf.getBackend() !== 'wasm' || !same) return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(CLIP_GRAD, { dy, x: x! }, attrs) as tf.Tensor };
    },
  });
}

/** Identity without a copy: the output shares the input's data, as wasm's own Reshape already does. */
function identity(args: { inputs: NamedTensorInfoMap; backend: unknown }): TensorInfo | undefined {
  const x = args.inputs['x']!;
  if (x.dtype === 'string') return undefined; // strings live in JS, not on the heap: the stock kernel
  (args.backend as WasmBackendInternals).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export type DirectKernel = (args: {
  inputs: NamedTensorInfoMap;
  backend: unknown;
  attrs?: NamedAttrMap;
}) => TensorInfo | undefined;

/** Replace a stock wasm kernel with a direct one (heap in, heap out); undefined leaves a case to the stock one. */
export function registerDirect(kernelName: string, fn: DirectKernel): void {
  const stock = tf.getKernel(kernelName, 'wasm');
  if (stock) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    ...stock,
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const out = fn(args as Parameters<DirectKernel>[0]);
      if (out) return out;
      if (!stock) throw new Error(`${kernelName}: no stock wasm kernel for this case`);
      return stock.kernelFunc(args);
    },
  });
}

let registered = false;

type Attrs = Record<string, unknown>;

/**
 * Register a wasm kernel computed with tf ops on its inputs (kept alive and released correctly). Where
 * wasm has a stock kernel of that name, it is replaced, and `fn` returns undefined for the cases it
 * leaves to the stock kernel (where that one is faster).
 */
function registerComposed(
  kernelName: string,
  inputNames: readonly string[],
  fn: (inputs: tf.Tensor[], attrs: Attrs) => tf.Tensor | undefined,
): void {
  registerDirect(kernelName, (args) => {
    const b = args.backend as WasmBackendInternals;
    // optional inputs (a BatchNorm without offset) come through as undefined
    const ts = inputNames.map((n) => (args.inputs[n] ? asTensor(b, args.inputs[n]) : undefined));
    try {
      const out = fn(ts as tf.Tensor[], (args.attrs ?? {}) as Attrs);
      return out && asOutput(b, out);
    } finally {
      ts.forEach((t) => t?.dispose());
    }
  });
}

/** Register freezeflow's training kernels on the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  registerComposed('Conv2DBackpropFilter', ['x', 'dy'], ([x, dy], a) =>
    conv2dBackpropFilter(x as tf.Tensor4D, dy as tf.Tensor4D, a as unknown as Conv2DBackpropFilterAttrs),
  );
  registerComposed('DepthwiseConv2dNativeBackpropFilter', ['x', 'dy'], ([x, dy], a) =>
    depthwiseBackpropFilter(
      x as tf.Tensor4D,
      dy as tf.Tensor4D,
      a as unknown as Parameters<typeof depthwiseBackpropFilter>[2],
    ),
  );
  registerComposed('DepthwiseConv2dNativeBackpropInput', ['dy', 'filter'], ([dy, f], a) =>
    depthwiseBackpropInput(
      dy as tf.Tensor4D,
      f as tf.Tensor4D,
      a as unknown as Parameters<typeof depthwiseBackpropInput>[2],
    ),
  );
  registerComposed('Tile', ['x'], ([x], a) => tileLeadingBroadcast(x!, a['reps'] as number[]));
  registerComposed('Conv2DBackpropInput', ['dy', 'filter'], ([dy, f], a) => {
    const attrs = a as unknown as Parameters<typeof conv2dBackpropInput>[2];
    const [sh, sw] = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
    const strided = sh > 1 || sw > 1;
    // measured: with few input channels (an RGB stem) and a stride, wasm's own kernel is faster
    if (attrs.dataFormat === 'NCHW' || (strided && f!.shape[2]! < 8)) return undefined;
    return conv2dBackpropInput(dy as tf.Tensor4D, f as tf.Tensor4D, attrs);
  });
  registerComposed('UnsortedSegmentSum', ['x', 'segmentIds'], ([x, ids], a) =>
    unsortedSegmentSum(x!, ids!, a['numSegments'] as number),
  );
  registerComposed('Sum', ['x'], ([x], a) => sumLeadingAxes(x!, a['axis'] as number[], a['keepDims'] as boolean));
  registerComposed('Mean', ['x'], ([x], a) => meanLeadingAxes(x!, a['axis'] as number[], a['keepDims'] as boolean));
  registerComposed('FusedBatchNorm', ['x', 'mean', 'variance', 'offset', 'scale'], ([x, m, v, o, sc], a) =>
    batchNormAsDepthwise(x!, m!, v!, o, sc, a['varianceEpsilon'] as number),
  );
  registerDirect('MaxPoolGrad', maxPoolGrad);
  registerDirect('Identity', identity);
  registerDirect('Reverse', reverse);
  registerDirect('Slice', slice);
  registerDirect(CLIP_GRAD, clipByValueGrad);
  registerClipByValueGradient();
}
