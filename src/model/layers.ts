// A model's layers as a flat list of full paths ('outer/inner/name'), with parameter counts and flags.
import { weightLists } from '../core/tfjs-internals.js';
import * as tf from '../tf.js';
import type { LayerInfo } from '../core/layer-info.js';

export interface LayerEntry extends LayerInfo {
  index: number;
  depth: number;
  layer: tf.layers.Layer;
  outputShape: string;
  trainable: boolean;
  hasWeights: boolean;
  isContainer: boolean;
}

export function isContainer(layer: tf.layers.Layer): layer is tf.LayersModel & tf.layers.Layer {
  return layer instanceof tf.LayersModel;
}

/** A weight's own name without its layer's path: kernel, bias, gamma, beta, moving_mean, … */
export const weightName = (w: tf.LayerVariable): string => w.originalName.split('/').pop()!;

export function isBatchNorm(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === 'BatchNormalization';
}

const size = (vs: readonly tf.LayerVariable[]) =>
  vs.reduce((n, v) => n + (v.shape as number[]).reduce((a, b) => a * b, 1), 0);

function shapeOf(layer: tf.layers.Layer): string {
  try {
    const s = layer.outputShape;
    const one = (x: unknown): string => `[${(x as (number | null)[]).map((d) => (d === null ? '?' : d)).join(',')}]`;
    return Array.isArray(s[0]) || s[0] === undefined ? (s as unknown[]).map(one).join(' ') : one(s);
  } catch {
    return 'multiple';
  }
}

/**
 * Every layer, depth-first in model order. Containers (nested models) are listed before their children
 * when `containers` is set; InputLayers are left out. Parameter counts of a leaf are what it would train
 * when unfrozen (BatchNorm moving statistics are never trainable).
 */
export function listLayers(
  model: tf.LayersModel,
  opts: { containers?: boolean; headName?: string } = {},
): LayerEntry[] {
  const out: LayerEntry[] = [];
  const headName = opts.headName ?? 'head';
  const walk = (m: tf.LayersModel, prefix: string, depth: number, inHead: boolean, parentTrainable: boolean) => {
    for (const layer of m.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      const path = prefix ? `${prefix}/${layer.name}` : layer.name;
      const head = inHead || (depth === 0 && layer.name === headName);
      if (isContainer(layer)) {
        if (opts.containers) {
          out.push(entry(layer, path, depth, head, parentTrainable && layer.trainable, true, out.length));
        }
        walk(layer, path, depth + 1, head, parentTrainable && layer.trainable);
      } else {
        out.push(entry(layer, path, depth, head, parentTrainable && layer.trainable, false, out.length));
      }
    }
  };
  walk(model, '', 0, false, model.trainable);
  return out;
}

function entry(
  layer: tf.layers.Layer,
  path: string,
  depth: number,
  isHead: boolean,
  trainable: boolean,
  container: boolean,
  index: number,
): LayerEntry {
  const w = weightLists(layer);
  const potential = container ? size(layer.weights.filter((v) => v.trainable)) : size(w.trainable);
  const fixed = container ? size(layer.weights) - potential : size(w.fixed);
  const trainableSet = new Set(w.trainable);
  const weights = container
    ? undefined
    : layer.weights.map((v) => ({
        name: weightName(v),
        shape: [...(v.shape as number[])],
        trainable: trainableSet.has(v),
      }));
  return {
    index,
    path,
    depth,
    layer,
    className: layer.getClassName(),
    outputShape: shapeOf(layer),
    trainableParams: potential,
    nonTrainableParams: fixed,
    trainable,
    isBatchNorm: isBatchNorm(layer),
    hasWeights: layer.weights.length > 0,
    isContainer: container,
    isHead,
    ...(weights ? { weights } : {}),
  };
}

/** Set trainable flags so exactly the layers in `trainable` (full paths) train. Containers stay on. */
export function applyTrainable(model: tf.LayersModel, trainable: ReadonlySet<string>): void {
  const walk = (m: tf.LayersModel, prefix: string) => {
    m.trainable = true;
    for (const layer of m.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      const path = prefix ? `${prefix}/${layer.name}` : layer.name;
      if (isContainer(layer)) walk(layer, path);
      else layer.trainable = trainable.has(path);
    }
  };
  walk(model, '');
}
