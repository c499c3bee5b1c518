// Split a model at a tensor into a frozen prefix and a trainable suffix, for feature caching: when every
// trainable (or training-mode) layer comes after the split, the prefix's outputs can be computed once per
// stage and only the suffix trained. Nested models are split like flat ones: the graph is walked down to
// its leaf layers, so a Teachable Machine export (sequential → model1 → layers) splits inside model1.
// Both parts re-apply the same leaf layer objects, so weights are shared.
import * as tf from '../tf.js';
import { asList, inputIn, isInput, outputIn } from './surgery.js';
import { isContainer } from './layers.js';

export interface ModelSplit {
  prefix: tf.LayersModel;
  suffix: tf.LayersModel;
  /** Full path ('outer/inner/name') of the leaf layer whose output is the split point. */
  at: string;
  /** Per-sample shape of the cached features. */
  featureShape: number[];
}

/** A leaf layer's call in the whole graph: its tensors by id, nested models' boundaries resolved. */
interface LeafNode {
  layer: tf.layers.Layer;
  path: string;
  inputs: number[];
  outputs: number[];
  /** Per-sample shapes of the outputs. */
  shapes: number[][];
}

interface LeafGraph {
  nodes: LeafNode[];
  inputs: { id: number; shape: number[] }[];
  outputs: number[];
}

/**
 * Every leaf layer call in graph order. A nested model's inputs are the same tensors as what it is
 * applied to in its parent, and its outputs the same as that call's outputs: `same` records those
 * identities, so each tensor has one id.
 */
export function leafGraph(model: tf.LayersModel): LeafGraph {
  const same = new Map<number, number>();
  const root = (i: number): number => (same.has(i) ? root(same.get(i)!) : i);
  const id = (t: tf.SymbolicTensor) => root(t.id);
  const alias = (from: tf.SymbolicTensor, to: tf.SymbolicTensor) => {
    if (id(from) !== id(to)) same.set(id(from), id(to));
  };
  const nodes: LeafNode[] = [];
  const walk = (m: tf.LayersModel, prefix: string) => {
    for (const layer of m.layers) {
      if (isInput(layer)) continue;
      const path = prefix ? `${prefix}/${layer.name}` : layer.name;
      const ins = asList(inputIn(m, layer));
      if (isContainer(layer)) {
        layer.inputs.forEach((t, k) => alias(t, ins[k]!));
        walk(layer, path);
        asList(outputIn(m, layer)).forEach((t, k) => alias(t, layer.outputs[k]!));
        continue;
      }
      const outs = asList(outputIn(m, layer));
      const shapes = outs.map((t) => t.shape.slice(1) as number[]);
      nodes.push({ layer, path, inputs: ins.map(id), outputs: outs.map(id), shapes });
    }
  };
  walk(model, '');
  // ids resolved again at the end: an alias recorded after a node (a nested model's output) still applies
  for (const n of nodes) n.outputs = n.outputs.map(root);
  const inputs = model.inputs.map((t) => ({ id: id(t), shape: t.shape.slice(1) as number[] }));
  return { nodes, inputs, outputs: model.outputs.map(id) };
}

/** The leaf calls in `nodes` applied to `mapped` tensors, in order; a call whose inputs are missing is left out. */
function apply(nodes: readonly LeafNode[], mapped: Map<number, tf.SymbolicTensor>): void {
  for (const n of nodes) {
    const ins = n.inputs.map((i) => mapped.get(i));
    if (ins.some((t) => t === undefined)) continue; // part of the prefix, or needs it
    const args = ins.length === 1 ? ins[0]! : (ins as tf.SymbolicTensor[]);
    const outs = asList(n.layer.apply(args) as tf.SymbolicTensor | tf.SymbolicTensor[]);
    n.outputs.forEach((o, k) => mapped.set(o, outs[k]!));
  }
}

/** A flat model of `nodes` from fresh inputs standing for the tensors `from`; undefined when an output is unreachable. */
function rebuild(
  name: string,
  nodes: readonly LeafNode[],
  from: readonly { id: number; shape: number[] }[],
  outputs: readonly number[],
): tf.LayersModel | undefined {
  const mapped = new Map<number, tf.SymbolicTensor>();
  const inputs = from.map((f, k) => tf.input({ shape: f.shape, name: `${name}_input${k}` }));
  from.forEach((f, k) => mapped.set(f.id, inputs[k]!));
  apply(nodes, mapped);
  const outs = outputs.map((o) => mapped.get(o));
  if (outs.some((t) => t === undefined)) return undefined;
  try {
    return tf.model({ inputs, outputs: outs as tf.SymbolicTensor[], name });
  } catch {
    return undefined; // two nested layers with one name: a flat model cannot hold both
  }
}

/**
 * The latest split point (a leaf layer's output, at any depth) such that no leaf before it is in
 * `active` (trainable this stage, or behaving differently in training) and the rest of the model
 * depends on it alone.
 */
export function splitForCaching(model: tf.LayersModel, active: ReadonlySet<tf.layers.Layer>): ModelSplit | undefined {
  const g = leafGraph(model);
  const firstActive = g.nodes.findIndex((n) => active.has(n.layer));
  if (firstActive <= 0 || g.inputs.length !== 1) return undefined;
  for (let i = firstActive - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (node.outputs.length !== 1) continue;
    const cut = node.outputs[0]!;
    const suffix = rebuild(
      `${model.name}_suffix`,
      g.nodes.slice(i + 1),
      [{ id: cut, shape: node.shapes[0]! }],
      g.outputs,
    );
    if (!suffix) continue;
    const prefix = rebuild(`${model.name}_prefix`, g.nodes.slice(0, i + 1), g.inputs, [cut]);
    if (!prefix) return undefined;
    return { prefix, suffix, at: node.path, featureShape: node.shapes[0]! };
  }
  return undefined;
}
