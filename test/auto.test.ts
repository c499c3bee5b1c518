// stages: auto — the budget split and the ranking rule (pure), the block finder on the builtin, the Teachable
// Machine and an imported model, the gradient probe against a hand-derived reference (and that it leaves no
// trace), and the whole run: chosen-schedule.yaml re-trains to the same weights bit for bit, and a run
// killed after the probe resumes to them too. Bad input is one line and exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as tf from '../src/tf.js';
import {
  AUTO_MIN_EPOCHS,
  autoBlocks,
  autoBudgets,
  autoSettings,
  blockPatterns,
  FLAT_RATIO,
  rankBlocks,
} from '../src/schedule/auto.js';
import { compilePattern } from '../src/schedule/patterns.js';
import { listLayers } from '../src/model/layers.js';
import { loadModel } from '../src/model/io.js';
import { decodeModel } from '../src/model/onnx/graph.js';
import { convertModel } from '../src/model/onnx/convert.js';
import { blockGradients } from '../src/train/auto.js';
import { ModeController } from '../src/train/mode.js';
import { randomState, seedStream } from '../src/core/random.js';
import type { LayerInfo } from '../src/schedule/plan.js';
import { onnxModel, tensor } from './onnx-builder.js';
import { cli, eventsOf, ndjson, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

test('auto budget: the probe a fifth, every unfreezing stage ≥ 3 epochs, the whole budget used, no more stages than blocks or maxDepth', () => {
  for (let epochs = AUTO_MIN_EPOCHS; epochs <= 60; epochs++)
    for (const blocks of [1, 2, 4, 19])
      for (const maxDepth of [undefined, 1, 3]) {
        const s = { ...autoSettings({}), epochs, ...(maxDepth ? { maxDepth } : {}) };
        const b = autoBudgets(s, blocks);
        const what = `epochs ${epochs}, blocks ${blocks}, maxDepth ${maxDepth}`;
        assert.equal(b.probe + b.stages.reduce((a, x) => a + x, 0), epochs, what);
        assert.ok(b.probe >= 1 && b.stages.length >= 1, what);
        assert.ok(b.stages.length <= Math.min(blocks, maxDepth ?? Infinity), what);
        if (b.stages.length > 1) assert.ok(Math.min(...b.stages) >= 3, what);
        assert.ok(Math.max(...b.stages) - Math.min(...b.stages) <= 1, what);
      }
  assert.deepEqual(autoBudgets(autoSettings({}), 4), { probe: 4, stages: [4, 4, 4, 4] });
});

test('auto ranking: largest first by the measure asked for; flat or unusable values fall back to top-down and say why', () => {
  const blocks = [
    { name: 'stem', gain: 1, rgn: 0.3 },
    { name: 'layer1', gain: 4, rgn: 0.1 },
    { name: 'layer2', gain: 2, rgn: 0.5 },
    { name: 'layer3', gain: 9, rgn: 0.1 },
  ];
  const byRgn = rankBlocks(blocks, 'rgn');
  assert.deepEqual(byRgn.order, ['layer2', 'stem', 'layer3', 'layer1']); // ties keep top-down order
  assert.equal(byRgn.flat, false);
  assert.match(byRgn.reason, /by ‖g‖\/‖w‖, largest first/);
  assert.deepEqual(rankBlocks(blocks).order, ['layer3', 'layer1', 'layer2', 'stem']); // gain is the default
  assert.deepEqual(rankBlocks(blocks, 'top-down').order, ['layer3', 'layer2', 'layer1', 'stem']);
  const flat = rankBlocks(
    [
      { name: 'a', gain: 1, rgn: 1 },
      { name: 'b', gain: FLAT_RATIO * 0.99, rgn: 1 },
      { name: 'c', gain: 1.1, rgn: 1 },
    ],
    'gain',
  );
  assert.deepEqual(flat.order, ['c', 'b', 'a']);
  assert.ok(flat.flat && /top-down/.test(flat.reason), flat.reason);
  const nan = rankBlocks([
    { name: 'a', gain: 2, rgn: 2 },
    { name: 'b', gain: NaN, rgn: 1 },
  ]);
  assert.deepEqual(nan.order, ['b', 'a']);
  assert.match(nan.reason, /no usable gradient/);
});

/** Each block's patterns match exactly its layers with weights, and no other layer with weights. */
function assertExact(layers: readonly LayerInfo[]): string[] {
  const { blocks } = autoBlocks(layers);
  const weighted = layers.filter((l) => l.trainableParams + l.nonTrainableParams > 0);
  for (const b of blocks) {
    const ps = blockPatterns(b, layers).map(compilePattern);
    const hits = weighted.filter((l) => ps.some((p) => p.test(l.path))).map((l) => l.path);
    assert.deepEqual(
      hits,
      weighted.filter((l) => b.layers.includes(l.path)).map((l) => l.path),
      b.name,
    );
  }
  return blocks.map((b) => b.name);
}

const body = (m: tf.LayersModel) => listLayers(m).filter((l) => !l.isContainer);

test('auto blocks: the builtin, the Teachable Machine model and an imported PyTorch-named net, each pattern exact', async () => {
  const builtin = await loadModel(join(ROOT, 'models/resnet-mini/model.json'));
  const layers = body(builtin).filter((l) => l.path !== 'fc'); // cutAt's default: the old head goes
  assert.deepEqual(assertExact(layers), ['stem', 'layer1', 'layer2', 'layer3']);
  assert.deepEqual(blockPatterns(autoBlocks(layers).blocks[3]!, layers), ['layer3_*']);

  const tm = join(ROOT, '../shared/models/tm-nail-biting/model.json');
  if (existsSync(tm)) {
    const names = assertExact(body(await loadModel(tm)));
    assert.ok(names.filter((n) => /block_\d+$/.test(n)).length === 16, names.join(' '));
  }

  // torch.onnx names: /layer1/layer1.0/conv1/Conv → 'layer1.0.conv1'
  const conv = (scope: string, input: string, output: string, cin: number, cout: number) => ({
    op: 'Conv',
    inputs: [input, `${scope}.weight`],
    outputs: [output],
    name: `/${scope.split('.')[0]}/${scope.split('.').slice(0, 2).join('.')}/${scope.split('.').pop()}/Conv`,
    attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    init: tensor(
      `${scope}.weight`,
      [cout, cin, 3, 3],
      Array.from({ length: cout * cin * 9 }, (_, i) => Math.sin(i)),
    ),
  });
  const convs = [
    { ...conv('conv1', 'x', 'a', 3, 4), name: '/conv1/Conv' },
    conv('layer1.0.conv1', 'a', 'b', 4, 4),
    conv('layer1.0.conv2', 'b', 'c', 4, 4),
    conv('layer2.0.conv1', 'c', 'd', 4, 4),
    conv('layer2.0.conv2', 'd', 'e', 4, 4),
  ];
  const bytes = onnxModel({
    nodes: [
      ...convs.map(({ init: _, ...n }) => n),
      { op: 'GlobalAveragePool', inputs: ['e'], outputs: ['g'], name: '/avgpool/GlobalAveragePool' },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'], name: '/Flatten', attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['f', 'fc.weight'], outputs: ['y'], name: '/fc/Gemm', attrs: { transB: 1 } },
    ],
    initializers: [...convs.map((c) => c.init), tensor('fc.weight', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8])],
    input: ['x', [1, 3, 8, 8]],
    output: ['y', [1, 2]],
  });
  const imported = body(convertModel(decodeModel(bytes)).model).filter((l) => l.path !== 'fc');
  assert.deepEqual(assertExact(imported), ['conv1', 'layer1', 'layer2']);
  assert.deepEqual(blockPatterns(autoBlocks(imported).blocks[1]!, imported), ['layer1.*']);

  // names that give no blocks: each layer with weights stands in, and the run says so
  const plain = tf.sequential({
    layers: [
      tf.layers.dense({ units: 3, inputShape: [2], name: 'dense_a' }),
      tf.layers.dense({ units: 3, name: 'dense_b' }),
    ],
  });
  const fallback = autoBlocks(body(plain));
  assert.deepEqual(
    fallback.blocks.map((b) => b.name),
    ['dense_a', 'dense_b'],
  );
  assert.match(fallback.byLayers ?? '', /gives? one block: each of the 2 layers with weights is a block/);
});

