// The accuracy cost of an export, measured side by side: the float32 model and the exported files run on
// the same inputs; accuracy of both (when the inputs have labels), how often their top class agrees, and
// the largest difference between their outputs.
import type { Runner } from './formats/kind.js';

export interface MeasureSource {
  /** What the inputs are, in words: "the run's 975 validation images". */
  on: string;
  count: number;
  /** Model inputs of items idx, NHWC float32, preprocessed as the model takes them. */
  batch(idx: readonly number[]): Promise<Float32Array>;
  /** Class index of each item in the model's output order; absent for unlabelled inputs. */
  labels?: Int32Array;
}

export interface Measurement {
  on: string;
  images: number;
  /** Percent correct of the float32 model and of the export, and the drop in points. */
  accuracy: { float32: number; exported: number; drop: number } | null;
  /** Percent of inputs on which both give the same top class. */
  agreement: number;
  maxOutputDiff: number;
  engine: string;
}

const argmaxRows = (y: Float32Array, classes: number) =>
  Array.from({ length: y.length / classes }, (_, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (y[r * classes + c]! > y[r * classes + best]!) best = c;
    return best;
  });

/** Softmax of each row, for comparing with an export whose outputs gained one (tm on a logits model). */
export function softmaxRows(y: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let r = 0; r < y.length / classes; r++) {
    const row = y.subarray(r * classes, (r + 1) * classes);
    const m = Math.max(...row);
    let z = 0;
    for (let c = 0; c < classes; c++) z += out[r * classes + c] = Math.exp(row[c]! - m);
    for (let c = 0; c < classes; c++) out[r * classes + c]! /= z;
  }
  return out;
}

export async function measure(
  reference: Runner,
  exported: Runner,
  source: MeasureSource,
  opts: { classes: number; softmaxReference?: boolean; batchSize?: number },
): Promise<Measurement> {
  const { classes } = opts;
  const batchSize = opts.batchSize ?? 32;
  let right32 = 0;
  let rightX = 0;
  let agree = 0;
  let maxDiff = 0;
  for (let s = 0; s < source.count; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, source.count - s) }, (_, k) => s + k);
    const x = await source.batch(idx);
    const raw = await reference.run(x, idx.length);
    const a = opts.softmaxReference ? softmaxRows(raw, classes) : raw;
    const b = await exported.run(x, idx.length);
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    const ta = argmaxRows(a, classes);
    const tb = argmaxRows(b, classes);
    idx.forEach((item, k) => {
      if (ta[k] === tb[k]) agree++;
      if (source.labels) {
        if (ta[k] === source.labels[item]) right32++;
        if (tb[k] === source.labels[item]) rightX++;
      }
    });
  }
  const pct = (n: number) => (100 * n) / source.count;
  return {
    on: source.on,
    images: source.count,
    accuracy: source.labels ? { float32: pct(right32), exported: pct(rightX), drop: pct(right32) - pct(rightX) } : null,
    agreement: pct(agree),
    maxOutputDiff: maxDiff,
    engine: exported.engine,
  };
}
