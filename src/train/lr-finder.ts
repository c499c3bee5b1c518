// lr: find — the range test at a stage's start: a short exponential lr sweep on the stage's own trainable
// set and data, with throw-away optimizers; the weights (BatchNorm statistics included) and the random
// stream are put back exactly afterwards, so training then runs as if the found lr had been written.
import * as tf from '../tf.js';
import { rng, restoreRandomState, randomState, shuffleInPlace } from '../core/random.js';
import type { AugmentRequest, BatchSource } from '../data/dataset.js';
import type { LayerEntry } from '../model/layers.js';
import { SmoothedLoss, suggestLr, sweepLr, type LrPoint } from '../schedule/lr-find.js';
import { groupLr } from '../schedule/plan.js';
import type { StagePlan } from '../schedule/plan.js';
import { toTensors } from './epoch.js';
import { applyStep, newGroup, type GroupOptimizer } from './optim.js';
import type { ModeController } from './mode.js';
import { disposeStep, forwardBackward } from './step.js';

export interface LrSweep {
  points: LrPoint[];
  /** The rule's pick; undefined when the curve was too short to read (the stage keeps its lr). */
  suggestion?: number;
}

export interface SweepContext {
  stage: StagePlan & { lrFind: NonNullable<StagePlan['lrFind']> };
  model: tf.LayersModel;
  mode: ModeController;
  train: BatchSource;
  layers: readonly LayerEntry[];
  groups: readonly GroupOptimizer[];
  batchSize: number;
  seed: number;
  /** How many blocks the stage's lrDecay spreads over (ResolvedStage.decayBlocks). */
  decayBlocks: number;
  /** The augmentation of the sweep's n-th pass over the data. */
  augment?: (pass: number) => AugmentRequest | undefined;
}

/** Every weight of the model (trainable or not), copied: what the sweep may change. */
export function holdWeights(layers: readonly LayerEntry[]): Map<tf.Variable, tf.Tensor> {
  const out = new Map<tf.Variable, tf.Tensor>();
  for (const l of layers)
    for (const w of l.layer.weights) {
      const v = w.read() as tf.Variable;
      if (!out.has(v)) out.set(v, tf.clone(v));
    }
  return out;
}

/** The weights holdWeights copied, assigned back (and the copies disposed). */
export function putBack(held: Map<tf.Variable, tf.Tensor>): void {
  for (const [v, old] of held) {
    v.assign(old);
    old.dispose();
  }
}

export async function lrSweep(c: SweepContext): Promise<LrSweep> {
  const s = c.stage.lrFind;
  const random = randomState();
  const held = holdWeights(c.layers);
  const temp = c.groups.map((g) => newGroup(JSON.parse(g.config), { id: g.id, baseLr: g.baseLr, vars: g.vars }));
  const vars = temp.flatMap((g) => g.vars);
  const n = c.train.labels.length;
  const order = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    rng(c.seed * 1000 + 0x1f),
  );
  const perEpoch = Math.max(1, Math.ceil(n / c.batchSize));
  const smooth = new SmoothedLoss();
  const points: LrPoint[] = [];
  try {
    for (let i = 0; i < s.steps; i++) {
      const lr = sweepLr(s, i);
      for (const g of temp) g.setLr(groupLr(c.stage, g.id, lr, c.decayBlocks));
      const b = i % perEpoch;
      const idx = order.slice(b * c.batchSize, (b + 1) * c.batchSize);
      const pixels = await c.train.batch(idx, c.augment?.(Math.floor(i / perEpoch)));
      const { x, y } = toTensors(c.train, idx, pixels, c.train.classes.length);
      const t = forwardBackward(c.model, c.mode, x, y, vars);
      try {
        const loss = (await t.loss.data())[0]!; // one read per sweep step: the sweep is short
        applyStep(temp, t.grads, c.stage);
        const stop = smooth.add(loss);
        points.push({ lr, loss: smooth.value });
        if (stop) break;
      } finally {
        disposeStep(t);
        tf.dispose([x, y]);
      }
    }
  } finally {
    putBack(held);
    for (const g of temp) g.optimizer.dispose();
    restoreRandomState(random);
  }
  return { points, suggestion: suggestLr(points, s.rule) };
}
