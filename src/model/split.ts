// Split a model at a tensor into a frozen prefix and a trainable suffix, for feature caching: when every
// trainable (or training-mode) layer comes after the split, the prefix's outputs can be computed once per
// stage and only the suffix trained. The suffix re-applies the same layer objects, so weights are shared.
import * as tf from '../tf.js';
import { asList, isInput, mappedInputs, outputIn, reapply } from './surgery.js';

export interface ModelSplit {
  prefix: tf.LayersModel;
  suffix: tf.LayersModel;
  /** Name of the top-level layer whose output is the split point. */
  at: string;
  /** Per-sample shape of the cached features. */
  featureShape: number[];
}

/** The layers after `at` applied afresh to a new input in its place; undefined when they need more. */
function suffixFrom(model: tf.LayersModel, atIndex: number, cut: tf.SymbolicTensor): tf.LayersModel | undefined {
  const input = tf.input({ shape: cut.shape.slice(1) as number[], name: `${model.name}_features` });
  const mapped = new Map<number, tf.SymbolicTensor>([[cut.id, input]]);
  model.layers.forEach((layer, i) => {
    if (i <= atIndex || isInput(layer)) return;
    const args = mappedInputs(model, layer, mapped);
    if (args) reapply(model, layer, mapped, args); // else part of the prefix, or needs it (then the output is missing)
  });
  const outs = model.outputs.map((t) => mapped.get(t.id));
  if (outs.some((t) => t === undefined)) return undefined;
  return tf.model({ inputs: input, outputs: outs as tf.SymbolicTensor[], name: `${model.name}_suffix` });
}

/**
 * The latest split point (top-level layer output) such that no layer before it is in `active` (trainable
 * this stage, or behaving differently in training), and the rest of the model depends on it alone.
 * `active` holds top-level layer names.
 */
export function splitForCaching(model: tf.LayersModel, active: ReadonlySet<string>): ModelSplit | undefined {
  const layers = model.layers;
  const firstActive = layers.findIndex((l) => active.has(l.name));
  if (firstActive <= 0) return undefined;
  for (let i = firstActive - 1; i >= 0; i--) {
    const layer = layers[i]!;
    if (isInput(layer)) break;
    const outs = asList(outputIn(model, layer));
    if (outs.length !== 1) continue;
    const cut = outs[0]!;
    const suffix = suffixFrom(model, i, cut);
    if (!suffix) continue;
    const prefix = tf.model({ inputs: model.inputs, outputs: cut, name: `${model.name}_prefix` });
    return { prefix, suffix, at: layer.name, featureShape: cut.shape.slice(1) as number[] };
  }
  return undefined;
}
