// Adapters and variable selectors in a schedule: what plan counts, what a bad entry says, and real runs —
// base kernels and frozen statistics bit-identical after training, the saved model plain layers equal to
// base + (alpha/rank)·A·B, the adapters alone beside it, and a kill inside or before an adapter stage
// resuming to the same weights as the run that was never interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../src/tf.js';
import { loadModel } from '../src/model/io.js';
import { listLayers } from '../src/model/layers.js';
import { buildPlan, resolvePlan, type LayerInfo } from '../src/schedule/plan.js';
import type { Schedule } from '../src/schedule/schema.js';
import { readAdapters } from '../src/model/adapter-files.js';
import { cli, tempDir, tinySchedule, writeSchedule } from './helpers.js';

const dir = tempDir('ff-adapters-');

const LORA_STAGES = `  - { name: head, epochs: 1, lr: 3.0e-3 }
  - name: adapt
    epochs: 2
    adapters:
      - { type: lora, layers: ['layer3_0_conv*'], rank: 4, alpha: 8 }
      - { type: lora, layers: ['layer2_0_downsample_conv'], rank: 2 }
    train: { norms: true, biases: true }
    lr: 3.0e-3
`;
const file = writeSchedule(dir, tinySchedule(64, LORA_STAGES).replace('batchSize: 32', 'batchSize: 16'));
const train = (out: string, args: string[] = [], env: Record<string, string> = {}) =>
  cli(['train', '-s', file, '--out', join(dir, out), '--quiet', '--backend', 'wasm', '--threads', '1', ...args], {
    env,
  });

/** Kernel shapes of resnet-mini's layers, read from the model itself. */
async function builtin(): Promise<tf.LayersModel> {
  return loadModel('builtin:resnet-mini');
}

const loraCount = (kernel: number[], rank: number) =>
  kernel.slice(0, -1).reduce((a, b) => a * b, 1) * rank + rank * kernel[kernel.length - 1]!;

