// The GPU-shaped step (deferred readback: apply, then select back on the device) against the per-step
// read of CPU backends. Runs on wasm, so it runs everywhere; the webgpu tests run the same code on Dawn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';
import { initBackend } from '../src/backend/index.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan } from '../src/schedule/plan.js';
import { attachHead, cutModel } from '../src/model/surgery.js';
import { loadModel } from '../src/model/io.js';
import { listLayers } from '../src/model/layers.js';
import { loadBuiltinDataset } from '../src/data/mnist.js';
import { memorySource, split } from '../src/data/dataset.js';
import { NonFiniteLossError } from '../src/train/runner.js';
import type { Readback } from '../src/train/step.js';
import { eventsOf, runAndCollect } from './helpers.js';

await initBackend('wasm', { threads: 1 });

const ds = split(loadBuiltinDataset('mnist-5-9'), 0.5, 3, 48);
const val = { ...ds.val, x: ds.val.x.subarray(0, 32 * 784), y: ds.val.y.subarray(0, 32) };

async function model(): Promise<tf.LayersModel> {
  const m = attachHead(
    cutModel(await loadModel('builtin:resnet-mini')),
    [{ dense: { units: 'auto', activation: 'softmax' } }],
    5,
  );
  // the same head on every run (tfjs's initialisers draw from a global stream)
  for (const l of listLayers(m).filter((e) => e.path.startsWith('head/')))
    l.layer.setWeights(l.layer.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.05, 'float32', 11 + i)));
  return m;
}

function plan(stages: string, training = '') {
  return buildPlan(
    parseSchedule(`model: { source: x }
data: { source: y, batchSize: 16, shuffle: true, seed: 5 }
training: { cacheFeatures: false${training} }
stages:
${stages}`).schedule,
    't',
  );
}

async function run(readback: Readback, stages: string, training = '') {
  const m = await model();
  let error: unknown;
  let events: { type: string }[] = [];
  try {
    events = (await runAndCollect(plan(stages, training), m, memorySource(ds.train), memorySource(val), { readback }))
      .events;
  } catch (err) {
    error = err;
  }
  const weights = await Promise.all(m.weights.map((w) => w.read().data()));
  m.dispose();
  return { events, error, weights };
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]));

test('deferred readback trains exactly like the per-step read: same epoch numbers, bit-identical weights', async () => {
  const stages = `  - { name: head, epochs: 1, lr: 0.003 }
  - { name: last, epochs: 2, unfreeze: ['layer3*'], optimizer: adamw, weightDecay: 0.01, lr: 0.001, scheduler: { type: cosine, stepPer: batch } }
`;
  const eager = await run('eager', stages, ', batchNorm: train');
  const deferred = await run('deferred', stages, ', batchNorm: train');
  assert.equal(eager.error, undefined);
  assert.equal(deferred.error, undefined);
  const ends = (r: typeof eager) => eventsOf(r.events, 'epoch-end');
  assert.equal(ends(eager).length, 3);
  assert.deepEqual(
    ends(deferred).map((e) => e.loss),
    ends(eager).map((e) => e.loss),
  );
  eager.weights.forEach((w, i) => assert.ok(sameBits(w, deferred.weights[i]!), `weight ${i} differs`));
});

test('a non-finite step is never applied: eager skips it, deferred selects it back; both stop with the last good weights', async () => {
  // lr 1e30: the first step is finite and throws the weights far out, the next one is not
  const stages = `  - { name: head, epochs: 1, lr: 0.003 }
  - { name: boom, epochs: 2, unfreeze: ['layer3*'], optimizer: sgd, lr: 1.0e+30 }
`;
  const eager = await run('eager', stages, ', batchNorm: train');
  const deferred = await run('deferred', stages, ', batchNorm: train');
  for (const r of [eager, deferred]) {
    assert.ok(r.error instanceof NonFiniteLossError, String(r.error));
    assert.match((r.error as Error).message, /in stage 'boom', epoch 2, batch 2;/);
    assert.equal((r.error as NonFiniteLossError).state.epoch, 1, 'the state of the last good epoch');
    for (const w of r.weights) assert.ok(Array.prototype.every.call(w, Number.isFinite), 'finite weights');
  }
  // the deferred run kept stepping (masked) until it read the flag; its weights still match
  eager.weights.forEach((w, i) => assert.ok(sameBits(w, deferred.weights[i]!), `weight ${i} differs`));
});
