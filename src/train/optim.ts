// Optimizers per lr group, with decoupled (AdamW) or L2 weight decay, which tfjs optimizers lack.
import { setOptimizerLr } from '../core/tfjs-internals.js';
import * as tf from '../tf.js';
import type { NormalizedOptimizer, StagePlan } from '../schedule/plan.js';
import { optimizerKind } from '../schedule/optimizers/index.js';
import { fusedAdamStep } from './fused-adam.js';

/** Trainable variables that share an lr, named by where the lr comes from (see ResolvedStage). */
export interface ParamGroup {
  id: string;
  /** lr before the scheduler's factor. */
  baseLr: number;
  vars: tf.Variable[];
}

export interface GroupOptimizer extends ParamGroup {
  optimizer: tf.Optimizer;
  /** The optimizer's type and settings: state is only kept for the same ones. */
  config: string;
  /** The optimizer and its state came from the previous stage (keepOptimizerState). */
  kept: boolean;
  setLr(lr: number): void;
  currentLr: number;
  /** The group's variables by name (what gradient maps are keyed by). */
  byName: ReadonlyMap<string, tf.Variable>;
}

/** A group's own optimizer, built from the (normalized) optimizer settings. */
export function newGroup(spec: NormalizedOptimizer, g: ParamGroup): GroupOptimizer {
  const optimizer = optimizerKind(spec.type).build<tf.Optimizer>(tf.train, spec, g.baseLr);
  const out: GroupOptimizer = {
    ...g,
    optimizer,
    config: JSON.stringify(spec),
    kept: false,
    currentLr: g.baseLr,
    byName: new Map(g.vars.map((v) => [v.name, v])),
    setLr(v: number) {
      if (v !== out.currentLr) setOptimizerLr(optimizer, v);
      out.currentLr = v;
    },
  };
  return out;
}

const sameVars = (a: readonly tf.Variable[], b: readonly tf.Variable[]) =>
  a.length === b.length && a.every((v, k) => v === b[k]);

/**
 * One optimizer per param group (tfjs optimizers take a single lr). With `keep`, a group keeps the
 * previous stage's optimizer, and so its state, only where the id, the variables (tfjs keys Adam's
 * slots by position, tfjs#4290) and the optimizer's settings are all the same; every other group gets
 * a fresh one. Optimizers not carried over are disposed.
 */
export function buildGroups(
  stage: StagePlan,
  groups: readonly ParamGroup[],
  previous: readonly GroupOptimizer[],
  keep: boolean,
): GroupOptimizer[] {
  const config = JSON.stringify(stage.optimizer);
  const out = groups.map((g) => {
    const p = previous.find((q) => keep && q.id === g.id && q.config === config && sameVars(q.vars, g.vars));
    if (!p) return newGroup(stage.optimizer, g);
    p.baseLr = g.baseLr;
    p.kept = true;
    return p;
  });
  disposeGroups(previous.filter((p) => !out.includes(p)));
  return out;
}

/**
 * One update. L2 adds wd·w to the gradient before the optimizer (classic weight decay, as in PyTorch's
 * SGD/Adam `weight_decay`); decoupled decay shrinks the weights by lr·wd first (PyTorch AdamW order).
 */
export function applyStep(groups: GroupOptimizer[], grads: tf.NamedTensorMap, stage: StagePlan): void {
  const wd = stage.weightDecay;
  for (const g of groups) {
    const named: tf.NamedTensorMap = {};
    for (const v of g.vars) {
      const grad = grads[v.name];
      if (!grad) continue;
      // tidy: the product wd·w is an intermediate (it leaked one tensor per decayed variable per step)
      const l2 = wd > 0 && stage.weightDecayMode === 'l2' && isDecayed(v);
      named[v.name] = l2 ? tf.tidy(() => tf.add(grad, tf.mul(v, wd))) : grad;
    }
    const decoupled = wd > 0 && stage.weightDecayMode === 'decoupled';
    const decayOf = (v: tf.Variable) => (decoupled && isDecayed(v) ? 1 - g.currentLr * wd : 1);
    // Adam on wasm: decay and update in one kernel per variable; otherwise decay, then tfjs' optimizer
    if (!fusedAdamStep(g.optimizer, named, g.byName, decayOf)) {
      if (decoupled) {
        tf.tidy(() => {
          for (const v of g.vars) if (isDecayed(v) && named[v.name]) v.assign(tf.mul(v, decayOf(v)));
        });
      }
      g.optimizer.applyGradients(named);
    }
    for (const v of g.vars) if (named[v.name] !== grads[v.name]) named[v.name]?.dispose();
  }
}

/** Biases and BatchNorm scales/offsets are not decayed (the usual no_decay convention). */
export function isDecayed(v: tf.Variable): boolean {
  return v.shape.length > 1;
}

export function disposeGroups(groups: GroupOptimizer[]): void {
  for (const g of groups) g.optimizer.dispose();
}
