// Head surgery: cut a pretrained network at a layer and put a new head on top. Kept layers are the same
// layer objects, so their weights are untouched.
import { ScheduleError } from '../core/issues.js';
import { nodeBookkeeping } from '../core/tfjs-internals.js';
import * as tf from '../tf.js';
import { headKind, type HeadLayerSpec } from '../core/heads/index.js';
import { UserError } from '../core/errors.js';
import { closest } from '../core/issues.js';
import { isContainer, listLayers } from './layers.js';
import { nextSeed } from '../core/random.js';

export const isInput = (l: tf.layers.Layer) => l.getClassName() === 'InputLayer';
export const asList = (x: tf.SymbolicTensor | tf.SymbolicTensor[]) => (Array.isArray(x) ? x : [x]);

function single(x: tf.SymbolicTensor | tf.SymbolicTensor[], what: string): tf.SymbolicTensor {
  if (Array.isArray(x)) {
    if (x.length !== 1)
      throw new UserError(`${what} has ${x.length} inputs/outputs; freezeflow cuts single-path models only`);
    return x[0]!;
  }
  return x;
}

/**
 * A layer reused in several models (a nested Sequential always is) has several inbound nodes; the one
 * that belongs to `model` is recorded in its containerNodes as '<name>_ib-<i>'.
 */
function nodeIndexIn(model: tf.LayersModel, layer: tf.layers.Layer): number {
  // A Sequential keeps its graph in an inner functional model.
  // A Sequential builds its graph lazily; its node bookkeeping exists only after build().
  if (model instanceof tf.Sequential && !model.built) model.build(model.inputs[0]!.shape);
  const { nodes, count } = nodeBookkeeping(model, layer);
  for (let i = 0; i < count; i++) if (nodes.has(`${layer.name}_ib-${i}`)) return i;
  return 0;
}

export const outputIn = (model: tf.LayersModel, layer: tf.layers.Layer) =>
  layer.getOutputAt(nodeIndexIn(model, layer)) as tf.SymbolicTensor;
export const inputIn = (model: tf.LayersModel, layer: tf.layers.Layer) =>
  layer.getInputAt(nodeIndexIn(model, layer)) as tf.SymbolicTensor;

/** Rebuilding a graph: `layer`'s inputs in `model` as their copies in `mapped`; undefined while one is missing. */
export function mappedInputs(
  model: tf.LayersModel,
  layer: tf.layers.Layer,
  mapped: ReadonlyMap<number, tf.SymbolicTensor>,
): tf.SymbolicTensor | tf.SymbolicTensor[] | undefined {
  const ins = asList(inputIn(model, layer)).map((t) => mapped.get(t.id));
  if (ins.some((t) => t === undefined)) return undefined;
  return ins.length === 1 ? ins[0]! : (ins as tf.SymbolicTensor[]);
}

/** Rebuilding a graph: `stand` (`layer` itself, or what replaces it) applied, `layer`'s outputs' copies recorded. */
export function reapply(
  model: tf.LayersModel,
  layer: tf.layers.Layer,
  mapped: Map<number, tf.SymbolicTensor>,
  args: tf.SymbolicTensor | tf.SymbolicTensor[],
  stand: tf.layers.Layer = layer,
): void {
  const outs = asList(stand.apply(args) as tf.SymbolicTensor | tf.SymbolicTensor[]);
  asList(outputIn(model, layer)).forEach((t, k) => mapped.set(t.id, outs[k]!));
}

/**
 * A Sequential's top-level layers applied afresh to a new input, up to and including `last`. Tracing a
 * nested Sequential's own graph can flatten it (its inputs are the innermost model's inputs); applying
 * the same layer objects keeps both the nesting and the weights.
 */
function chainUpTo(model: tf.LayersModel, last: tf.layers.Layer, replace?: tf.LayersModel): tf.LayersModel {
  const input = tf.input({
    shape: single(model.inputs, model.name).shape.slice(1) as number[],
    name: `${model.name}_input`,
  });
  let x: tf.SymbolicTensor = input;
  for (const l of model.layers) {
    if (isInput(l)) continue;
    x = (l === last && replace ? replace : l).apply(x) as tf.SymbolicTensor;
    if (l === last) return tf.model({ inputs: input, outputs: x, name: model.name });
  }
  throw new UserError(`cannot reach layer '${last.name}' in '${model.name}'`);
}

