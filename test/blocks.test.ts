// Blocks from layer names (fastai's layer groups for `unfreeze: { lastBlocks: N }`): the key of a name,
// the grouping on the real models, and lastBlocks resolving to what the equivalent patterns select.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { backboneBlocks, blockKey } from '../src/schedule/blocks.js';
import { parseSchedule, resolveLoaded } from '../src/schedule/load.js';
import { buildPlan, type LayerInfo } from '../src/schedule/plan.js';
import { ScheduleError } from '../src/core/issues.js';
import { describeFineTuneLayers } from '../src/train/describe.js';
import { cli, ROOT, tempDir, writeSchedule } from './helpers.js';

test('blockKey: the leading words up to the first numbered one, under the parent path', () => {
  const cases: [string, string][] = [
    ['block_12_expand_relu', 'block_12'],
    ['layer4_1_conv2', 'layer4'],
    ['layer4.1.conv2', 'layer4'],
    ['features.3.conv.0', 'features.3'],
    ['conv_pw_13_relu', 'conv_pw_13'],
    ['Conv_1_bn', 'Conv_1'],
    ['stem_conv', 'stem'],
    ['out_relu', 'out'],
    ['sequential_1/block_16_project', 'sequential_1/block_16'],
  ];
  for (const [name, key] of cases) assert.equal(blockKey(name), key, name);
});

const layer = (path: string, params = 1, isHead = false): LayerInfo => ({
  path,
  className: 'X',
  trainableParams: params,
  nonTrainableParams: 0,
  isBatchNorm: false,
  isHead,
});

test('backboneBlocks: a key that comes back pulls its neighbours in; weightless layers join the block before', () => {
  const blocks = backboneBlocks([
    layer('Conv1'),
    layer('bn_Conv1'),
    layer('Conv1_relu', 0),
    layer('block_1_expand'),
    layer('block_1_relu', 0),
    layer('pool', 0),
    layer('head/dense', 5, true),
  ]);
  assert.deepEqual(
    blocks.map((b) => [b.name, b.layers]),
    [
      ['Conv1', ['Conv1', 'bn_Conv1', 'Conv1_relu']],
      ['block_1', ['block_1_expand', 'block_1_relu', 'pool']],
    ],
  );
  assert.equal(blocks[0]!.params, 2);
});

const SCHEDULE = (unfreeze: string) => `model: { source: builtin:resnet-mini }
data: { source: builtin:mnist-5-9, samples: 64 }
stages:
  - { name: head, epochs: 1 }
  - { name: last, epochs: 1, unfreeze: ${unfreeze} }
`;

async function resolved(unfreeze: string) {
  const loaded = parseSchedule(SCHEDULE(unfreeze), join(ROOT, 'x.yaml'));
  const plan = buildPlan(loaded.schedule, loaded.name);
  const layers = await describeFineTuneLayers(plan, loaded.file);
  return { layers, stages: resolveLoaded(loaded, plan, layers) };
}

test('unfreeze: { lastBlocks: N } on resnet-mini selects what the equivalent patterns do', async () => {
  const { layers } = await resolved('{ lastBlocks: 1 }');
  assert.deepEqual(
    backboneBlocks(layers).map((b) => b.name),
    ['stem', 'layer1', 'layer2', 'layer3'],
  );
  for (const [n, patterns] of [
    [1, "['layer3*']"],
    [2, "['layer2*', 'layer3*']"],
    [4, "['stem*', 'layer*']"],
  ] as const) {
    const byBlocks = (await resolved(`{ lastBlocks: ${n} }`)).stages[1]!;
    const byPatterns = (await resolved(patterns)).stages[1]!;
    // the same layers with weights (a weightless layer after a block, 'pool', joins that block)
    const weighted = (set: Set<string>) =>
      [...set].filter((p) => layers.find((l) => l.path === p)!.trainableParams > 0).sort();
    assert.deepEqual(weighted(byBlocks.trainable), weighted(byPatterns.trainable), `lastBlocks ${n}`);
    assert.equal(byBlocks.trainableParams, byPatterns.trainableParams);
  }
  await assert.rejects(resolved('{ lastBlocks: 5 }'), (err: unknown) => {
    assert.ok(err instanceof ScheduleError);
    assert.match(
      err.message,
      /x\.yaml:5:\d+: stages\[1\] 'last': lastBlocks is 5 but the backbone has 4 blocks \(stem, layer1, layer2, layer3\)/,
    );
    return true;
  });
});

