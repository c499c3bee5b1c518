// Convolutions whose input no trained variable reaches (a stem on the images, the first convs after a
// stage's frozen part) train without the input gradient tfjs' fused conv always computes: same outputs
// and weight gradients, fewer conv input gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';
import { initBackend } from '../src/backend/index.js';
import { constantInputConvs, unfuseInTraining } from '../src/train/first-conv.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan } from '../src/schedule/plan.js';
import { loadModel } from '../src/model/io.js';
import { attachHead, cutModel } from '../src/model/surgery.js';
import { memorySource } from '../src/data/dataset.js';
import { profileWasmKernels } from '../src/backend/kernel-profile.js';
import { eventsOf, runAndCollect } from './helpers.js';

await initBackend('wasm', { threads: 1 });

const conv = (name: string, filters: number, strides = 1, kernelSize = 3) =>
  tf.layers.conv2d({
    name,
    filters,
    kernelSize,
    strides,
    padding: 'same',
    useBias: true,
    kernelInitializer: 'glorotUniform',
  });

/** stem → a (frozen in the second stage) → b, with a strided 1×1 `down` beside a and b (a residual block). */
function model(): tf.LayersModel {
  const input = tf.input({ shape: [9, 9, 3] });
  const stem = tf.layers.reLU({ maxValue: 6 }).apply(conv('stem', 4, 2).apply(input)) as tf.SymbolicTensor;
  const main = conv('b', 5).apply(tf.layers.reLU().apply(conv('a', 5, 2).apply(stem))) as tf.SymbolicTensor;
  const down = conv('down', 5, 2, 1).apply(stem) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([main, down]) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'fc', units: 3 }).apply(tf.layers.flatten().apply(sum)) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const names = (s: Set<tf.layers.Layer>) => [...s].map((l) => l.name).sort();

test('the convs whose input no trained layer reaches, for each set of training layers', () => {
  const m = model();
  assert.deepEqual(names(constantInputConvs(m, new Set(['stem', 'a', 'b', 'down', 'fc']))), ['stem']);
  // stem frozen: a and the residual's 1×1 read its output; b reads a's
  assert.deepEqual(names(constantInputConvs(m, new Set(['a', 'b', 'down', 'fc']))), ['a', 'down', 'stem']);
  assert.deepEqual(names(constantInputConvs(m, new Set(['b', 'fc']))), ['a', 'b', 'down', 'stem']);
  // inside a nested model, its leaves go by their full paths: the whole of it trains
  const outer = tf.sequential({ layers: [m] });
  const all = constantInputConvs(outer, new Set(['stem', 'a', 'b', 'down', 'fc'].map((l) => `${m.name}/${l}`)));
  assert.deepEqual(names(all), ['stem']);
  assert.deepEqual(names(constantInputConvs(outer, new Set([`${m.name}/b`]))), ['a', 'b', 'down', 'stem']);
});

test('a conv on a frozen tensor trains as conv2d + bias: same loss and gradients, its input gradient skipped', async () => {
  const a = model();
  const b = model();
  b.setWeights(a.getWeights());
  // the stage trains b, down and fc: stem and a stay frozen
  for (const m of [a, b]) for (const n of ['stem', 'a']) m.getLayer(n).trainable = false;
  const convs = constantInputConvs(b, new Set(['b', 'down', 'fc']));
  assert.deepEqual(names(convs), ['a', 'b', 'down', 'stem']);
  for (const l of convs) unfuseInTraining(l, () => true);
  const x = tf.randomNormal([4, 9, 9, 3], 0, 1, 'float32', 1);
  const r = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
  const step = (m: tf.LayersModel) => {
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
    return [value, ...vars.map((v) => grads[v.name]!)].map((t) => Array.from(t.dataSync()));
  };
  const ref = step(a);
  const got = step(b);
  assert.equal(got.length, 7, 'loss and the kernels and biases of b, down and fc');
  got.forEach((g, k) =>
    g.forEach((v, i) => assert.ok(Math.abs(v - ref[k]![i]!) <= 1e-6 * (1 + Math.abs(ref[k]![i]!)), `tensor ${k}`)),
  );
  const inputGrads = async (m: tf.LayersModel) =>
    (await tf.profile(() => step(m))).kernels.filter((k) => k.name === 'Conv2DBackpropInput').length;
  // fused, every conv computes its input gradient (tfjs prunes none of them); unfused, none is needed
  assert.equal(await inputGrads(a), 2, 'b and down: fused, both compute theirs');
  assert.equal(await inputGrads(b), 0, 'nothing trained lies before b or down');
  tf.dispose([x, r]);
});

test("a stage's first convs after its frozen part skip their input gradients in a run (resnet-mini, last block cached)", async () => {
  const plan = buildPlan(
    parseSchedule(`model: { source: x }
data: { source: y, batchSize: 8, shuffle: false }
stages: [{ name: last, epochs: 1, unfreeze: ['layer3*'] }]
`).schedule,
    't',
  );
  const model = attachHead(cutModel(await loadModel('builtin:resnet-mini')), [{ dense: { units: 2 } }], 2);
  const n = 16;
  const x = Float32Array.from({ length: n * 28 * 28 }, (_, i) => Math.sin(i * 0.37));
  const data = { classes: ['a', 'b'], x, y: Int32Array.from({ length: n }, (_, i) => i % 2), shape: [28, 28, 1] };
  const prof = profileWasmKernels();
  try {
    const r = await runAndCollect(plan, model, memorySource(data), memorySource(data));
    assert.equal(eventsOf(r.events, 'feature-cache')[0]?.at, 'layer2_0_relu2', 'the frozen part is cached');
  } finally {
    prof.stop();
  }
  const calls = (name: string) =>
    [...prof.read()].filter(([k]) => k.startsWith(name)).reduce((s, [, t]) => s + t.calls, 0);
  // layer3 has three convs; conv1 and the downsample read the cached features: only conv2's input gradient
  assert.equal(calls('Conv2DBackpropFilter'), 3 * 2, 'every trained conv, both steps');
  assert.equal(calls('Conv2DBackpropInput'), 1 * 2, 'conv2 alone, both steps');
  model.dispose();
});