function findTop(model: tf.LayersModel, name: string, fullPath: string): tf.layers.Layer {
  const layer = model.layers.find((l) => l.name === name);
  if (!layer) {
    const names = listLayers(model).map((l) => l.path);
    const hint = closest(fullPath, names, 3);
    // a schedule error: the caller knows where model.cutAt is in the file
    throw new ScheduleError([
      {
        path: ['model', 'cutAt'],
        message: `model.cutAt: no layer '${fullPath}'${hint.length ? `; closest layers: ${hint.join(', ')}` : ''}`,
      },
    ]);
  }
  return layer;
}

/** A model from the original input to the output of the layer at `path` (segments of a full path). */
function cutAt(model: tf.LayersModel, path: string[], fullPath: string): tf.LayersModel {
  const [name, ...rest] = path;
  const layer = findTop(model, name!, fullPath);
  if (rest.length === 0) {
    if (model instanceof tf.Sequential) return chainUpTo(model, layer);
    return tf.model({ inputs: model.inputs, outputs: single(outputIn(model, layer), name!), name: model.name });
  }
  if (!isContainer(layer)) throw new UserError(`model.cutAt: '${name}' in '${fullPath}' is not a nested model`);
  if (!(model instanceof tf.Sequential) && model.layers.some((l) => !isInput(l) && Array.isArray(inputIn(model, l)))) {
    throw new UserError(
      `model.cutAt: '${fullPath}' lies in a nested model whose parent is not a simple chain; cut at a top-level layer`,
    );
  }
  // Re-apply the outer chain up to the nested model, with the cut inner model in its place.
  return chainUpTo(model, layer, cutAt(layer, rest, fullPath));
}

/** Cut at a full layer path, or drop the last top-level layer (the old head) when none is given. */
export function cutModel(model: tf.LayersModel, path?: string): tf.LayersModel {
  if (path !== undefined) return cutAt(model, path.split('/'), path);
  const top = model.layers.filter((l) => !isInput(l));
  if (top.length < 2) throw new UserError('the model has a single layer; give model.cutAt to say where to cut');
  const last = top[top.length - 1]!;
  if (model instanceof tf.Sequential) return chainUpTo(model, top[top.length - 2]!);
  return tf.model({
    inputs: model.inputs,
    outputs: single(inputIn(model, last), last.name),
    name: model.name,
  });
}

function buildHeadLayer(spec: HeadLayerSpec, classes: number, counters: Map<string, number>): tf.layers.Layer {
  const { kind, settings } = headKind(spec);
  const n = (counters.get(kind.key) ?? 0) + 1;
  counters.set(kind.key, n);
  const name = (settings as { name?: string }).name ?? `${kind.prefix}_${n}`;
  const kernelInitializer = () => tf.initializers.glorotNormal({ seed: nextSeed() });
  return kind.build<tf.layers.Layer>(tf.layers, settings, { classes, name, kernelInitializer });
}

/**
 * The fine-tuning model: the cut network followed by a nested Sequential named 'head', so the new layers
 * have paths 'head/dense_1', …. A rank-4 cut output gets global average pooling first unless the head
 * starts with its own pooling or flatten (fastai's create_head does the same).
 */
export function attachHead(cut: tf.LayersModel, specs: readonly HeadLayerSpec[], classes: number): tf.LayersModel {
  const feature = single(cut.outputs, 'the cut model');
  const counters = new Map<string, number>();
  const layers: tf.layers.Layer[] = [];
  if (feature.shape.length === 4 && !(specs[0] && headKind(specs[0]).kind.pools)) {
    layers.push(buildHeadLayer({ globalAveragePooling: {} }, classes, counters));
  }
  for (const s of specs) layers.push(buildHeadLayer(s, classes, counters));
  const head = tf.sequential({
    name: 'head',
    layers: [tf.layers.inputLayer({ inputShape: feature.shape.slice(1) as number[] }), ...layers],
  });
  const out = head.apply(feature) as tf.SymbolicTensor;
  return tf.model({ inputs: cut.inputs, outputs: out, name: 'freezeflow' });
}
