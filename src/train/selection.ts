// What trains in a stage, at the variable level: layers trained whole, single variables picked in frozen
// layers (train.biases / train.norms), and adapters. tfjs prunes variables whose `trainable` flag is off
// from a gradient, so a picked bias is switched on by itself in a layer that stays frozen (and whose
// BatchNorm therefore stays in inference mode).
import type * as tf from '../tf.js';
import type { ResolvedStage } from '../schedule/plan.js';
import { weightName, type LayerEntry } from '../model/layers.js';
import type { AdapterSet } from './adapters.js';
import type { ParamGroup } from './optim.js';

export interface StageSelection {
  /** Every layer where something trains: whole, picked variables or an adapter. */
  active: Set<string>;
  /** Report rows, model order: a whole layer by its path, a picked variable as path/name, an adapter as path/lora. */
  rows: Map<string, tf.Variable[]>;
  /** The row of each trained variable. */
  rowOf: Map<tf.Variable, string>;
  /** Each layer's rows, by layer path. */
  layerRows: Map<string, string[]>;
  groups: ParamGroup[];
  /** Variables no step of the stage may change (weights of frozen layers, BN statistics among them). */
  stable: Set<tf.Variable>;
  /** Per layer not trained whole, its variables that stay frozen (the frozen-weight check). */
  frozen: Map<string, tf.LayerVariable[]>;
}

const variable = (w: tf.LayerVariable) => w.read() as tf.Variable;

/**
 * What a training forward pass of `model` may write: its non-trainable weights. Outside the stage's
 * stable set (which holdVariables skips) these are the moving statistics of the BatchNorm layers that
 * train, and any weight picked in a frozen layer, which it never writes: holding it costs a shared
 * reference.
 */
export function forwardWritten(model: tf.LayersModel): tf.Variable[] {
  return model.nonTrainableWeights.map(variable);
}

/**
 * The stage's selection over `whole` (the trainable layer set, already applied with applyTrainable):
 * switches the picked variables on and gathers param groups in model order, each variable in the group
 * of its layer (after the guard fired, layers the plan did not expect train in the stage's own group).
 */
export function applySelection(
  layers: readonly LayerEntry[],
  r: ResolvedStage,
  whole: ReadonlySet<string>,
  adapters: AdapterSet,
  bnPolicy: string,
): StageSelection {
  const sel: StageSelection = {
    active: new Set(),
    rows: new Map(),
    rowOf: new Map(),
    layerRows: new Map(),
    groups: [],
    stable: new Set(),
    frozen: new Map(),
  };
  const byId = new Map<string, ParamGroup>();
  for (const l of layers) {
    const picked = new Set(whole.has(l.path) ? [] : (r.variables.get(l.path) ?? []).map((w) => w.name));
    const pickedVars = l.layer.weights.filter((w) => picked.has(weightName(w)));
    for (const w of pickedVars) w.trainable = true;
    const rows: [string, tf.Variable[]][] = [
      ...(whole.has(l.path) ? [[l.path, l.layer.trainableWeights.map(variable)] as [string, tf.Variable[]]] : []),
      ...pickedVars.map((w): [string, tf.Variable[]] => [`${l.path}/${weightName(w)}`, [variable(w)]]),
      ...(adapters.variables(l.path).length > 0
        ? [[`${l.path}/lora`, adapters.variables(l.path)] as [string, tf.Variable[]]]
        : []),
    ].filter(([, vs]) => vs.length > 0);
    if (!whole.has(l.path)) {
      const frozen = l.layer.weights.filter((w) => !picked.has(weightName(w)));
      if (frozen.length > 0) sel.frozen.set(l.path, frozen);
      if (!(l.isBatchNorm && bnPolicy === 'train')) frozen.forEach((w) => sel.stable.add(variable(w)));
    }
    if (rows.length === 0) continue;
    sel.active.add(l.path);
    const id = r.layerGroup.get(l.path) ?? 'stage';
    const g = byId.get(id) ?? { id, baseLr: r.layerLr.get(l.path) ?? r.stage.lr, vars: [] };
    for (const [label, vs] of rows) {
      sel.rows.set(label, vs);
      for (const v of vs) sel.rowOf.set(v, label);
      g.vars.push(...vs);
    }
    sel.layerRows.set(
      l.path,
      rows.map(([label]) => label),
    );
    byId.set(id, g);
  }
  sel.groups = [...byId.values()];
  return sel;
}
