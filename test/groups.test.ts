// Parameter groups through the runner: identity, keepOptimizerState, lrGroups and lrDecay at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend/index.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan, resolvePlan } from '../src/schedule/plan.js';
import { attachHead, cutModel } from '../src/model/surgery.js';
import { loadModel } from '../src/model/io.js';
import { listLayers } from '../src/model/layers.js';
import { loadBuiltinDataset } from '../src/data/mnist.js';
import { memorySource, split } from '../src/data/dataset.js';
import { eventsOf, runAndCollect } from './helpers.js';
import * as tf from '../src/tf.js';

await initBackend('wasm', { threads: 1 });

const ds = split(loadBuiltinDataset('mnist-5-9'), 0.5, 4, 32);
const val = { ...ds.val, x: ds.val.x.subarray(0, 16 * 784), y: ds.val.y.subarray(0, 16) };

async function run(stages: string) {
  const model = attachHead(
    cutModel(await loadModel('builtin:resnet-mini')),
    [{ dense: { units: 'auto', activation: 'softmax' } }],
    5,
  );
  const plan = buildPlan(
    parseSchedule(`model: { source: x }
data: { source: y, batchSize: 16, shuffle: false }
training: { cacheFeatures: false }
stages:
${stages}`).schedule,
    't',
  );
  const layers = listLayers(model);
  const weights = (path: string) =>
    layers
      .find((l) => l.path === path)!
      .layer.getWeights()
      .map((w) => Array.from(w.dataSync()));
  const before = { l3: weights('layer3_0_conv1'), l2: weights('layer2_0_conv1') };
  const r = await runAndCollect(plan, model, memorySource(ds.train), memorySource(val));
  const starts = eventsOf(r.events, 'stage-start');
  const warnings = r.events.filter((e) => e.type === 'warning' || e.type === 'gradient-report');
  const after = { l3: weights('layer3_0_conv1'), l2: weights('layer2_0_conv1') };
  model.dispose();
  return { starts, warnings, before, after };
}

test('keepOptimizerState: a group added at a new lr gets its own optimizer and trains', async () => {
  // regression: groups were keyed by lr and only old groups were compared, so the new group was dropped
  const r = await run(`  - { name: head, epochs: 1, lr: 0.001 }
  - name: more
    epochs: 1
    unfreeze: ['layer3*']
    keepOptimizerState: true
    lrGroups: [{ layers: ['layer3*'], lrMultiplier: 0.1 }]
`);
  assert.notDeepEqual(r.after.l3, r.before.l3, 'layer3 trained in stage 2');
  const groups = r.starts[1]!.groups;
  assert.deepEqual(
    groups.map((g) => [g.id, g.kept]),
    [
      ['lrGroups[0]', false],
      ['stage', true],
    ],
    'model order: layer3 before the head; the head keeps its Adam state',
  );
  assert.ok(Math.abs(groups[0]!.lr - 1e-4) < 1e-12);
});

test('keepOptimizerState keeps nothing across a change of optimizer type or config', async () => {
  const r = await run(`  - { name: head, epochs: 1, lr: 0.001, optimizer: adam }
  - { name: same, epochs: 1, lr: 0.0005, keepOptimizerState: true }
  - { name: other, epochs: 1, optimizer: { type: sgd, momentum: 0.9 }, keepOptimizerState: true }
`);
  const kept = r.starts.map((s) => s.groups.map((g) => g.kept));
  assert.deepEqual(kept, [[false], [true], [false]]);
});

test('lrDecay and lrGroups at run time: every group trains at its own lr, ids name their source', async () => {
  const r = await run(`  - name: decay
    epochs: 1
    unfreeze: ['layer2*', 'layer3*']
    lr: 0.001
    lrDecay: { factor: 0.5, blocks: ['layer2*', 'layer3*', 'head/*'] }
  - name: groups
    epochs: 1
    lr: 0.001
    lrGroups: [{ layers: ['layer2*'], lr: 1.0e-5 }, { layers: ['head/*'], lrMultiplier: 3 }]
`);
  const g = (i: number) => r.starts[i]!.groups.map((x) => [x.id, +x.lr.toPrecision(6)]);
  assert.deepEqual(g(0), [
    ['lrDecay.blocks[0]', 0.00025],
    ['lrDecay.blocks[1]', 0.0005],
    ['lrDecay.blocks[2]', 0.001],
  ]);
  assert.deepEqual(g(1), [
    ['lrGroups[0]', 0.00001],
    ['stage', 0.001],
    ['lrGroups[1]', 0.003],
  ]);
  assert.notDeepEqual(r.after.l2, r.before.l2);
  assert.notDeepEqual(r.after.l3, r.before.l3);
});