test('plan --json counts exactly what trains: adapter parameters, picked variables, the head', async () => {
  const r = cli(['plan', '-s', file, '--model', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as { stages: { trainableParams: number }[] };
  const m = await builtin();
  const kernel = (name: string) => m.getLayer(name).getWeights()[0]!.shape;
  const adapters =
    loraCount(kernel('layer3_0_conv1'), 4) +
    loraCount(kernel('layer3_0_conv2'), 4) +
    loraCount(kernel('layer2_0_downsample_conv'), 2);
  // γ and β of every BatchNorm (their moving statistics never train)
  const norms = m.layers
    .filter((l) => l.getClassName() === 'BatchNormalization')
    .reduce((n, l) => n + 2 * l.getWeights()[0]!.size, 0);
  const head = 64 * 5 + 5;
  assert.equal(plan.stages[0]!.trainableParams, head);
  assert.equal(plan.stages[1]!.trainableParams, head + adapters + norms);
  const text = cli(['plan', '-s', file, '--model']).stdout;
  assert.match(text, /adapters +3 LoRA/);
});

/** LayerInfo as listLayers gives it, for the pure resolver. */
function layer(path: string, className: string, weights: [string, number[]][], isHead = false): LayerInfo {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return {
    path,
    className,
    trainableParams: weights.filter(([n]) => !n.startsWith('moving')).reduce((k, [, s]) => k + size(s), 0),
    nonTrainableParams: 0,
    isBatchNorm: className === 'BatchNormalization',
    isHead,
    weights: weights.map(([name, shape]) => ({ name, shape, trainable: !name.startsWith('moving') })),
  };
}

const LAYERS = [
  layer('conv', 'Conv2D', [
    ['kernel', [3, 3, 8, 16]],
    ['bias', [16]],
  ]),
  layer('bn', 'BatchNormalization', [
    ['gamma', [16]],
    ['beta', [16]],
    ['moving_mean', [16]],
    ['moving_variance', [16]],
  ]),
  layer('dw', 'DepthwiseConv2D', [
    ['depthwise_kernel', [3, 3, 16, 1]],
    ['bias', [16]],
  ]),
  layer('fc', 'Dense', [
    ['kernel', [16, 32]],
    ['bias', [32]],
  ]),
  layer(
    'head/dense',
    'Dense',
    [
      ['kernel', [32, 4]],
      ['bias', [4]],
    ],
    true,
  ),
];

function resolve(stages: Schedule['stages']) {
  const schedule = { model: { source: 'x' }, data: { source: 'y' }, stages } as Schedule;
  return resolvePlan(buildPlan(schedule, 't'), LAYERS);
}

test('train.biases picks every bias of a frozen layer (BitFit), carries over, and a later stage can switch it off', () => {
  const [s0, s1, s2] = resolve([
    { name: 'a', epochs: 1, train: { biases: true } },
    { name: 'b', epochs: 1, unfreeze: ['fc'] },
    { name: 'c', epochs: 1, train: { biases: false } },
  ]);
  assert.deepEqual([...s0!.variables.keys()], ['conv', 'dw', 'fc']);
  assert.equal(s0!.trainableParams, 16 + 16 + 32 + (32 * 4 + 4));
  // fc is trained whole from stage b on: its bias is no longer a picked variable
  assert.deepEqual([...s1!.variables.keys()], ['conv', 'dw']);
  assert.equal(s1!.trainableParams, 16 + 16 + (16 * 32 + 32) + (32 * 4 + 4));
  assert.equal(s2!.variables.size, 0);
});

test('train.norms picks γ and β, never the moving statistics; adapters count rank·(fan-in + out)', () => {
  const [s0, s1] = resolve([
    { name: 'a', epochs: 1, train: { norms: true }, adapters: [{ type: 'lora', layers: ['conv', 'fc'], rank: 2 }] },
    { name: 'b', epochs: 1, freeze: ['fc'] },
  ]);
  assert.deepEqual(
    s0!.variables.get('bn')!.map((w) => w.name),
    ['gamma', 'beta'],
  );
  const lora = 2 * (3 * 3 * 8 + 16) + 2 * (16 + 32);
  assert.equal(s0!.trainableParams, 32 + lora + (32 * 4 + 4));
  assert.deepEqual(
    s0!.adapters.map((a) => [a.path, a.alpha, a.trains]),
    [
      ['conv', 2, true],
      ['fc', 2, true],
    ],
  );
  // freezing an adapted layer freezes its adapter, which stays in the model
  assert.deepEqual(
    s1!.adapters.map((a) => [a.path, a.trains]),
    [
      ['conv', true],
      ['fc', false],
    ],
  );
  assert.equal(s1!.trainableParams, 32 + 2 * (3 * 3 * 8 + 16) + (32 * 4 + 4));
});

test('bad adapters: a depthwise conv (with the reason), rank too large, adapt and unfreeze at once, no match, twice', () => {
  const msg = (stages: Schedule['stages']) => {
    try {
      resolve(stages);
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  };
  assert.match(
    msg([{ name: 'a', epochs: 1, adapters: [{ type: 'lora', layers: ['dw'] }] }]),
    /'dw' is a DepthwiseConv2D: .*more parameters than the layer/,
  );
  assert.match(
    msg([{ name: 'a', epochs: 1, adapters: [{ type: 'lora', layers: ['fc'], rank: 17 }] }]),
    /rank 17 is larger than 'fc' allows \(16/,
  );
  assert.match(
    msg([{ name: 'a', epochs: 1, unfreeze: ['fc'], adapters: [{ type: 'lora', layers: ['fc'] }] }]),
    /'fc' also unfrozen in this stage/,
  );
  assert.match(msg([{ name: 'a', epochs: 1, adapters: [{ type: 'lora', layers: ['fcc'] }] }]), /matches no layer/);
  assert.match(
    msg([{ name: 'a', epochs: 1, adapters: [{ type: 'lora', layers: ['bn'] }] }]),
    /matches no Dense or Conv2D layer \(it matches 'bn' \(BatchNormalization\)\)/,
  );
  assert.match(
    msg([
      { name: 'a', epochs: 1, adapters: [{ type: 'lora', layers: ['fc'] }] },
      { name: 'b', epochs: 1, adapters: [{ type: 'lora', layers: ['f*'] }] },
    ]),
    /'fc' already has an adapter \(from stages\[0\]\)/,
  );
  // a glob over a block may cover its BatchNorm and activations: only what it names wrongly is an error
  assert.equal(
    msg([{ name: 'a', epochs: 1, adapters: [{ type: 'lora', layers: ['conv', 'bn'] }] }]).includes('conv'),
    false,
  );
});

test('a bad adapter in a file: one line with file:line:col, exit 2, nothing trained', () => {
  const bad = writeSchedule(
    dir,
    tinySchedule(
      64,
      `  - name: a
    epochs: 1
    adapters:
      - { type: lora, layers: ['layer3_0_conv1'], rank: 600 }
`,
    ),
    'bad.yaml',
  );
  const r = cli(['train', '-s', bad, '--out', join(dir, 'bad'), '--quiet', '--backend', 'wasm']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /bad\.yaml:\d+:\d+.*rank 600 is larger than 'layer3_0_conv1' allows \(64, the smaller side of its 3×3×32×64 kernel/,
  );
  assert.equal(r.stderr.includes('    at '), false, 'no stack trace');
  assert.equal(existsSync(join(dir, 'bad', 'model')), false);
});

const floats = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

test('a LoRA + norms run: base kernels and BN statistics bit-identical, model/ is W + s·A·B in plain layers', async () => {
  const r = train('whole', ['--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /frozen layer '[^']*' changed/, 'no frozen-layer warning');
  // resnet-mini's convs have no biases: BitFit there is train.norms, and the run says so
  assert.match(r.stdout, /train\.biases picks nothing/);
  const base = await builtin();
  const saved = readAdapters(join(dir, 'whole/checkpoints/last'))!;
  assert.deepEqual(
    saved.adapters.map((a) => a.path),
    ['layer3_0_conv1', 'layer3_0_conv2', 'layer2_0_downsample_conv'],
  );
  const final = await loadModel(join(dir, 'whole/model/model.json'));
  for (const a of saved.adapters) {
    const t = saved.tensors.get(a.path)!;
    const W = base.getLayer(a.path).getWeights()[0]!;
    assert.deepEqual(Array.from(await t.base!.data()), Array.from(await W.data()), `${a.path}: base kernel moved`);
    assert.ok(
      Array.from(await t.b.data()).some((v) => v !== 0),
      `${a.path}: B trained`,
    );
    const want = tf.add(
      W,
      tf.reshape(tf.mul(tf.matMul(tf.reshape(t.a, [-1, a.rank]), t.b), a.alpha / a.rank), W.shape),
    );
    const got = final.getLayer(a.path).getWeights()[0]!;
    const err = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]!;
    assert.ok(err < 1e-6, `${a.path}: merged kernel off by ${err}`);
    assert.equal(final.getLayer(a.path).getWeights().length, 1, 'a plain Conv2D: only its kernel');
  }
  // norm-only: γ and β moved, the moving statistics did not
  const bn = (m: tf.LayersModel) => m.getLayer('layer1_0_bn1').getWeights();
  const [g0, , mean0, var0] = bn(base);
  const [g1, , mean1, var1] = bn(final);
  assert.notDeepEqual(Array.from(await g1!.data()), Array.from(await g0!.data()));
  assert.deepEqual(Array.from(await mean1!.data()), Array.from(await mean0!.data()));
  assert.deepEqual(Array.from(await var1!.data()), Array.from(await var0!.data()));
  // a frozen conv without an adapter is untouched
  const k = (m: tf.LayersModel) => m.getLayer('layer2_0_conv1').getWeights()[0]!.dataSync();
  assert.deepEqual(Array.from(k(final)), Array.from(k(base)));
  // the adapters alone: A and B only
  const alone = readAdapters(join(dir, 'whole/adapters'))!;
  assert.equal(
    alone.adapters.every((a) => a.base === undefined),
    true,
  );
  const bytes = readFileSync(join(dir, 'whole/adapters/adapters.bin')).byteLength;
  assert.ok(bytes < readFileSync(join(dir, 'whole/model/weights.bin')).byteLength / 10, `${bytes} bytes`);
});

for (const [point, what] of [
  ['batch:7', 'inside the adapter stage'],
  ['stage-end:1', 'between the head stage and the adapter stage'],
] as const)
  test(`a kill ${what} (${point}) resumes to the uninterrupted run's weights, bit for bit`, () => {
    const out = point.replace(':', '-');
    assert.equal(train(out, [], { FREEZEFLOW_FAULT: point }).code, null, 'killed');
    const resumed = cli(['train', '--resume', join(dir, out), '--quiet']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const whole = floats(join(dir, 'whole/model/weights.bin'));
    assert.deepEqual(floats(join(dir, out, 'model/weights.bin')), whole);
    assert.deepEqual(floats(join(dir, out, 'adapters/adapters.bin')), floats(join(dir, 'whole/adapters/adapters.bin')));
  });

test('merge BASE ADAPTERS rebuilds the run’s model from the pretrained one and adapters/ alone', async () => {
  const out = join(dir, 'merged');
  const r = cli(['merge', 'builtin:resnet-mini', join(dir, 'whole'), '-o', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { out, adapters: 3, weights: 20 });
  // layer by layer (weights.bin lists trainable weights first, and the run's last stage set those flags)
  const [want, got] = await Promise.all([
    loadModel(join(dir, 'whole/model/model.json')),
    loadModel(join(out, 'model.json')),
  ]);
  const gotLayers = new Map(listLayers(got).map((l) => [l.path, l.layer]));
  let worst = 0;
  let compared = 0;
  for (const l of listLayers(want)) {
    const mine = gotLayers.get(l.path)!.getWeights();
    l.layer.getWeights().forEach((w, i) => {
      const d = tf.max(tf.abs(tf.sub(w, mine[i]!))).dataSync()[0]!;
      // the same arithmetic; the merge runs on cpu, the run on wasm: merged kernels may differ in the last bit
      if (!l.path.startsWith('layer3_0_conv') && l.path !== 'layer2_0_downsample_conv') assert.equal(d, 0, l.path);
      worst = Math.max(worst, d);
      compared++;
    });
  }
  assert.ok(worst <= 1e-6 && compared > 40, `largest difference ${worst} over ${compared} weights`);
  assert.deepEqual(
    readFileSync(join(out, 'labels.json'), 'utf8'),
    readFileSync(join(dir, 'whole/model/labels.json'), 'utf8'),
  );
  const again = cli(['merge', 'builtin:resnet-mini', join(dir, 'whole'), '-o', out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /is not empty/);
  const none = cli(['merge', 'builtin:resnet-mini', dir, '-o', join(dir, 'merged2')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no adapters\.json/);
  assert.equal(none.stderr.includes('    at '), false);
});

test('rollback: restore puts A, B and the base kernel back from a checkpoint; an adapter added after it goes to B = 0', async () => {
  const { AdapterSet } = await import('../src/train/adapters.js');
  const { writeDirAtomic } = await import('../src/core/files.js');
  const input = tf.input({ shape: [4] });
  const h = tf.layers.dense({ units: 3, name: 'a' }).apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, name: 'b' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const set = new AdapterSet(listLayers(model));
  const state = (path: string) => ({
    path,
    type: 'lora' as const,
    rank: 1,
    alpha: 1,
    dropout: 0,
    stage: 0,
    trains: true,
    params: 0,
  });
  set.sync([state('a')]);
  const ad = set.byPath.get('a')!;
  ad.b.assign(tf.ones(ad.b.shape));
  const kernel = () => Array.from(model.getLayer('a').getWeights()[0]!.dataSync());
  const [w0, a0, b0] = [kernel(), Array.from(ad.a.dataSync()), Array.from(ad.b.dataSync())];
  // a checkpoint: the merged model is written while W + ΔW is in the kernel, W comes back exactly after
  const ck = join(dir, 'rollback-ck');
  const files = await set.files(true);
  const merged = await set.withMerged(async () => kernel());
  assert.notDeepEqual(merged, w0);
  assert.deepEqual(kernel(), w0);
  writeDirAtomic(ck, {
    'adapters.json': JSON.stringify(files.files['adapters.json']),
    'adapters.bin': files.binary['adapters.bin']!,
  });
  // training moves on, a second adapter arrives; then the rollback loads the checkpoint's (merged) weights
  ad.a.assign(tf.zerosLike(ad.a));
  ad.b.assign(tf.zerosLike(ad.b));
  set.sync([state('a'), state('b')]);
  const late = set.byPath.get('b')!;
  late.b.assign(tf.ones(late.b.shape));
  model.getLayer('a').setWeights([tf.tensor(merged, [4, 3]), model.getLayer('a').getWeights()[1]!]);
  set.restore(readAdapters(ck));
  assert.deepEqual(kernel(), w0, 'the base kernel, not the merged one');
  assert.deepEqual(Array.from(ad.a.dataSync()), a0);
  assert.deepEqual(Array.from(ad.b.dataSync()), b0);
  assert.ok(
    late.b.dataSync().every((v) => v === 0),
    'an adapter the checkpoint did not have is a no-op again',
  );
});

test('schema checks of an adapter entry: alpha ≤ 0, rank 0, dropout 1, an unknown key — file:line:col, exit 2', () => {
  for (const [entry, want] of [
    ['{ type: lora, layers: [fc], alpha: 0 }', /alpha/],
    ['{ type: lora, layers: [fc], rank: 0 }', /rank/],
    ['{ type: lora, layers: [fc], dropout: 1 }', /dropout/],
    ['{ type: lora, layers: [fc], ranks: 4 }', /ranks/],
  ] as const) {
    const f = writeSchedule(dir, tinySchedule(64, `  - { name: a, epochs: 1, adapters: [${entry}] }\n`), 'schema.yaml');
    const r = cli(['validate', f]);
    assert.equal(r.code, 2, entry);
    assert.match(r.stderr + r.stdout, /schema\.yaml:\d+:\d+/, entry);
    assert.match(r.stderr + r.stdout, want, entry);
  }
});
