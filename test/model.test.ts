import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import * as tf from '../src/tf.js';
import { loadModel, readArtifacts, saveModel } from '../src/model/io.js';
import { listLayers } from '../src/model/layers.js';
import { attachHead, cutModel } from '../src/model/surgery.js';
import { ROOT, tempDir } from './helpers.js';

await tf.setBackend('cpu');

const SHARED = join(ROOT, '../shared/models/tm-nail-biting/model.json');

function nested(): tf.LayersModel {
  // The Teachable Machine layout: a functional base inside a Sequential, then a Sequential head.
  const input = tf.input({ shape: [8, 8, 3] });
  const c1 = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, name: 'conv_a', padding: 'same' })
    .apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn_a' }).apply(c1) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 6, kernelSize: 3, name: 'conv_b' }).apply(bn) as tf.SymbolicTensor;
  const base = tf.model({ inputs: input, outputs: c2, name: 'base' });
  const body = tf.sequential({ name: 'body', layers: [base, tf.layers.globalAveragePooling2d({ name: 'gap' })] });
  const oldHead = tf.sequential({
    name: 'old_head',
    layers: [tf.layers.dense({ inputShape: [6], units: 3, name: 'old_fc', activation: 'softmax' })],
  });
  return tf.sequential({ name: 'outer', layers: [body, oldHead] });
}

const bits = (m: tf.LayersModel, path: string) =>
  listLayers(m)
    .find((l) => l.path === path)!
    .layer.getWeights()
    .map((w) => Array.from(w.dataSync()));

test('builtin:resnet-mini loads, with torchvision-style names and BatchNorm', async () => {
  const m = await loadModel('builtin:resnet-mini');
  const layers = listLayers(m);
  const paths = layers.map((l) => l.path);
  for (const p of ['stem_conv', 'stem_bn', 'layer1_0_conv1', 'layer3_0_downsample_conv', 'pool', 'fc'])
    assert.ok(paths.includes(p), p);
  assert.deepEqual(m.inputs[0]!.shape, [null, 28, 28, 1]);
  const bn = layers.find((l) => l.path === 'stem_bn')!;
  assert.ok(bn.isBatchNorm);
  assert.equal(bn.trainableParams, 32); // gamma + beta for 16 channels
  assert.equal(bn.nonTrainableParams, 32); // moving mean + variance
  assert.deepEqual(JSON.parse(readFileSync(join(ROOT, 'models/resnet-mini/labels.json'), 'utf8')), [
    '0',
    '1',
    '2',
    '3',
    '4',
  ]);
});

test('cut (default: drop the last layer) and new head; kept weights bit-identical', async () => {
  const m = await loadModel('builtin:resnet-mini');
  const before = bits(m, 'layer3_0_conv2');
  const ft = attachHead(
    cutModel(m),
    [
      { dense: { units: 256, activation: 'relu' } },
      { dropout: { rate: 0.5 } },
      { dense: { units: 'auto', activation: 'softmax' } },
    ],
    5,
  );
  const paths = listLayers(ft).map((l) => l.path);
  assert.ok(!paths.includes('fc'));
  assert.deepEqual(paths.slice(-3), ['head/dense_1', 'head/dropout_1', 'head/dense_2']);
  assert.deepEqual(ft.outputs[0]!.shape, [null, 5]);
  assert.deepEqual(bits(ft, 'layer3_0_conv2'), before);
  const cutAtL2 = attachHead(cutModel(m, 'layer2_0_relu2'), [{ dense: { units: 'auto' } }], 3);
  const p2 = listLayers(cutAtL2).map((l) => l.path);
  assert.ok(!p2.some((p) => p.startsWith('layer3')));
  assert.deepEqual(p2.slice(-2), ['head/gap_1', 'head/dense_1'], 'a rank-4 cut gets global pooling');
  assert.throws(() => cutModel(m, 'layer9'), /no layer 'layer9'/);
});

