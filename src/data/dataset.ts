// Data sets the runner trains on: in-memory arrays (builtin MNIST) or image folders decoded on demand,
// both behind BatchSource; and their stratified, seeded splits.
import { UserError } from '../core/errors.js';
import { rng, shuffleInPlace } from '../core/random.js';
import { applyAugment, drawAugment, isAugmenting, itemSeed, pickView, type AugmentSpec } from './augment.js';

/** What the runner needs from a data set: labels up front, pixels per batch. */
export interface BatchSource {
  readonly classes: string[];
  /** Shape of one sample as the model receives it: [height, width, channels] for images. */
  readonly shape: readonly number[];
  readonly labels: Int32Array;
  /**
   * Preprocessed pixels of the items `idx`, NHWC float32. With `augment`, each image gets its own
   * seeded draw for (seed, epoch, item), so a resumed run sees the same augmentation.
   */
  batch(idx: readonly number[], augment?: AugmentRequest): Promise<Float32Array>;
}

export interface AugmentRequest {
  spec: AugmentSpec;
  seed: number;
  epoch: number;
  /** With spec.views: this view of every image, whatever the epoch would pick (feature caching). */
  view?: number;
}

export const sourceSize = (s: BatchSource): number => s.labels.length;

/** Augment an NHWC batch in place, image by image (items are the source indices, for the seeds). */
export function augmentBatch(
  x: Float32Array,
  items: readonly number[],
  shape: [number, number, number],
  a: AugmentRequest,
): void {
  if (!isAugmenting(a.spec)) return;
  const [h, w, c] = shape;
  const per = h * w * c;
  items.forEach((item, k) => {
    const img = x.subarray(k * per, (k + 1) * per);
    const seed = itemSeed({ seed: a.seed, epoch: a.epoch, views: a.spec.views, view: a.view }, item);
    x.set(applyAugment(img, h, w, c, drawAugment(a.spec, h, w, seed)), k * per);
  });
}

/** An in-memory data set as a BatchSource (its values are already preprocessed pixels). */
export function memorySource(d: Dataset): BatchSource {
  return {
    classes: d.classes,
    shape: d.shape,
    labels: d.y,
    batch: async (idx, augment) => {
      const x = subset(d, idx).x;
      if (augment && d.shape.length === 3) augmentBatch(x, idx, d.shape as [number, number, number], augment);
      return x;
    },
  };
}

/**
 * Cached features of K views of every item (feature caching; K augmented views with augment.views, else
 * one): a batch shows, per item, the view its augment request picks for the epoch, as the uncached source
 * would have drawn it.
 */
export function viewsSource(
  d: { classes: string[]; labels: Int32Array; shape: readonly number[] },
  views: readonly Float32Array[],
): BatchSource {
  const per = d.shape.reduce((a, b) => a * b, 1);
  return {
    ...d,
    batch: async (idx, a) => {
      const x = new Float32Array(idx.length * per);
      idx.forEach((item, k) => {
        const v = a ? (a.view ?? pickView(a.seed, a.epoch, item, views.length)) : 0;
        x.set(views[v]!.subarray(item * per, (item + 1) * per), k * per);
      });
      return x;
    },
  };
}

export interface Dataset {
  classes: string[];
  /** Images, NHWC float32, row-major. */
  x: Float32Array;
  /** Class index of every image. */
  y: Int32Array;
  /** Per-sample shape: [height, width, channels] for images, anything for cached features. */
  shape: readonly number[];
}

export const count = (d: Dataset): number => d.y.length;

export function subset(d: Dataset, idx: readonly number[]): Dataset {
  const per = d.shape.reduce((a, b) => a * b, 1);
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
  const { train, val } = splitIndices(d.y, d.classes.length, valFraction, seed, samples);
  return { train: subset(d, train), val: subset(d, val) };
}

/** The index form of `split`: training indices shuffled, validation indices sorted. */
export function splitIndices(
  labels: Int32Array,
  classes: number,
  valFraction: number,
  seed: number,
  samples?: number,
): { train: number[]; val: number[] } {
  const rand = rng(seed);
  const byClass = Array.from({ length: classes }, () => [] as number[]);
  labels.forEach((c, i) => byClass[c]!.push(i));
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
  return { train: shuffleInPlace(trainIdx, rand), val: val.sort((a, b) => a - b) };
}