test('lrDecay without blocks decays over the model’s own blocks: head, layer3, layer2, layer1, stem', async () => {
  const model = attachHead(
    cutModel(await loadModel('builtin:resnet-mini')),
    [{ dense: { units: 'auto', activation: 'softmax' } }],
    5,
  );
  const plan = buildPlan(
    parseSchedule(`model: { source: x }
data: { source: y }
stages:
  - { name: all, epochs: 1, unfreeze: ['*'], lr: 0.01, lrDecay: { factor: 0.5 } }
`).schedule,
    't',
  );
  const lr = resolvePlan(plan, listLayers(model))[0]!.layerLr;
  const want: [string, number][] = [
    ['head/dense_1', 0.01],
    ['layer3_0_conv2', 0.005],
    ['layer3_0_bn2', 0.005],
    ['layer2_0_downsample_conv', 0.0025],
    ['layer1_0_conv1', 0.00125],
    ['stem_conv', 0.000625],
  ];
  for (const [path, v] of want) assert.equal(lr.get(path), v, path);
  // the same as the blocks written out
  const written = buildPlan(
    parseSchedule(`model: { source: x }
data: { source: y }
stages:
  - { name: all, epochs: 1, unfreeze: ['*'], lr: 0.01, lrDecay: { factor: 0.5, blocks: ['stem*', 'layer1*', 'layer2*', 'layer3*', 'head'] } }
`).schedule,
    't',
  );
  // over the layers with weights (a weightless layer's lr trains nothing: 'pool' joins layer3's block here)
  const weighted = (m: Map<string, number>) =>
    [...m].filter(([p]) => listLayers(model).find((l) => l.path === p)!.trainableParams > 0);
  assert.deepEqual(weighted(resolvePlan(written, listLayers(model))[0]!.layerLr), weighted(lr));
});

/** One SGD step on a two-layer net, by hand in float64: softmax cross-entropy, mean over the batch. */
function referenceStep(x: number[][], y: number[], w: number[][][], lrs: [number, number]): number[][][] {
  const [w1, b1, w2, b2] = w as [number[][], number[][], number[][], number[][]];
  const mul = (a: number[][], b: number[][]) =>
    a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
  const t = (a: number[][]) => a[0]!.map((_, j) => a.map((r) => r[j]!));
  const addBias = (a: number[][], b: number[]) => a.map((r) => r.map((v, j) => v + b[j]!));
  const h = addBias(mul(x, w1), b1[0]!);
  const z = addBias(mul(h, w2), b2[0]!);
  const dz = z.map((r, i) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v, j) => (v / s - (j === y[i] ? 1 : 0)) / x.length);
  });
  const dh = mul(dz, t(w2));
  const colSum = (a: number[][]) => [a[0]!.map((_, j) => a.reduce((s, r) => s + r[j]!, 0))];
  const step = (p: number[][], g: number[][], lr: number) => p.map((r, i) => r.map((v, j) => v - lr * g[i]![j]!));
  return [
    step(w1, mul(t(x), dh), lrs[0]),
    step(b1, colSum(dh), lrs[0]),
    step(w2, mul(t(h), dz), lrs[1]),
    step(b2, colSum(dz), lrs[1]),
  ];
}

test('each lr group steps at its own lr: weights after one SGD step equal a float64 reference per group', async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'body',
        inputShape: [4],
        units: 3,
        kernelInitializer: 'glorotNormal',
        biasInitializer: 'randomNormal',
      }),
      tf.layers.dense({ name: 'head', units: 2, activation: 'softmax', biasInitializer: 'randomNormal' }),
    ],
  });
  const n = 8;
  const xs = Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.7) * 2);
  const ys = Int32Array.from({ length: n }, (_, i) => (i * 5) % 2);
  const data = memorySource({ classes: ['a', 'b'], x: xs, y: ys, shape: [4] });
  const plan = buildPlan(
    parseSchedule(`model: { source: x }
data: { source: y, batchSize: ${n}, shuffle: false }
training: { cacheFeatures: false, telemetry: false }
stages:
  - name: s
    epochs: 1
    unfreeze: ['*']
    optimizer: sgd
    lr: 0.1
    weightDecay: 0
    lrGroups: [{ layers: ['body'], lr: 0.02 }, { layers: ['head'], lrMultiplier: 3 }]
`).schedule,
    't',
  );
  const read = () =>
    model.getWeights().map((v) => (v.shape.length === 1 ? [v.arraySync() as number[]] : (v.arraySync() as number[][])));
  const x = Array.from({ length: n }, (_, i) => Array.from(xs.subarray(i * 4, i * 4 + 4)));
  const want = referenceStep(x, Array.from(ys), read(), [0.02, 0.3]);
  const r = await runAndCollect(plan, model, data, data);
  assert.deepEqual(
    eventsOf(r.events, 'epoch-end')[0]!.groups.map((g) => [g.id, +g.lr.toPrecision(6)]),
    [
      ['lrGroups[0]', 0.02],
      ['lrGroups[1]', 0.3],
    ],
    'epoch-end names each group and its lr',
  );
  const got = read();
  got.forEach((p, k) =>
    p.forEach((row, i) =>
      row.forEach((v, j) => {
        const w = want[k]![i]![j]!;
        assert.ok(Math.abs(v - w) <= 1e-5 * Math.max(1, Math.abs(w)), `weight ${k}[${i}][${j}]: ${v} vs ${w}`);
      }),
    ),
  );
  model.dispose();
});
