// Weight quantization for tfjs manifests (pure: arrays in, bytes out). tfjs loads both forms itself:
// float16 as IEEE half floats, uint8 as q·scale + min per tensor. Only kernels are quantized: they are
// nearly all of the bytes, while biases and BatchNorm statistics are few, and an error in a variance or a
// shift moves every output of a channel — they stay float32.
import type * as tf from '../tf.js';

export type Quantization = 'float16' | 'uint8';

/** Kernels of Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, GroupConv2D, Embedding. */
export function quantizable(name: string): boolean {
  return /(^|\/)(kernel|depthwise_kernel|pointwise_kernel|embeddings)$/.test(name);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE 754 half, rounding to nearest even (as numpy's astype(float16) does). */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let m = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0); // inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // beyond 65504: infinity (refused before we get here)
  if (e <= 0) {
    if (e < -10) return sign;
    m |= 0x800000;
    return sign | roundShift(m, 14 - e);
  }
  return sign | roundShift((e << 23) | m, 13); // a carry out of the mantissa correctly bumps the exponent
}

/** v >> shift, rounded to nearest, ties to even. */
function roundShift(v: number, shift: number): number {
  const h = v >>> shift;
  const rem = v & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && h & 1) ? h + 1 : h;
}

export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalf(values[i]!);
  return out;
}

/**
 * Per-tensor affine uint8: the range widened to hold 0 and nudged so that 0 is exactly a level (zero
 * padding and ReLU zeros stay exact), as tensorflowjs_converter quantizes.
 */
export function toUint8(values: Float32Array): { data: Uint8Array; min: number; scale: number } {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zero = Math.round(-lo / scale);
  const min = -zero * scale;
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = Math.min(255, Math.max(0, Math.round((values[i]! - min) / scale)));
  return { data, min, scale };
}

export interface QuantizedWeights {
  specs: tf.io.WeightsManifestEntry[];
  data: Uint8Array;
  /** Names of the tensors left float32 (not kernels), for export.json. */
  kept: string[];
}

/** The model's float32 weights with every kernel quantized; the manifest says how, for tfjs to undo. */
export function quantizeWeights(
  specs: readonly tf.io.WeightsManifestEntry[],
  data: ArrayBuffer,
  how: Quantization,
): QuantizedWeights {
  const parts: Uint8Array[] = [];
  const out: tf.io.WeightsManifestEntry[] = [];
  const kept: string[] = [];
  let at = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = data.slice(at, at + n * 4);
    at += n * 4;
    if (spec.dtype !== 'float32' || !quantizable(spec.name) || (how === 'float16' && exceedsHalf(bytes))) {
      kept.push(spec.name);
      out.push(spec);
      parts.push(new Uint8Array(bytes));
      continue;
    }
    const values = new Float32Array(bytes);
    if (how === 'float16') {
      parts.push(new Uint8Array(toFloat16(values).buffer));
      out.push({ ...spec, quantization: { dtype: 'float16' } });
    } else {
      const q = toUint8(values);
      parts.push(q.data);
      out.push({ ...spec, quantization: { dtype: 'uint8', min: q.min, scale: q.scale } });
    }
  }
  return { specs: out, data: concat(parts), kept };
}

/** A kernel with a value beyond float16's range stays float32 rather than turning into infinity. */
function exceedsHalf(bytes: ArrayBuffer): boolean {
  return new Float32Array(bytes).some((v) => Math.abs(v) > 65504);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