/** Softmax cross-entropy of a 2-layer MLP by hand: the reference gradients the probe must find. */
function mlpGradients(x: number[][], y: number[], w1: number[][], b1: number[], w2: number[][], b2: number[]) {
  const B = x.length;
  const g = {
    w1: w1.map((r) => r.map(() => 0)),
    b1: b1.map(() => 0),
    w2: w2.map((r) => r.map(() => 0)),
    b2: b2.map(() => 0),
  };
  x.forEach((xi, n) => {
    const z1 = b1.map((b, j) => b + xi.reduce((a, v, i) => a + v * w1[i]![j]!, 0));
    const h = z1.map((v) => Math.max(0, v));
    const z2 = b2.map((b, k) => b + h.reduce((a, v, j) => a + v * w2[j]![k]!, 0));
    const m = Math.max(...z2);
    const e = z2.map((v) => Math.exp(v - m));
    const p = e.map((v) => v / e.reduce((a, q) => a + q, 0));
    const d2 = p.map((v, k) => (v - (y[n] === k ? 1 : 0)) / B);
    d2.forEach((d, k) => ((g.b2[k]! += d), h.forEach((hv, j) => (g.w2[j]![k]! += hv * d))));
    const d1 = h.map((hv, j) => (hv > 0 ? d2.reduce((a, d, k) => a + d * w2[j]![k]!, 0) : 0));
    d1.forEach((d, j) => ((g.b1[j]! += d), xi.forEach((xv, i) => (g.w1[i]![j]! += xv * d))));
  });
  return g;
}

