// Training mode per layer: which layers see training=true in a call, and their random draws seeded.
import * as tf from '../tf.js';
import { isBatchNorm, type LayerEntry } from '../model/layers.js';
import { setLayerSeed, wrapLayerCall, type LayerCall } from '../core/tfjs-internals.js';
import { nextSeed, withSeededRandom } from '../core/random.js';
import { fusedBatchNormCall } from './batchnorm.js';
import { unfuseInTraining } from './first-conv.js';

/** Layers whose behaviour depends on the training flag. */
export const MODE_LAYERS = new Set([
  'BatchNormalization',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

/**
 * A training call of a random layer draws from the run's stream (src/core/random.ts): Dropout through its
 * seed, the others (no seed option in tfjs) through Math.random for that synchronous call only.
 */
function seeded(layer: tf.layers.Layer, call: () => ReturnType<LayerCall>): ReturnType<LayerCall> {
  const cls = layer.getClassName();
  if (cls === 'BatchNormalization') return call();
  if (cls !== 'Dropout' && cls !== 'SpatialDropout1D') return withSeededRandom(call);
  const rate = (layer as tf.layers.Layer & { rate: number }).rate;
  if (!(rate > 0 && rate < 1)) return call(); // tfjs draws nothing then
  setLayerSeed(layer, nextSeed());
  try {
    return call();
  } finally {
    setLayerSeed(layer, undefined); // a saved model.json keeps the layer's own config
  }
}

/**
 * tfjs decides train/inference per call and does not pass `training` into nested models; BatchNorm
 * never reads `trainable` and updates its moving statistics whenever training=true. So freezeflow sets
 * the mode of every mode-dependent layer itself: training only in a training step, and frozen BatchNorm
 * layers always in inference mode (Keras semantics) unless the schedule trains BN.
 */
export class ModeController {
  training = false;
  /** The stage's convs whose input no trained variable reaches (first-conv.ts): unfused in training. */
  private readonly unfused = new Set<tf.layers.Layer>();
  private readonly wrapped = new WeakSet<tf.layers.Layer>();
  constructor(
    layers: readonly LayerEntry[],
    private readonly bnPolicy: 'frozen' | 'train',
  ) {
    for (const { layer } of layers) {
      if (!MODE_LAYERS.has(layer.getClassName())) continue;
      wrapLayerCall(layer, (original) => (inputs, kwargs) => {
        const bnFrozen = isBatchNorm(layer) && !layer.trainable && this.bnPolicy === 'frozen';
        const training = this.training && !bnFrozen;
        const fused = () => (training && isBatchNorm(layer) ? fusedBatchNormCall(layer, inputs) : undefined);
        const call = () => fused() ?? original(inputs, { ...kwargs, training });
        return training ? seeded(layer, call) : call();
      });
    }
  }

  /** From now on these convs (and only these) run unfused in training; set at each stage's start. */
  unfuse(convs: ReadonlySet<tf.layers.Layer>): void {
    this.unfused.clear();
    for (const layer of convs) {
      this.unfused.add(layer);
      if (this.wrapped.has(layer)) continue;
      this.wrapped.add(layer);
      unfuseInTraining(layer, () => this.training && this.unfused.has(layer));
    }
  }
}