test('nested models: full paths, cut inside a nested base, save and reload with stock tfjs', async () => {
  // Round-trip through the file format first: that is how nested exports (Keras, Teachable Machine) arrive.
  const src = join(tempDir(), 'nested');
  await saveModel(nested(), src);
  const m = await loadModel(src);
  const paths = listLayers(m).map((l) => l.path);
  assert.deepEqual(paths, ['body/base/conv_a', 'body/base/bn_a', 'body/base/conv_b', 'body/gap', 'old_head/old_fc']);
  const ft = attachHead(cutModel(m), [{ dense: { units: 2, activation: 'softmax' } }], 2);
  assert.deepEqual(
    listLayers(ft).map((l) => l.path),
    ['body/base/conv_a', 'body/base/bn_a', 'body/base/conv_b', 'body/gap', 'head/dense_1'],
  );
  const inner = attachHead(cutModel(m, 'body/base/bn_a'), [{ dense: { units: 2 } }], 2);
  assert.deepEqual(
    listLayers(inner).map((l) => l.path),
    ['body/base/conv_a', 'body/base/bn_a', 'head/gap_1', 'head/dense_1'],
  );
  assert.deepEqual(bits(inner, 'body/base/conv_a'), bits(m, 'body/base/conv_a'));

  const dir = join(tempDir(), 'saved');
  await saveModel(ft, dir, { labels: ['a', 'b'] });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')), ['a', 'b']);
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const stock = await tf.loadLayersModel(
    tf.io.fromMemory(
      json.modelTopology,
      json.weightsManifest[0].weights,
      new Uint8Array(readFileSync(join(dir, 'weights.bin'))).buffer,
    ),
  );
  const x = tf.randomNormal([2, 8, 8, 3]);
  const a = (ft.predict(x) as tf.Tensor).dataSync();
  const b = (stock.predict(x) as tf.Tensor).dataSync();
  assert.deepEqual(Array.from(b), Array.from(a));
  const again = await loadModel(dir);
  assert.deepEqual(
    listLayers(again).map((l) => l.path),
    listLayers(ft).map((l) => l.path),
  );
});

test('load errors are one clear line', async () => {
  const dir = tempDir();
  await assert.rejects(loadModel(join(dir, 'nope/model.json')), /cannot read .*no such file/);
  const m = nested();
  await saveModel(m, join(dir, 'ok'));
  // short weight shard
  const w = readFileSync(join(dir, 'ok/weights.bin'));
  writeFileSync(join(dir, 'ok/weights.bin'), w.subarray(0, 10));
  await assert.rejects(readArtifacts(join(dir, 'ok/model.json')), /are short: 10 bytes, the manifest needs \d+/);
  // missing shard
  writeFileSync(
    join(dir, 'graph.json'),
    JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }),
  );
  await assert.rejects(loadModel(join(dir, 'graph.json')), /graph model; graph models .* cannot be fine-tuned/);
  const json = JSON.parse(readFileSync(join(dir, 'ok/model.json'), 'utf8'));
  writeFileSync(join(dir, 'ok/weights.bin'), w);
  const text = JSON.stringify(json).replace('"GlobalAveragePooling2D"', '"MyFancyPool"');
  writeFileSync(join(dir, 'ok/custom.json'), text);
  await assert.rejects(loadModel(join(dir, 'ok/custom.json')), /layer class 'MyFancyPool', which tfjs does not know/);
  json.weightsManifest[0].paths = ['./missing.bin'];
  writeFileSync(join(dir, 'ok/missing.json'), JSON.stringify(json));
  await assert.rejects(loadModel(join(dir, 'ok/missing.json')), /missing\.bin: no such file/);
  await assert.rejects(loadModel('builtin:nope'), /unknown builtin model 'nope'/);
});

test('http(s) loading: a model served over loopback loads bit for bit; a 404 is one clear line', async () => {
  const dir = join(ROOT, 'models/resnet-mini');
  const served: string[] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    served.push(name);
    if (!/^[\w.-]+$/.test(name) || !existsSync(join(dir, name))) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(readFileSync(join(dir, name)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    const remote = await loadModel(`http://127.0.0.1:${port}/model.json`);
    const local = await loadModel('builtin:resnet-mini');
    assert.ok(
      served.includes('model.json') && served.some((n) => n.endsWith('.bin')),
      'shards fetched relative to model.json',
    );
    const a = remote.getWeights().map((w) => Array.from(w.dataSync()));
    const b = local.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(a, b);
    await assert.rejects(loadModel(`http://127.0.0.1:${port}/nothing/model.json`), /cannot fetch .*: HTTP 404/);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  // a port nobody listens on (taken, then released)
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const closed = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(
    loadModel(`http://127.0.0.1:${closed}/model.json`),
    /cannot fetch http:\/\/127\.0\.0\.1:\d+\/model\.json: .*ECONNREFUSED/,
  );
});

test(
  'a real Teachable Machine export (../shared/models) loads, lists nested paths, and cuts',
  { skip: !existsSync(SHARED) && 'shared model not present' },
  async () => {
    const dir = tempDir();
    for (const f of ['model.json', 'weights.bin']) copyFileSync(join(SHARED, '..', f), join(dir, f));
    const m = await loadModel(join(dir, 'model.json'));
    const layers = listLayers(m);
    assert.ok(layers.some((l) => l.path === 'sequential_1/model1/Conv1'));
    assert.ok(layers.filter((l) => l.isBatchNorm).length > 30);
    const ft = attachHead(cutModel(m), [{ dense: { units: 'auto', activation: 'softmax' } }], 3);
    assert.deepEqual(ft.outputs[0]!.shape, [null, 3]);
    assert.ok(!listLayers(ft).some((l) => l.path.startsWith('sequential_3')));
  },
);