const norm = (...parts: number[][][]) => Math.sqrt(parts.flat(2).reduce((a, v) => a + v * v, 0));

test('gradient probe: each block’s ‖g‖₁ and ‖g‖/‖w‖ as derived by hand, and weights, trainable flags and random stream left as they were', async () => {
  await tf.setBackend('cpu');
  seedStream(5);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 3, inputShape: [4], activation: 'relu', name: 'b1_dense' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'b2_dense' }),
    ],
  });
  model.layers.forEach((l) => (l.trainable = false)); // frozen, as a pretrained body is
  const n = 12;
  const xs = Array.from({ length: n }, (_, i) => [0, 1, 2, 3].map((j) => Math.sin(i * 1.3 + j) * 2));
  const ys = Array.from({ length: n }, (_, i) => i % 2);
  const train = {
    classes: ['a', 'b'],
    shape: [4],
    labels: Int32Array.from(ys),
    batch: async (idx: readonly number[]) => Float32Array.from(idx.flatMap((i) => xs[i]!)),
  };
  const layers = listLayers(model);
  const before = model.getWeights().map((w) => Array.from(w.dataSync()));
  const flags = model.weights.map((w) => w.trainable);
  const random = randomState();
  const got = await blockGradients({
    model,
    mode: new ModeController(layers, 'frozen'),
    layers,
    blocks: [
      { name: 'b1', layers: ['b1_dense'], params: 15 },
      { name: 'b2', layers: ['b2_dense'], params: 8 },
    ],
    train,
    batchSize: 5,
    seed: 3,
  });
  assert.deepEqual(
    model.getWeights().map((w) => Array.from(w.dataSync())),
    before,
  );
  assert.deepEqual(
    model.weights.map((w) => w.trainable),
    flags,
  );
  assert.equal(randomState(), random);
  // the reference: the same batches (the probe's order is a permutation; sums of norms per batch)
  const [w1, b1, w2, b2] = before as [number[], number[], number[], number[]];
  const W1 = [0, 1, 2, 3].map((i) => w1.slice(i * 3, i * 3 + 3));
  const W2 = [0, 1, 2].map((j) => w2.slice(j * 2, j * 2 + 2));
  // every batch of 5 from a shuffled order; rebuild the same order as the probe does
  const { rng, shuffleInPlace } = await import('../src/core/random.js');
  const order = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    rng(3 * 1000 + 0x2f),
  );
  let [s0, s1, a0, a1] = [0, 0, 0, 0];
  const l1 = (...parts: number[][][]) => parts.flat(2).reduce((a, v) => a + Math.abs(v), 0);
  for (let s = 0; s < n; s += 5) {
    const idx = order.slice(s, s + 5);
    const g = mlpGradients(
      idx.map((i) => xs[i]!),
      idx.map((i) => ys[i]!),
      W1,
      b1,
      W2,
      b2,
    );
    s0 += norm(g.w1, [g.b1]);
    s1 += norm(g.w2, [g.b2]);
    a0 += l1(g.w1, [g.b1]);
    a1 += l1(g.w2, [g.b2]);
  }
  const want = [s0 / 3 / norm(W1, [b1]), s1 / 3 / norm(W2, [b2])];
  got.forEach((g, i) => assert.ok(Math.abs(g.rgn - want[i]!) <= 1e-5 * want[i]!, `${g.name}: ${g.rgn} vs ${want[i]}`));
  const gains = [a0 / 3, a1 / 3];
  got.forEach((g, i) =>
    assert.ok(Math.abs(g.gain - gains[i]!) <= 1e-5 * gains[i]!, `${g.name}: ${g.gain} vs ${gains[i]}`),
  );
});

