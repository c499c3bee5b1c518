// The fused Adam/AdamW kernel (freezeflow's SIMD module on wasm) against tfjs' own AdamOptimizer ops:
// the same float32 arithmetic in the same order, so the same bits, step after step, with the lr and the
// decoupled decay changing; one kernel per variable; nothing leaked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';
import { initBackend } from '../src/backend/index.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan, type StagePlan } from '../src/schedule/plan.js';
import { applyStep, newGroup, type GroupOptimizer } from '../src/train/optim.js';
import { ADAM_UPDATE } from '../src/backend/kernels/index.js';

await initBackend('wasm', { threads: 1 });

// sizes that end in a partial SIMD vector (15, 7) and a conv kernel
const SHAPES = [[3, 5], [7], [3, 3, 4, 2]];

function stageOf(optimizer: string, extra: string): StagePlan {
  const yaml = `model: { source: x }\ndata: { source: y }\nstages:\n  - { name: s, epochs: 1, optimizer: ${optimizer}, lr: 0.01${extra} }\n`;
  return buildPlan(parseSchedule(yaml).schedule, 't').stages[0]!;
}

function values(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3 + seed) * (1 + (i % 5)));
}

let runs = 0;

/** Five steps with an lr that changes every step; the variables and the optimizer's slots after them. */
async function train(stage: StagePlan, fused: boolean): Promise<{ weights: Float32Array[]; slots: Float32Array[] }> {
  if (!fused) process.env['FREEZEFLOW_SIMD'] = '0';
  try {
    const vars = SHAPES.map((s, k) => tf.variable(tf.tensor(values(s, k), s), true, `fa${runs}_${k}`));
    runs++;
    const group: GroupOptimizer = newGroup(stage.optimizer, { id: 'stage', baseLr: stage.lr, vars });
    const before = tf.memory().numTensors;
    for (let step = 0; step < 5; step++) {
      group.setLr(stage.lr * (1 - step * 0.15));
      const grads = tf.tidy(() =>
        Object.fromEntries(vars.map((v, k) => [v.name, tf.tensor(values(v.shape, 10 * step + k + 0.5), v.shape)])),
      );
      applyStep([group], grads, stage);
      tf.dispose(Object.values(grads));
      // the slots exist after the first step; from then on every step leaves the count where it was
      if (step === 0) assert.equal(tf.memory().numTensors, before + 2 * vars.length);
      else assert.equal(tf.memory().numTensors, before + 2 * vars.length, `step ${step}: tensors leaked`);
    }
    const weights = vars.map((v) => v.dataSync() as Float32Array);
    const slots = (await group.optimizer.getWeights()).map((w) => w.tensor.dataSync() as Float32Array);
    group.optimizer.dispose();
    tf.dispose(vars);
    return { weights, slots };
  } finally {
    delete process.env['FREEZEFLOW_SIMD'];
  }
}

for (const [label, optimizer, extra] of [
  ['adam', 'adam', ''],
  ['adam with L2 decay', 'adam', ', weightDecay: 0.05'],
  ['adamw (decoupled decay)', 'adamw', ', weightDecay: 0.05'],
  ['adam with other betas and epsilon', '{ type: adam, beta1: 0.8, beta2: 0.95, epsilon: 1.0e-4 }', ''],
] as const) {
  test(`fused ${label} on wasm is bit-identical to tfjs' AdamOptimizer`, async () => {
    const stage = stageOf(optimizer, extra);
    const ref = await train(stage, false);
    const got = await train(stage, true);
    got.weights.forEach((w, k) => assert.deepEqual(w, ref.weights[k], `variable ${k}`));
    // iterations, then every m, then every v: tfjs' order, so checkpoints read the same either way
    assert.equal(got.slots.length, 1 + 2 * SHAPES.length);
    got.slots.forEach((s, k) => assert.deepEqual(s, ref.slots[k], `slot ${k}`));
  });
}

test('fused Adam runs one kernel per variable (tfjs: ~12), and none where the backend lacks it', async () => {
  const stage = stageOf('adamw', ', weightDecay: 0.05');
  const vars = SHAPES.map((s, k) => tf.variable(tf.tensor(values(s, k), s), true, `fk_${k}`));
  const group = newGroup(stage.optimizer, { id: 'stage', baseLr: stage.lr, vars });
  const grads = Object.fromEntries(vars.map((v, k) => [v.name, tf.tensor(values(v.shape, k + 3), v.shape)]));
  const count = async () => {
    const p = await tf.profile(() => applyStep([group], grads, stage));
    return p.kernels.filter((k) => k.name === ADAM_UPDATE).length;
  };
  assert.equal(await count(), SHAPES.length);
  process.env['FREEZEFLOW_SIMD'] = '0';
  try {
    assert.equal(await count(), 0);
  } finally {
    delete process.env['FREEZEFLOW_SIMD'];
  }
  group.optimizer.dispose();
  tf.dispose([...vars, ...Object.values(grads)]);
});
