// Importing ONNX without PyTorch: hand-made graphs (test/onnx-builder.ts) for layouts, grouped and
// asymmetrically padded convolutions, ceil-mode pooling and the refusals; the committed
// models/torch-digits export for the CLI, the cache, names, inspect, predict --raw and the library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '../src/tf.js';
import { decodeModel } from '../src/model/onnx/graph.js';
import { convertModel } from '../src/model/onnx/convert.js';
import { scopePath } from '../src/model/onnx/names.js';
import { OnnxUnary } from '../src/model/onnx/layers.js';
import { loadModel as libraryLoadModel } from '../src/index.js';
import { onnxModel, tensor, type NodeSpec } from './onnx-builder.js';
import { cli, ROOT, tempDir } from './helpers.js';

const DIGITS = join(ROOT, 'models/torch-digits/model.onnx');
const rand = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 0.5);

/** Float64 reference: grouped conv (NCHW), ceil-mode max pool, global mean, Gemm (transB). */
function reference(x: number[], w: number[], b: number[], fc: number[], fcb: number[]): number[] {
  const [C, H, W, O, G, K, S] = [4, 7, 6, 6, 2, 3, 2];
  const [pt, pl] = [1, 0];
  const cg = C / G;
  const og = O / G;
  const conv = (o: number, y: number, xx: number) => {
    let s = b[o]!;
    const g = Math.floor(o / og);
    for (let ci = 0; ci < cg; ci++)
      for (let ky = 0; ky < K; ky++)
        for (let kx = 0; kx < K; kx++) {
          const iy = y * S + ky - pt;
          const ix = xx * S + kx - pl;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
          s += x[((g * cg + ci) * H + iy) * W + ix]! * w[((o * cg + ci) * K + ky) * K + kx]!;
        }
    return s;
  };
  const [oh, ow] = [3, 3];
  const pooled: number[] = [];
  for (let o = 0; o < O; o++) {
    let sum = 0;
    for (let py = 0; py < 2; py++)
      for (let px = 0; px < 2; px++) {
        let m = -Infinity;
        for (let dy = 0; dy < 2; dy++)
          for (let dx = 0; dx < 2; dx++) {
            const y = py * 2 + dy;
            const xx = px * 2 + dx;
            if (y < oh && xx < ow) m = Math.max(m, conv(o, y, xx));
          }
        sum += m;
      }
    pooled.push(sum / 4);
  }
  return [0, 1, 2].map((m) => fcb[m]! + pooled.reduce((s, v, k) => s + v * fc[m * O + k]!, 0));
}

test('onnx import: a grouped, asymmetrically padded conv, ceil-mode max pool and Gemm match a float64 reference', async () => {
  await tf.setBackend('cpu');
  const [x, w, b, fc, fcb] = [rand(4 * 7 * 6, 1), rand(6 * 2 * 9, 2), rand(6, 3), rand(18, 4), rand(3, 5)];
  const nodes: NodeSpec[] = [
    {
      op: 'Conv',
      inputs: ['x', 'c.weight', 'c.bias'],
      outputs: ['a'],
      name: '/c/Conv',
      attrs: { group: 2, kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 0, 1] },
    },
    {
      op: 'MaxPool',
      inputs: ['a'],
      outputs: ['p'],
      name: '/pool/MaxPool',
      attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 },
    },
    { op: 'GlobalAveragePool', inputs: ['p'], outputs: ['g'], name: '/gap/GlobalAveragePool' },
    { op: 'Flatten', inputs: ['g'], outputs: ['f'], name: '/Flatten', attrs: { axis: 1 } },
    { op: 'Gemm', inputs: ['f', 'fc.weight', 'fc.bias'], outputs: ['y'], name: '/fc/Gemm', attrs: { transB: 1 } },
  ];
  const bytes = onnxModel({
    nodes,
    initializers: [
      tensor('c.weight', [6, 2, 3, 3], w),
      tensor('c.bias', [6], b),
      tensor('fc.weight', [3, 6], fc),
      tensor('fc.bias', [3], fcb),
    ],
    input: ['x', [1, 4, 7, 6]],
    output: ['y', [1, 3]],
  });
  const { model } = convertModel(decodeModel(bytes));
  assert.deepEqual(
    model.layers.map((l) => `${l.name}:${l.getClassName()}`),
    [
      'input:InputLayer',
      'c.pad:ZeroPadding2D',
      'c:GroupConv2D',
      'pool:MaxPooling2D',
      'gap:GlobalAveragePooling2D',
      'fc:Dense',
    ],
  );
  // ceil_mode's extra end row and column are what tfjs' 'same' pads here: no padding layer. NCHW → NHWC:
  const nhwc = Array.from({ length: 7 * 6 * 4 }, (_, i) => x[(i % 4) * 42 + Math.floor(i / 4)]!);
  const got = await (model.predict(tf.tensor(nhwc, [1, 7, 6, 4])) as tf.Tensor).data();
  const want = reference(x, w, b, fc, fcb);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `${got[i]} vs ${want[i]}`);
});

