// Optimizer state in checkpoints: each param group's slots (Adam's moments, momentum, iterations) by
// the group's identity, so --resume continues with the moments the run had, not fresh ones.
import * as tf from '../tf.js';
import { adamAccumulators } from '../core/tfjs-internals.js';
import type { SavedGroup } from '../core/run-files.js';
import type { NormalizedOptimizer } from '../schedule/plan.js';
import type { LayerEntry } from '../model/layers.js';
import { newGroup, type GroupOptimizer } from './optim.js';

const ACC = 'freezeflow/adamAccBeta';

export interface OptimizerSnapshot {
  groups: SavedGroup[];
  /** Per group, its optimizer's weights in getWeights() order. */
  tensors: tf.Tensor[][];
}

/** 'layer/path:index' for every weight variable: stable across processes, unlike tfjs variable names. */
export function variableKeys(layers: readonly LayerEntry[]): Map<tf.Variable, string> {
  const out = new Map<tf.Variable, string>();
  for (const l of layers)
    l.layer.weights.forEach((w, i) => {
      const v = w.read() as tf.Variable;
      if (!out.has(v)) out.set(v, `${l.path}:${i}`);
    });
  return out;
}

export async function snapshotGroups(
  groups: readonly GroupOptimizer[],
  keys: ReadonlyMap<tf.Variable, string>,
): Promise<OptimizerSnapshot> {
  // getWeights(), then Adam's β^t accumulators (named so restoreGroups can tell them apart)
  const weights = await Promise.all(
    groups.map(async (g) => [
      ...(await g.optimizer.getWeights()),
      ...adamAccumulators(g.optimizer).map((v, i) => ({ name: `${ACC}${i + 1}`, tensor: v as tf.Tensor })),
    ]),
  );
  return {
    groups: groups.map((g, k) => ({
      id: g.id,
      config: g.config,
      baseLr: g.baseLr,
      keys: g.vars.map((v) => keys.get(v)!),
      weights: weights[k]!.map((w) => ({
        name: w.name,
        shape: w.tensor.shape,
        dtype: w.tensor.dtype === 'int32' ? 'int32' : 'float32',
      })),
    })),
    tensors: weights.map((ws) => ws.map((w) => w.tensor)),
  };
}

/** The saved groups as live optimizers with their state (a group whose variables are gone is dropped). */
export async function restoreGroups(
  snap: OptimizerSnapshot,
  keys: ReadonlyMap<tf.Variable, string>,
): Promise<GroupOptimizer[]> {
  const byKey = new Map([...keys].map(([v, k]) => [k, v]));
  const out: GroupOptimizer[] = [];
  for (const [k, g] of snap.groups.entries()) {
    const vars = g.keys.map((key) => byKey.get(key));
    if (vars.some((v) => v === undefined)) continue;
    const group = newGroup(JSON.parse(g.config) as NormalizedOptimizer, {
      id: g.id,
      baseLr: g.baseLr,
      vars: vars as tf.Variable[],
    });
    const saved = g.weights.map((w, i) => ({ name: w.name, tensor: snap.tensors[k]![i]! }));
    await group.optimizer.setWeights(saved.filter((w) => !w.name.startsWith(ACC)));
    const acc = saved.filter((w) => w.name.startsWith(ACC));
    adamAccumulators(group.optimizer).forEach((v, i) => acc[i] && v.assign(acc[i].tensor));
    out.push(group);
  }
  return out;
}