// ---- the whole run ------------------------------------------------------------------------------------

const dir = tempDir('ff-auto-');
const AUTO = tinySchedule(64, '').replace('stages:\n', 'stages: auto\nauto: { epochs: 7 }\n');
const file = writeSchedule(dir, AUTO);
const train = (schedule: string, out: string, args: string[] = [], env: Record<string, string> = {}) =>
  cli(['train', '-s', schedule, '--out', join(dir, out), '--backend', 'wasm', '--threads', '1', ...args], { env });
const weightsOf = (run: string) => readFileSync(join(dir, run, 'model', 'weights.bin'));

test('stages: auto — probe, ranked stages, chosen-schedule.yaml that re-trains to the same weights bit for bit', () => {
  const r = train(file, 'auto', ['--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = ndjson(r.stdout) as { type: string }[];
  const probe = eventsOf(events, 'auto-probe')[0];
  assert.ok(probe, 'the gradient probe ran');
  assert.deepEqual([...probe.order].sort(), ['layer1', 'layer2', 'layer3', 'stem']);
  assert.equal(probe.stages, 2); // 7 epochs: a probe of 1, two stages of 3
  const started = eventsOf(events, 'stage-start').map((e) => e.stage);
  assert.deepEqual(started.slice(0, 2), ['linear-probe', `unfreeze-${probe.order[0]}`]);
  const found = eventsOf(events, 'lr-find').map((e) => e.lr);
  assert.equal(found.length, started.length);

  assert.match(readFileSync(join(dir, 'auto', 'config.yaml'), 'utf8'), /^stages: auto$/m);
  assert.match(readFileSync(join(dir, 'auto', 'report.html'), 'utf8'), /stages: auto — what it chose and why/);
  const chosenFile = join(dir, 'auto', 'chosen-schedule.yaml');
  const chosenText = readFileSync(chosenFile, 'utf8');
  assert.match(chosenText, /# Gradient probe \(2 batches\)/);
  const chosen = parse(chosenText) as { stages: { name: string; lr: unknown; advance?: unknown; epochs: number[] }[] };
  assert.deepEqual(
    chosen.stages.map((s) => s.name),
    started,
  );
  assert.deepEqual(
    chosen.stages.map((s) => s.lr),
    found,
  );
  assert.ok(chosen.stages.every((s) => s.advance === undefined));

  const again = train(chosenFile, 'again', ['--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(weightsOf('again').equals(weightsOf('auto')), 'the chosen schedule trains to the same weights');
});

test('stages: auto — killed after the probe, a resume ends with the same weights', () => {
  for (const at of ['batch:3', 'batch:6']) {
    const out = `killed-${at.replace(':', '')}`;
    assert.equal(train(file, out, ['--quiet'], { FREEZEFLOW_FAULT: at }).code, null, at);
    const resumed = cli(['train', '--resume', join(dir, out), '--quiet']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(weightsOf(out).equals(weightsOf('auto')), `killed at ${at}`);
  }
});

test('stages: auto — bad input is one line with its position and exit 2', () => {
  const cases: [string, RegExp][] = [
    [AUTO.replace('stages: auto', 'stages:\n  - { name: a, epochs: 2 }'), /auto: sets up stages: auto.*remove auto:/],
    [AUTO.replace('epochs: 7', 'epochs: 2'), /auto\.epochs is 2, too few .* at least 3/],
    [`${AUTO}output: { checkpoints: { best: false } }\n`, /needs checkpoints\/best: remove best: false/],
  ];
  cases.forEach(([text, message], i) => {
    const r = cli(['validate', writeSchedule(dir, text, `bad-${i}.yaml`)]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /bad-\d\.yaml:\d+:\d+: /);
    assert.match(lines[0]!, message);
  });
  const both = cli(['init', '--auto', '--strategy', 'progressive', '-o', '-']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--auto and --strategy progressive contradict/);
  const init = cli(['init', '--auto', '-o', join(dir, 'init-auto.yaml')]);
  assert.equal(init.code, 0, init.stderr);
  const ok = cli(['validate', join(dir, 'init-auto.yaml')]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /stages: auto \(a linear probe and up to 5 unfreezing stages\), 20 epochs/);
});