test('onnx import: max pooling pads with -inf as PyTorch does (not with zeros)', async () => {
  await tf.setBackend('cpu');
  const bytes = onnxModel({
    nodes: [
      {
        op: 'MaxPool',
        inputs: ['x'],
        outputs: ['y'],
        name: '/maxpool/MaxPool',
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      },
    ],
    input: ['x', [1, 1, 4, 4]],
    output: ['y', [1, 1, 2, 2]],
  });
  const { model } = convertModel(decodeModel(bytes));
  const x = Array.from({ length: 16 }, (_, i) => -1 - i); // all negative: a zero pad would win every window
  const got = Array.from(await (model.predict(tf.tensor(x, [1, 4, 4, 1])) as tf.Tensor).data());
  // windows rows/cols {-1,0,1} and {1,2,3}: maxima at (0,0), (0,1), (1,0), (1,1) of the valid cells
  assert.deepEqual(got, [-1, -2, -5, -6]);
});

test('onnx import: x·sigmoid(x) and x·hardsigmoid(x) become one swish / hard swish layer each; other gates stay a product', async () => {
  await tf.setBackend('cpu');
  const gate = (op: string, name: string, attrs?: NodeSpec['attrs']): NodeSpec[] => [
    { op, inputs: [`${name}.in`], outputs: [`${name}.g`], name: `/${name}/${op}`, ...(attrs ? { attrs } : {}) },
    { op: 'Mul', inputs: [`${name}.in`, `${name}.g`], outputs: [`${name}.out`], name: `/${name}/Mul` },
  ];
  const hard = { alpha: { float: 1 / 6 }, beta: { float: 0.5 } };
  const nodes: NodeSpec[] = [
    { op: 'Identity', inputs: ['x'], outputs: ['silu.in'], name: '/in/Identity' },
    ...gate('Sigmoid', 'silu'),
    { op: 'Identity', inputs: ['silu.out'], outputs: ['hs.in'], name: '/mid/Identity' },
    ...gate('HardSigmoid', 'hs', hard),
    { op: 'Identity', inputs: ['hs.out'], outputs: ['keras.in'], name: '/mid2/Identity' },
    ...gate('HardSigmoid', 'keras', { alpha: { float: 0.2 }, beta: { float: 0.5 } }), // not PyTorch's: stays
    { op: 'Identity', inputs: ['keras.out'], outputs: ['y'], name: '/out/Identity' },
  ];
  const { model } = convertModel(
    decodeModel(onnxModel({ nodes, input: ['x', [1, 2, 3, 3]], output: ['y', [1, 2, 3, 3]] })),
  );
  const kinds = model.layers.map((l) => `${l.getClassName()}${l instanceof OnnxUnary ? `:${l.op}` : ''}`);
  assert.deepEqual(
    kinds.filter((k) => k !== 'InputLayer'),
    ['OnnxUnary:swish', 'OnnxUnary:hardSwish', 'OnnxUnary:hardSigmoid', 'Multiply'],
  );
  // float64 reference, values on both sides of hard swish's kinks at ±3
  const x = Array.from({ length: 18 }, (_, i) => -5 + (10 * i) / 17);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const clip01 = (v: number) => Math.min(1, Math.max(0, v));
  const want = x
    .map((v) => v * sig(v))
    .map((v) => v * clip01(v / 6 + 0.5))
    .map((v) => v * clip01(0.2 * v + 0.5));
  const got = await (model.predict(tf.tensor(x, [1, 3, 3, 2])) as tf.Tensor).data();
  // x is NHWC here and NCHW in ONNX; elementwise, so the order does not matter
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-6, `${i}: ${v} vs ${want[i]}`));
});

test('swish and hard swish layers: gradients from x alone equal tfjs autodiff of the composed ops, kinks at ±3 included', async () => {
  await tf.setBackend('cpu');
  const x = tf.tensor([-5, -3, -2.5, -1, -0.25, 0, 0.5, 1.5, 2.999, 3, 3.001, 6]);
  const w = tf.tensor([0.3, -1.2, 0.7, 2, -0.4, 1.1, 0.9, -0.8, 1.3, 0.6, -1.5, 0.2]);
  const composed = {
    swish: (t: tf.Tensor) => tf.mul(t, tf.sigmoid(t)),
    hardSwish: (t: tf.Tensor) => tf.mul(t, tf.clipByValue(tf.add(tf.mul(t, 1 / 6), 0.5), 0, 1)),
  };
  for (const op of ['swish', 'hardSwish'] as const) {
    const layer = new OnnxUnary({ op });
    const ours = tf
      .grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, w)))(x)
      .dataSync();
    const auto = tf
      .grad((t: tf.Tensor) => tf.sum(tf.mul(composed[op](t), w)))(x)
      .dataSync();
    ours.forEach((g, i) => assert.ok(Math.abs(g - auto[i]!) < 1e-6, `${op} at ${x.dataSync()[i]}: ${g} vs ${auto[i]}`));
    assert.deepEqual(Array.from((layer.apply(x) as tf.Tensor).dataSync()), Array.from(composed[op](x).dataSync()));
  }
});