test('lastBlocks in the CLI: plan says it a line per block (--layers: every layer), --print-config keeps it, a bad value is one line', async () => {
  const dir = tempDir();
  const f = writeSchedule(dir, SCHEDULE('{ lastBlocks: 2 }'), 'blocks.yaml');
  const plan = cli(['plan', '-s', f, '--model']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /unfreeze {6}the backbone's last 2 blocks/);
  const stage2 = plan.stdout.split('Stage 2')[1]!;
  // a line per block, its count of layers with weights and its parameters, from the model's own layers
  const { layers } = await resolved('{ lastBlocks: 2 }');
  for (const name of ['layer2', 'layer3']) {
    const block = backboneBlocks(layers).find((b) => b.name === name)!;
    const weighted = layers.filter((l) => block.layers.includes(l.path) && l.trainableParams > 0);
    const params = weighted.reduce((n, l) => n + l.trainableParams, 0);
    const k = `${+(params / 1e3).toPrecision(3)}k`;
    assert.match(stage2, new RegExp(`● ${name}  ${weighted.length}/${weighted.length} layers, ${k} params, lr 1e-3`));
  }
  assert.match(stage2, /· frozen: 2 blocks \(stem, layer1\)/);
  assert.doesNotMatch(stage2, /layer2_0_conv1/, 'no per-layer lines by default');
  const all = cli(['plan', '-s', f, '--model', '--layers']).stdout.split('Stage 2')[1]!;
  assert.match(all, /● layer2_0_conv1/);
  assert.doesNotMatch(all, /layer1_0_conv1/);
  const printed = cli(['train', '-s', f, '--print-config']);
  assert.match(printed.stdout, /unfreeze:\s*\n?\s*lastBlocks: 2/);
  const bad = cli(['validate', writeSchedule(dir, SCHEDULE('{ lastBlock: 2 }'), 'bad.yaml')]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /bad\.yaml:5:\d+: stages\[1\]\.unfreeze/);
});

const TM = join(ROOT, '../shared/models/tm-nail-biting/model.json');

test(
  'the Teachable Machine MobileNetV2: its blocks are the network’s own (block_1 … block_16, Conv_1)',
  { skip: !existsSync(TM) && 'shared model not present' },
  async () => {
    const loaded = parseSchedule(
      `model: { source: ${TM} }\ndata: { source: builtin:mnist-5-9 }\nstages:\n  - { name: head, epochs: 1 }\n`,
      join(ROOT, 'x.yaml'),
    );
    const plan = buildPlan(loaded.schedule, loaded.name);
    const names = backboneBlocks(await describeFineTuneLayers(plan, loaded.file)).map((b) => b.name.split('/').at(-1));
    assert.ok(names.includes('block_16') && names.includes('Conv_1'), names.join(', '));
    assert.ok(names.indexOf('block_16') < names.indexOf('Conv_1'));
    for (let k = 1; k <= 16; k++) assert.equal(names.filter((n) => n === `block_${k}`).length, 1, `block_${k}`);
  },
);

test('inspect --depth 1: a 31-layer model as its blocks, each with the totals of its layers', () => {
  const shallow = cli(['inspect', 'builtin:resnet-mini', '--depth', '1']);
  assert.equal(shallow.code, 0, shallow.stderr);
  const rows = shallow.stdout.trim().split('\n').slice(1, -1);
  assert.deepEqual(
    rows.map((r) => r.trim().split(/\s+/)[r.startsWith(' ') ? 0 : 1]),
    ['stem', 'layer1', 'layer2', 'layer3', 'pool', 'fc'],
  );
  const json = JSON.parse(cli(['inspect', 'builtin:resnet-mini', '--json']).stdout) as {
    layers: { path: string; trainableParams: number; nonTrainableParams: number }[];
  };
  for (const name of ['stem', 'layer1', 'layer2', 'layer3']) {
    const own = json.layers.filter((l) => l.path.startsWith(`${name}_`));
    const sum = (f: (l: (typeof own)[number]) => number) => own.reduce((n, l) => n + f(l), 0).toLocaleString('en-US');
    const row = rows.find((r) => r.trim().startsWith(`${name} `))!;
    assert.match(
      row,
      new RegExp(`\\(block\\)\\s+${sum((l) => l.trainableParams)}\\s+${sum((l) => l.nonTrainableParams)}`),
    );
  }
  const full = cli(['inspect', 'builtin:resnet-mini']).stdout;
  assert.match(full, /^4 +layer1_0_conv1 /m, 'without --depth every layer is listed');
});

test('inspect --blocks: the blocks lastBlocks and lrDecay use, counted back from the last', () => {
  const json = cli(['inspect', 'builtin:resnet-mini', '--blocks', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const { blocks } = JSON.parse(json.stdout) as { blocks: { name: string; layers: string[]; params: number }[] };
  assert.deepEqual(
    blocks.map((b) => b.name),
    ['stem', 'layer1', 'layer2', 'layer3'],
  );
  assert.ok(blocks[3]!.layers.includes('layer3_0_conv1') && blocks[3]!.layers.includes('pool'));
  const text = cli(['inspect', 'builtin:resnet-mini', '--blocks']).stdout;
  assert.match(text, /^3 +1 +layer3 +\d+ +58,112$/m);
  assert.match(text, /4 blocks; 'unfreeze: \{ lastBlocks: N \}' trains the last N/);
  assert.match(text, /without its last layer 'fc'/);
  // with a schedule: the fine-tuning model's body (its new head apart), the same blocks
  const withSchedule = cli([
    'inspect',
    'builtin:resnet-mini',
    '--blocks',
    '--json',
    '-s',
    'schedules/progressive.yaml',
  ]);
  assert.deepEqual(JSON.parse(withSchedule.stdout), JSON.parse(json.stdout));
  if (existsSync(TM)) {
    const tm = JSON.parse(cli(['inspect', TM, '--blocks', '--json']).stdout) as { blocks: { name: string }[] };
    assert.equal(tm.blocks.at(-1)!.name, 'sequential_1/model1/Conv_1');
    assert.equal(tm.blocks.filter((b) => /block_\d+$/.test(b.name)).length, 16);
  }
});
