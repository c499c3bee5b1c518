import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern } from '../src/schedule/patterns.js';
import { buildPlan, resolvePlan, type LayerInfo } from '../src/schedule/plan.js';
import { parseSchedule } from '../src/schedule/load.js';

const m = (p: string, path: string) => compilePattern(p).test(path);

test('globs match segments, nested paths and parents', () => {
  assert.ok(m('layer4*', 'layer4_0_conv1'));
  assert.ok(m('layer4*', 'backbone/layer4_0_conv1'));
  assert.ok(!m('layer4*', 'layer3_0_conv1'));
  assert.ok(m('mobilenet/block_16_*', 'seq/mobilenet/block_16_expand'));
  assert.ok(!m('mobilenet/block_16_*', 'seq/mobilenet/block_15_expand'));
  assert.ok(m('head', 'head/dense_1'), 'a parent name covers its children');
  assert.ok(m('head/*', 'head/dense_1'));
  assert.ok(!m('head/*', 'headless'));
  assert.ok(m('*', 'a/b/c'));
  assert.ok(m('a/**/c', 'a/b/x/c'));
  assert.ok(!m('a/*/c', 'a/b/x/c'));
  assert.ok(m('conv?', 'conv1') && !m('conv?', 'conv12'));
  assert.ok(m('a.b', 'a.b') && !m('a.b', 'axb'), 'dots are literal');
});

test('re: patterns are regular expressions on the full path', () => {
  assert.ok(m('re:_bn\\d*$', 'layer1_0_bn1'));
  assert.ok(!m('re:_bn\\d*$', 'layer1_0_bn1_extra'));
  assert.ok(m('re:^seq/.*expand', 'seq/m/block_1_expand'));
  assert.throws(() => compilePattern('re:('), /invalid regular expression/);
});

const LAYERS: LayerInfo[] = [
  {
    path: 'stem_conv',
    className: 'Conv2D',
    trainableParams: 10,
    nonTrainableParams: 0,
    isBatchNorm: false,
    isHead: false,
  },
  {
    path: 'stem_bn',
    className: 'BatchNormalization',
    trainableParams: 2,
    nonTrainableParams: 2,
    isBatchNorm: true,
    isHead: false,
  },
  {
    path: 'layer1_0_conv1',
    className: 'Conv2D',
    trainableParams: 100,
    nonTrainableParams: 0,
    isBatchNorm: false,
    isHead: false,
  },
  {
    path: 'layer2_0_conv1',
    className: 'Conv2D',
    trainableParams: 200,
    nonTrainableParams: 0,
    isBatchNorm: false,
    isHead: false,
  },
  {
    path: 'head/dense_1',
    className: 'Dense',
    trainableParams: 50,
    nonTrainableParams: 0,
    isBatchNorm: false,
    isHead: true,
  },
];

function plan(stages: string, extra = '') {
  const l = parseSchedule(`model: { source: x }\ndata: { source: y }\n${extra}stages:\n${stages}`);
  return buildPlan(l.schedule, 'p');
}

test('resolvePlan: head trainable first, then freeze before unfreeze, state carries over', () => {
  const r = resolvePlan(
    plan(`  - { name: a, epochs: 1 }
  - { name: b, epochs: 1, unfreeze: ['layer2*'] }
  - { name: c, epochs: 1, freeze: ['*'], unfreeze: ['layer*', 'head'] }
  - { name: d, epochs: 1, unfreeze: ['*'], freeze: ['layer1*'] }
`),
    LAYERS,
  );
  assert.deepEqual([...r[0]!.trainable], ['head/dense_1']);
  assert.equal(r[0]!.trainableParams, 50);
  assert.deepEqual([...r[1]!.trainable].sort(), ['head/dense_1', 'layer2_0_conv1']);
  assert.deepEqual([...r[2]!.trainable].sort(), ['head/dense_1', 'layer1_0_conv1', 'layer2_0_conv1']);
  // freeze is applied before unfreeze, whatever the key order in the file
  assert.equal(r[3]!.trainable.size, 5);
  assert.equal(r[3]!.trainableParams, 362);
});

test('batchNorm: train keeps BN layers trainable in every stage', () => {
  const r = resolvePlan(plan('  - { name: a, epochs: 1 }\n', 'training: { batchNorm: train }\n'), LAYERS);
  assert.deepEqual([...r[0]!.trainable].sort(), ['head/dense_1', 'stem_bn']);
});

test('a pattern that matches no layer is an error naming the closest layers', () => {
  assert.throws(
    () => resolvePlan(plan("  - { name: a, epochs: 1, unfreeze: ['layer4*', 'stem_cnv'] }\n"), LAYERS),
    (err: Error & { errors?: { path: unknown[]; message: string }[] }) => {
      assert.equal(err.errors?.length, 2);
      assert.match(err.errors![0]!.message, /pattern 'layer4\*' matches no layer; closest layers: /);
      assert.match(err.errors![1]!.message, /pattern 'stem_cnv' matches no layer; closest layers: stem_conv/);
      assert.deepEqual(err.errors![1]!.path, ['stages', 0, 'unfreeze', 1]);
      return true;
    },
  );
});

test('discriminative lrs: groups (first listed wins) and per-block decay', () => {
  const r = resolvePlan(
    plan(`  - name: a
    epochs: 1
    unfreeze: ['*']
    lr: 0.01
    lrGroups:
      - { layers: ['layer1*'], lr: 1.0e-6 }
      - { layers: ['layer*'], lr: 5.0e-6 }
      - { layers: ['head'], lrMultiplier: 10 }
  - name: b
    epochs: 1
    lr: 0.01
    lrDecay: { factor: 0.5, blocks: ['stem*', 'layer1*', 'layer2*', 'head'] }
`),
    LAYERS,
  );
  const g = r[0]!.layerLr;
  assert.equal(g.get('layer1_0_conv1'), 1e-6);
  assert.equal(g.get('layer2_0_conv1'), 5e-6);
  assert.equal(g.get('head/dense_1'), 0.1);
  assert.equal(g.get('stem_conv'), 0.01);
  const d = r[1]!.layerLr;
  assert.equal(d.get('head/dense_1'), 0.01);
  assert.equal(d.get('layer2_0_conv1'), 0.005);
  assert.equal(d.get('layer1_0_conv1'), 0.0025);
  assert.equal(d.get('stem_conv'), 0.00125);
});

test('braces and character classes work as in any glob tool, at any depth', () => {
  const paths = [
    'sequential_1/model1/block_15_expand',
    'sequential_1/model1/block_16_project',
    'block_14_add',
    'layer2_0_conv1',
    'layer3_0_conv1',
    'layer4_0_conv1',
  ];
  const hits = (p: string) => paths.filter((x) => compilePattern(p).test(x));
  assert.deepEqual(hits('block_1{5,6}*'), [
    'sequential_1/model1/block_15_expand',
    'sequential_1/model1/block_16_project',
  ]);
  assert.deepEqual(hits('layer[23]*'), ['layer2_0_conv1', 'layer3_0_conv1']);
  assert.deepEqual(hits('model1/block_16*'), ['sequential_1/model1/block_16_project']);
  assert.deepEqual(hits('sequential_1/**/block_15*'), ['sequential_1/model1/block_15_expand']);
});