test('onnx import: module paths from torch.onnx node names', () => {
  assert.deepEqual(scopePath('/layer3/layer3.0/conv1/Conv'), ['layer3', 'layer3.0', 'layer3.0.conv1']);
  assert.deepEqual(scopePath('/layer2/layer2.0/downsample/downsample.0/Conv')?.at(-1), 'layer2.0.downsample.0');
  assert.deepEqual(
    scopePath('/features/features.1/features.1.0/block/block.0/block.0.0/Conv')?.at(-1),
    'features.1.0.block.0.0',
  );
  assert.deepEqual(scopePath('/Flatten'), []);
  assert.equal(scopePath('Conv_0'), undefined);
});

function refusal(dir: string, bytes: Uint8Array, extra: string[] = []) {
  const file = join(dir, 'm.onnx');
  writeFileSync(file, bytes);
  const out = join(dir, 'out');
  const r = cli(['import', file, '--out', out, ...extra]);
  return { ...r, wrote: existsSync(out) };
}

const reluGraph = (opts: { opset?: number; op?: string; dims?: (number | string)[]; external?: boolean } = {}) =>
  onnxModel({
    nodes: [
      { op: 'Conv', inputs: ['x', 'conv.weight'], outputs: ['a'], name: '/conv/Conv', attrs: { kernel_shape: [1, 1] } },
      { op: opts.op ?? 'Relu', inputs: ['a'], outputs: ['y'], name: `/blocks/blocks.0/attn/${opts.op ?? 'Relu'}` },
    ],
    initializers: [tensor('conv.weight', [2, 3, 1, 1], rand(6, 9), opts.external ? 'weights.data' : undefined)],
    input: ['x', opts.dims ?? [1, 3, 4, 4]],
    output: ['y', [1, 2, 4, 4]],
    opset: opts.opset,
  });

test('onnx import: bad files are one line, exit 2, nothing written', () => {
  const dir = tempDir('ff-onnx-bad-');
  const cases: [string, Uint8Array, RegExp, string[]?][] = [
    [
      'opset 10',
      reluGraph({ opset: 10 }),
      /opset 10; freezeflow imports opset 11 and later: re-export with opset_version=13/,
    ],
    [
      'unknown op',
      reluGraph({ op: 'Einsum' }),
      /unsupported Einsum at node '\/blocks\/blocks.0\/attn\/Einsum', PyTorch module 'blocks.0.attn': freezeflow has no converter for Einsum; .*docs\/pytorch\.md/,
    ],
    [
      'dynamic size',
      reluGraph({ dims: ['batch', 3, 'height', 'width'] }),
      /dynamic size \('height' at dimension 2\); import it with freezeflow import --input-size H,W/,
    ],
    ['external data', reluGraph({ external: true }), /external file 'weights.data', which is not beside it/],
    ['truncated', readFileSync(DIGITS).subarray(0, 50_000), /is not an ONNX model, or is truncated/],
    ['text', new TextEncoder().encode('not a model at all\n'), /is not an ONNX model/],
  ];
  for (const [what, bytes, message] of cases) {
    const r = refusal(dir, bytes);
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, message, what);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
    assert.ok(!r.wrote, `${what}: no output folder`);
    assert.deepEqual(readdirSync(dir).sort(), ['m.onnx'], `${what}: no temp folder left`);
  }
  const sized = refusal(dir, reluGraph({ dims: ['batch', 3, 'height', 'width'] }), ['--input-size', '5,6']);
  assert.equal(sized.code, 0, sized.stderr);
  const usage = cli(['import', join(dir, 'm.onnx'), '--input-size', '0,6']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--input-size/);
});

