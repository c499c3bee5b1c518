// Optimizers per lr group, with decoupled (AdamW) or L2 weight decay, which tfjs optimizers lack.
import * as tf from '@tensorflow/tfjs';
import type { StagePlan } from '../schedule/plan.js';

export interface GroupOptimizer {
  lr: number; // base lr of the group (before the scheduler factor)
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  setLr(lr: number): void;
  currentLr: number;
}

function makeOptimizer(stage: StagePlan, lr: number): tf.Optimizer {
  const o = stage.optimizer;
  switch (o.type) {
    case 'sgd':
      return o.momentum > 0 ? tf.train.momentum(lr, o.momentum, o.nesterov) : tf.train.sgd(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr, o.rho, o.momentum, o.epsilon);
    case 'adam':
    case 'adamw':
      return tf.train.adam(lr, o.beta1, o.beta2, o.epsilon);
  }
}

function setOptimizerLr(opt: tf.Optimizer, lr: number): void {
  // SGD and Momentum cache the lr as a tensor and need setLearningRate; Adam and RMSProp read the field.
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** One optimizer per distinct lr: tfjs optimizers take a single lr. Variables keep model order. */
export function buildGroups(stage: StagePlan, varsByLr: Map<number, tf.Variable[]>): GroupOptimizer[] {
  return [...varsByLr.entries()].map(([lr, vars]) => {
    const optimizer = makeOptimizer(stage, lr);
    const g: GroupOptimizer = {
      lr,
      vars,
      optimizer,
      currentLr: lr,
      setLr(v: number) {
        if (v !== g.currentLr) setOptimizerLr(optimizer, v);
        g.currentLr = v;
      },
    };
    return g;
  });
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
      named[v.name] = wd > 0 && stage.weightDecayMode === 'l2' && isDecayed(v) ? tf.add(grad, tf.mul(v, wd)) : grad;
    }
    if (wd > 0 && stage.weightDecayMode === 'decoupled') {
      tf.tidy(() => {
        for (const v of g.vars) if (isDecayed(v) && named[v.name]) v.assign(tf.mul(v, 1 - g.currentLr * wd));
      });
    }
    g.optimizer.applyGradients(named);
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
