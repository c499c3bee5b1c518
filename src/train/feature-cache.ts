// Feature caching: when everything up to some layer is frozen and runs the same in training, its outputs
// are computed once for the stage and only the rest of the model trains (same weights, same numbers).
// With augment.views: K, the prefix runs on K fixed augmented views of every training image, and each
// epoch shows every image as the view it would have drawn uncached.
import * as tf from '../tf.js';
import type { Plan } from '../schedule/plan.js';
import type { LayerEntry } from '../model/layers.js';
import { splitForCaching, type ModelSplit } from '../model/split.js';
import { foldBatchNorm } from '../model/fold.js';
import { isAugmenting } from '../data/augment.js';
import { sourceSize, viewsSource, type AugmentRequest, type BatchSource } from '../data/dataset.js';
import type { EventBus } from '../core/events.js';
import { MODE_LAYERS, type ModeController } from './mode.js';

export interface StageData {
  model: tf.LayersModel;
  train: BatchSource;
  val: BatchSource;
}

export interface CacheContext {
  plan: Plan;
  model: tf.LayersModel;
  data: { train: BatchSource; val: BatchSource };
  bus: EventBus;
}

/** The augmentation an epoch's batches get (undefined: none). */
export function augmentFor(plan: Plan, epoch: number): AugmentRequest | undefined {
  const a = plan.data.augment;
  return isAugmenting(a) ? { spec: a, seed: plan.data.seed, epoch } : undefined;
}

/** Leaf layers that must run in the training step: trainable now, or training-mode dependent. */
function activeLayers(
  layers: readonly LayerEntry[],
  trainable: ReadonlySet<string>,
  bnPolicy: string,
): Set<tf.layers.Layer> {
  const out = new Set<tf.layers.Layer>();
  for (const l of layers) {
    const cls = l.layer.getClassName();
    const modeActive = MODE_LAYERS.has(cls) && (cls !== 'BatchNormalization' || bnPolicy === 'train');
    if (trainable.has(l.path) || modeActive) out.add(l.layer);
  }
  return out;
}

/** Run `model` (in inference mode) over a whole source, into one Float32Array; `augment` picks a view. */
async function computeFeatures(
  model: tf.LayersModel,
  mode: ModeController,
  d: BatchSource,
  perSample: number,
  augment?: AugmentRequest,
): Promise<Float32Array> {
  mode.training = false;
  const n = sourceSize(d);
  const out = new Float32Array(n * perSample);
  for (let s = 0; s < n; s += 128) {
    const idx = Array.from({ length: Math.min(128, n - s) }, (_, k) => s + k);
    const x = tf.tensor(await d.batch(idx, augment), [idx.length, ...d.shape]);
    const f = tf.tidy(() => model.apply(x) as tf.Tensor);
    out.set((await f.data()) as Float32Array, s * perSample);
    tf.dispose([x, f]);
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** The split's prefix (BatchNorm folded) run over the training views and the validation set. */
async function cachedSources(
  c: CacheContext,
  split: ModelSplit,
  mode: ModeController,
  views: number | undefined,
): Promise<{ train: BatchSource; val: BatchSource; folded: number }> {
  const { plan, data } = c;
  const per = split.featureShape.reduce((a, b) => a * b, 1);
  const meta = (d: BatchSource) => ({ classes: d.classes, labels: d.labels, shape: split.featureShape });
  // the prefix only runs forward in inference mode: BatchNorm folded into the convs does a third less work
  const folded = foldBatchNorm(split.prefix);
  try {
    // the training images' features: K views with augment.views, else the images as they are (one view)
    const all: Float32Array[] = [];
    for (let view = 0; view < (views ?? 1); view++) {
      const augment = views === undefined ? undefined : { ...augmentFor(plan, 0)!, view };
      all.push(await computeFeatures(folded.model, mode, data.train, per, augment));
    }
    const val = [await computeFeatures(folded.model, mode, data.val, per)];
    return { train: viewsSource(meta(data.train), all), val: viewsSource(meta(data.val), val), folded: folded.folded };
  } finally {
    folded.dispose();
  }
}

/** The stage's model and data: the suffix on cached features when a frozen prefix can be cut off. */
export async function stageData(
  c: CacheContext,
  layers: readonly LayerEntry[],
  trainable: ReadonlySet<string>,
  mode: ModeController,
  si: number,
): Promise<StageData> {
  const { plan, model, data, bus } = c;
  const plain = { model, train: data.train, val: data.val };
  const off = (reason: string) => {
    bus.emit({ type: 'feature-cache', stageIndex: si, used: false, reason });
    return plain;
  };
  if (!plan.training.cacheFeatures) return plain;
  const views = isAugmenting(plan.data.augment) ? plan.data.augment.views : undefined;
  if (isAugmenting(plan.data.augment) && views === undefined)
    return off('the data is augmented (augment.views: K would cache K augmented views of each image)');
  const active = activeLayers(layers, trainable, plan.training.batchNorm);
  const first = layers.find((l) => !l.isContainer);
  if (first && active.has(first.layer))
    return off(`the first layer ('${first.path}') trains: nothing before it to cache`);
  const split = splitForCaching(model, active);
  if (!split) return off('no frozen prefix ends in a single tensor before the first trainable layer');
  const per = split.featureShape.reduce((a, b) => a * b, 1);
  const mb = (((views ?? 1) * sourceSize(data.train) + sourceSize(data.val)) * per * 4) / 2 ** 20;
  if (mb > plan.data.cacheMB)
    return off(`the features would take ${mb.toFixed(0)} MB, over data.cacheMB (${plan.data.cacheMB})`);
  const t0 = Date.now();
  const { train, val, folded } = await cachedSources(c, split, mode, views);
  bus.emit({
    type: 'feature-cache',
    stageIndex: si,
    used: true,
    at: split.at,
    featureShape: split.featureShape,
    megabytes: mb,
    foldedBatchNorm: folded,
    views,
    seconds: (Date.now() - t0) / 1000,
  });
  return { model: split.suffix, train, val };
}