test('onnx import: the CLI writes model, input pipeline and provenance; refuses a foreign --out', () => {
  const dir = tempDir('ff-onnx-cli-');
  const out = join(dir, 'digits');
  const r = cli(['import', DIGITS, '--out', out, '--preprocess', 'unit', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(p['sha256'], createHash('sha256').update(readFileSync(DIGITS)).digest('hex'));
  assert.equal(p['opset'], 13);
  assert.deepEqual(p['inputShape'], [28, 28, 1]);
  assert.equal((p['opCounts'] as Record<string, number>)['Conv'], 3);
  assert.equal((p['preprocess'] as { name: string }).name, 'unit');
  for (const f of ['freezeflow.json', 'model.json', 'provenance.json', 'weights.bin'])
    assert.ok(existsSync(join(out, f)), `${f} written`);
  assert.equal(JSON.parse(readFileSync(join(out, 'freezeflow.json'), 'utf8')).input.preprocess.name, 'unit');
  // an earlier import is replaced; any other folder is left alone
  assert.equal(cli(['import', DIGITS, '--out', out]).code, 0);
  const other = join(dir, 'mine');
  mkdirSync(other);
  writeFileSync(join(other, 'notes.txt'), 'keep me');
  const refused = cli(['import', DIGITS, '--out', other]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /exists and is not an earlier import/);
  assert.deepEqual(readdirSync(other), ['notes.txt']);
});

test('onnx import: a schedule takes the .onnx directly (cached), with PyTorch module names in its patterns', () => {
  const cache = tempDir('ff-onnx-cache-');
  const env = { FREEZEFLOW_CACHE_DIR: cache };
  const plan = cli(['plan', '-s', 'schedules/from-pytorch.yaml', '--model', '--json'], { env });
  assert.equal(plan.code, 0, plan.stderr);
  const stages = (JSON.parse(plan.stdout) as { stages: { name: string; trainableLayers?: string[] }[] }).stages;
  const layersOf = (name: string) => JSON.stringify(stages.find((s) => s.name === name));
  assert.match(layersOf('last-block'), /features\.8/);
  assert.match(layersOf('last-block'), /features\.9/);
  assert.doesNotMatch(layersOf('last-block'), /features\.4/);
  const entries = readdirSync(join(cache, 'onnx'));
  assert.equal(entries.length, 1);
  const before = readFileSync(join(cache, 'onnx', entries[0]!, 'provenance.json'), 'utf8');
  assert.equal(cli(['plan', '-s', 'schedules/from-pytorch.yaml', '--model'], { env }).code, 0);
  assert.equal(
    readFileSync(join(cache, 'onnx', entries[0]!, 'provenance.json'), 'utf8'),
    before,
    'not converted again',
  );
  assert.deepEqual(readdirSync(join(cache, 'onnx')), entries);
});

test('onnx import: inspect shows the module tree; --grep takes module names', () => {
  const r = cli(['inspect', DIGITS]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\s+features\s+\(module\)/m);
  assert.match(r.stdout, /^8\s+8\s+Conv2D/m);
  const grep = cli(['inspect', DIGITS, '--grep', 'features.8', '--json']);
  const paths = (JSON.parse(grep.stdout) as { layers: { path: string }[] }).layers.map((l) => l.path);
  assert.deepEqual(paths, ['features.8']);
  const module = cli(['inspect', DIGITS, '--grep', 'features', '--json']);
  assert.equal((JSON.parse(module.stdout) as { layers: unknown[] }).layers.length, 11);
});

test('onnx import: predict --raw prints the raw outputs; the library loads .onnx files and run folders', async () => {
  const dir = tempDir('ff-onnx-predict-');
  const img = join(dir, 'seven.png');
  const pixels = Buffer.alloc(28 * 28, 0);
  for (let y = 6; y < 22; y++) pixels[y * 28 + 14] = 255;
  await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(img);
  const env = { FREEZEFLOW_CACHE_DIR: join(dir, 'cache') };
  const raw = cli(['predict', '-m', DIGITS, img, '--raw', '--json', '--backend', 'cpu'], { env });
  assert.equal(raw.code, 0, raw.stderr);
  const output = (JSON.parse(raw.stdout) as { outputs: { output: number[] }[] }).outputs[0]!.output;
  assert.equal(output.length, 5);
  assert.ok(
    output.some((v) => v < 0),
    'logits, not probabilities',
  );
  const probs = cli(['predict', '-m', DIGITS, img, '--json', '-k', '5', '--backend', 'cpu'], { env });
  assert.match(probs.stderr, /outputs logits; the probabilities shown are their softmax/);
  const top = (JSON.parse(probs.stdout) as { predictions: { top: { label: string; probability: number }[] }[] })
    .predictions[0]!.top;
  const z = output.reduce((s, v) => s + Math.exp(v), 0);
  for (const t of top) assert.ok(Math.abs(t.probability - Math.exp(output[Number(t.label)]!) / z) < 1e-6);
  process.env['FREEZEFLOW_CACHE_DIR'] = join(dir, 'cache');
  const model = await libraryLoadModel(DIGITS);
  assert.deepEqual(model.outputs[0]!.shape, [null, 5]);
  assert.ok(model.layers.some((l) => l.name === 'features.8'));
  const built = await libraryLoadModel('builtin:resnet-mini');
  assert.ok(built.layers.length > 5);
});
