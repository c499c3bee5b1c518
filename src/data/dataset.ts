// In-memory image data sets and their stratified, seeded splits.
import { UserError } from '../cli/errors.js';
import { rng, shuffleInPlace } from './random.js';

export interface Dataset {
  classes: string[];
  /** Images, NHWC float32, row-major. */
  x: Float32Array;
  /** Class index of every image. */
  y: Int32Array;
  shape: [number, number, number];
}

export const count = (d: Dataset): number => d.y.length;

export function subset(d: Dataset, idx: readonly number[]): Dataset {
  const per = d.shape[0] * d.shape[1] * d.shape[2];
  const x = new Float32Array(idx.length * per);
  const y = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    x.set(d.x.subarray(i * per, (i + 1) * per), k * per);
    y[k] = d.y[i]!;
  });
  return { classes: d.classes, x, y, shape: d.shape };
}

/**
 * Stratified split: each class contributes `valFraction` of its images to validation. With `samples`,
 * the training part is then cut to that many images, again stratified. Deterministic for a seed.
 */
export function split(
  d: Dataset,
  valFraction: number,
  seed: number,
  samples?: number,
): { train: Dataset; val: Dataset } {
  const rand = rng(seed);
  const byClass = d.classes.map(() => [] as number[]);
  d.y.forEach((c, i) => byClass[c]!.push(i));
  const train: number[][] = [];
  const val: number[] = [];
  for (const idx of byClass) {
    shuffleInPlace(idx, rand);
    const nVal = Math.round(idx.length * valFraction);
    val.push(...idx.slice(0, nVal));
    train.push(idx.slice(nVal));
  }
  let trainIdx = train.flat();
  const total = trainIdx.length;
  if (samples !== undefined && samples < total) {
    // Largest-remainder quotas: stratified and exactly `samples` in total.
    const exact = train.map((idx) => (idx.length * samples) / total);
    const quota = exact.map(Math.floor);
    const order = exact.map((e, c) => ({ c, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.c - b.c);
    const missing = samples - quota.reduce((a, b) => a + b, 0);
    for (let k = 0; k < missing; k++) quota[order[k]!.c]!++;
    trainIdx = train.flatMap((idx, c) => idx.slice(0, quota[c]));
  }
  if (trainIdx.length === 0)
    throw new UserError('the training split is empty; lower validation.split or give more data');
  return {
    train: subset(d, shuffleInPlace(trainIdx, rand)),
    val: subset(
      d,
      val.sort((a, b) => a - b),
    ),
  };
}
