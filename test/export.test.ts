// `freezeflow export`: quantization against independent references (numpy's float16 rounding, tfjs' own
// manifest decoder), ONNX against onnxruntime-node for every layer class the exporter writes, the tfjs
// and Teachable Machine exports loaded by a stock tfjs app with no freezeflow code, the accuracy cost
// measured from a run, the round trip ONNX → fine-tune → ONNX, and the refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import * as tf from '../src/tf.js';
import { loadModel, saveModel } from '../src/model/io.js';
import { importOnnx } from '../src/model/onnx/import.js';
import { modelToOnnx } from '../src/export/onnx/model.js';
import { LAYERS } from '../src/export/onnx/layers/index.js';
import { loadOrt } from '../src/export/onnx/runtime.js';
import { quantizeWeights, toFloat16, toUint8 } from '../src/export/quantize.js';
import { modelArtifacts } from '../src/model/save.js';
import { loadBuiltinDataset } from '../src/data/mnist.js';
import { customLayersNet } from './onnx-builder.js';
import { GroupConv2D, OnnxBinary, OnnxPad, OnnxUnary } from '../src/model/onnx/layers.js';
import { cli, relErr, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

await tf.setBackend('cpu');
const work = tempDir('ff-export-');
const TM = join(ROOT, '..', 'shared', 'models', 'tm-nail-biting');
const PY = '/usr/bin/python3';
const numpy = spawnSync(PY, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

/** stderr without Dawn's start-up warnings (printed by its native code while auto probes for a GPU). */
const ownLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => !/^Warning: maxDynamic/.test(l))
    .join('\n');
const randomInput = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

/** max |a − b| over max(|b|, 1): a relative error that does not blow up on outputs near zero. */
const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => relErr(a, b, 1);

async function ortRun(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const ort = await loadOrt();
  assert.ok(ort, 'onnxruntime-node is a dev dependency and must load');
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, dims) });
  await s.release();
  return out[s.outputNames[0]!]!.data;
}

/** The model's outputs in tfjs and in onnxruntime (NHWC and NCHW input) on the same random batch. */
async function onnxParity(model: tf.LayersModel, batch = 3): Promise<number[]> {
  const shape = [batch, ...(model.inputs[0]!.shape.slice(1) as number[])];
  const x = randomInput(shape, 7);
  const want = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync().slice());
  const meta = { labels: '[]' };
  const nhwc = modelToOnnx(model, { nchw: false, meta, version: 'test', doc: '' });
  const nchw = modelToOnnx(model, { nchw: true, meta, version: 'test', doc: '' });
  const [n, h, w, c] = shape as [number, number, number, number];
  const xt = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync().slice() as Float32Array);
  const errs = [
    relDiff(await ortRun(nhwc, x.dataSync().slice() as Float32Array, shape), want),
    relDiff(await ortRun(nchw, xt, [n, c, h, w]), want),
  ];
  x.dispose();
  return errs;
}

/** A functional model that uses every stock tfjs layer class the ONNX table lists. */
function everyLayerModel(): tf.LayersModel {
  const L = tf.layers;
  const inp = tf.input({ shape: [9, 9, 3] });
  const ap = (x: tf.SymbolicTensor, l: tf.layers.Layer) => l.apply(x) as tf.SymbolicTensor;
  const many = (xs: tf.SymbolicTensor[], l: tf.layers.Layer) => l.apply(xs) as tf.SymbolicTensor;
  const padded = ap(
    inp,
    L.zeroPadding2d({
      padding: [
        [1, 0],
        [0, 1],
      ],
    }),
  );
  const a = ap(padded, L.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' }));
  const b0 = ap(
    padded,
    L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'swish' }),
  );
  const b = ap(b0, L.conv2d({ filters: 6, kernelSize: 1, useBias: false, dilationRate: 1 }));
  const d1 = ap(a, L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', dilationRate: 2, activation: 'elu' }));
  const g = many([many([a, b], L.add()), many([a, d1], L.multiply())], L.maximum());
  const h = many([many([a, d1], L.add()), many([b, d1], L.average())], L.minimum());
  const cat = ap(
    ap(ap(many([g, h], L.concatenate()), L.batchNormalization()), L.reLU({ maxValue: 4 })),
    L.leakyReLU({ alpha: 0.1 }),
  );
  const se = ap(ap(cat, L.globalAveragePooling2d({})), L.reshape({ targetShape: [1, 1, 12] }));
  const gated = many([cat, se], L.multiply());
  const mp = ap(gated, L.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }));
  const avg = ap(
    ap(gated, L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' })),
    L.averagePooling2d({ poolSize: 2, padding: 'valid' }),
  );
  const perm = ap(
    ap(ap(mp, L.permute({ dims: [2, 1, 3] })), L.reshape({ targetShape: [9, 12] })),
    L.dense({ units: 5, activation: 'mish' }),
  );
  const features = many(
    [
      ap(mp, L.globalMaxPooling2d({})),
      ap(ap(avg, L.globalAveragePooling2d({})), L.rescaling({ scale: 0.5, offset: 0.1 })),
      ap(avg, L.flatten()),
      ap(perm, L.flatten()),
    ],
    L.concatenate(),
  );
  let y = ap(ap(features, L.batchNormalization()), L.dense({ units: 16, activation: 'tanh' }));
  for (const l of [
    L.dropout({ rate: 0.5 }),
    L.gaussianNoise({ stddev: 1 }),
    L.gaussianDropout({ rate: 0.3 }),
    L.alphaDropout({ rate: 0.3 }),
  ])
    y = ap(y, l);
  const acts = ['sigmoid', 'softplus', 'softsign', 'selu', 'hardSigmoid', 'elu', 'relu', 'linear'] as const;
  const branches = acts.map((activation) => ap(y, L.activation({ activation })));
  const logits = ap(many(branches, L.add()), L.dense({ units: 4 }));
  const model = tf.model({ inputs: inp, outputs: ap(logits, L.softmax()) });
  // BatchNorm statistics away from 0 and 1, so a wrong axis or formula shows
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization'))
    layer.setWeights(
      layer
        .getWeights()
        .map((w, i) => tf.add(tf.mul(tf.randomUniform(w.shape, 0, 1, 'float32', i + 3), 0.8), i === 3 ? 0.5 : 0.1)),
    );
  return model;
}

/** freezeflow's own layer classes (an import's) in the forms the importer does not happen to produce above. */
function freezeflowLayersModel(): tf.LayersModel {
  const r = (n: number) => Array.from({ length: n }, (_, i) => Math.cos(i * 1.3) * 0.7);
  return tf.sequential({
    layers: [
      new OnnxPad({
        padding: [
          [1, 0],
          [2, 1],
        ],
        fill: '-inf',
        name: 'pad_inf',
        inputShape: [7, 6, 4],
      } as never),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }),
      new OnnxPad({
        padding: [
          [0, 1],
          [1, 0],
        ],
        fill: 0.5,
        name: 'pad_half',
      }),
      new GroupConv2D({ filters: 6, kernelSize: [2, 2], groups: 2, useBias: false, name: 'gconv' }),
      new OnnxUnary({ op: 'clip', alpha: -0.2, beta: 0.3, name: 'clip' }),
      new OnnxUnary({ op: 'hardSwish', name: 'hswish' }),
      new OnnxUnary({ op: 'swish', name: 'silu' }),
      new OnnxBinary({ op: 'sub', constant: { shape: [6], values: r(6) }, constantFirst: true, name: 'c_minus_x' }),
      new OnnxBinary({
        op: 'div',
        constant: { shape: [1, 1, 1, 6], values: r(6).map((v) => v + 2) },
        name: 'x_over_c',
      }),
      tf.layers.flatten(),
      new OnnxBinary({ op: 'mul', constant: { shape: [1], values: [1.5] }, name: 'times' }),
    ],
  });
}

const classesIn = (m: tf.LayersModel): string[] =>
  m.layers.flatMap((l) => (l instanceof tf.LayersModel ? classesIn(l) : [l.getClassName()]));

test(
  'export: float16 rounds as numpy does, bit for bit (nearest, ties to even, subnormals, overflow)',
  { skip: !numpy && 'no numpy for /usr/bin/python3' },
  () => {
    const special = [
      0,
      -0,
      1,
      -1,
      65504,
      65519,
      65520,
      1e6,
      6.1e-5,
      5.96e-8,
      2.98e-8,
      1e-9,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      2049,
      2051,
      0.1,
      -0.3,
      Math.PI,
    ];
    const r = tf.randomNormal([4000], 0, 1, 'float32', 5).dataSync() as Float32Array;
    const values = Float32Array.from([...special, ...Array.from(r, (v, i) => v * 10 ** ((i % 12) - 8))]);
    const file = join(work, 'f32.bin');
    writeFileSync(file, new Uint8Array(values.buffer));
    const py = spawnSync(
      PY,
      [
        '-c',
        'import sys, numpy as np; sys.stdout.buffer.write(np.fromfile(sys.argv[1], "<f4").astype("<f2").tobytes())',
        file,
      ],
      { maxBuffer: 1 << 24 },
    );
    assert.equal(py.status, 0, String(py.stderr));
    const want = new Uint16Array(
      py.stdout.buffer.slice(py.stdout.byteOffset, py.stdout.byteOffset + py.stdout.byteLength),
    );
    const got = toFloat16(values);
    const bad = [...got.keys()].filter((i) => got[i] !== want[i]);
    assert.deepEqual(
      bad.slice(0, 5).map((i) => [values[i], got[i], want[i]]),
      [],
      `${bad.length} values differ`,
    );
  },
);

test('export: uint8 keeps 0 exact and each kernel value within half a step; tfjs decodes the manifest; biases stay float32', async () => {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, biasInitializer: 'randomNormal' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2 }),
    ],
  });
  const k = m.layers[0]!.getWeights()[0]!;
  m.layers[0]!.setWeights([tf.where(tf.less(tf.abs(k), 0.05), tf.zerosLike(k), k), m.layers[0]!.getWeights()[1]!]);
  const a = await modelArtifacts(m);
  const q = quantizeWeights(a.weightSpecs!, a.weightData as ArrayBuffer, 'uint8');
  assert.deepEqual(
    q.kept.map((n) => n.split('/')[1]),
    ['bias', 'bias'],
  );
  const loaded = await tf.loadLayersModel({
    load: async () => ({ modelTopology: a.modelTopology, weightSpecs: q.specs, weightData: q.data.slice().buffer }),
  });
  for (const [i, layer] of m.layers.entries()) {
    const [kernel, bias] = layer.getWeights();
    if (!kernel) continue;
    const orig = kernel.dataSync() as Float32Array;
    const { scale } = toUint8(orig);
    const back = loaded.layers[i]!.getWeights()[0]!.dataSync();
    orig.forEach((v, j) => {
      assert.ok(Math.abs(back[j]! - v) <= scale / 2 + 1e-7, `kernel ${j}: ${v} came back ${back[j]}`);
      if (v === 0) assert.equal(back[j], 0, 'zero is a level');
    });
    assert.deepEqual(loaded.layers[i]!.getWeights()[1]!.dataSync(), bias!.dataSync(), 'bias bit-identical');
  }
});

test('export: ONNX of a model with every stock layer class in the table matches tfjs in onnxruntime (NHWC and NCHW input)', async () => {
  const model = everyLayerModel();
  for (const err of await onnxParity(model)) assert.ok(err < 1e-5, `relative error ${err}`);
  const net = join(work, 'custom.onnx');
  writeFileSync(net, customLayersNet());
  const imported = await loadModel((await importOnnx(net, join(work, 'custom-tfjs'))).dir);
  for (const err of await onnxParity(imported, 1))
    assert.ok(err < 1e-5, `imported custom layers: relative error ${err}`);
  const own = freezeflowLayersModel();
  for (const err of await onnxParity(own, 2)) assert.ok(err < 1e-5, `freezeflow's layers: relative error ${err}`);
  const seen = new Set([...classesIn(model), ...classesIn(imported), ...classesIn(own)]);
  const untested = Object.keys(LAYERS).filter((c) => !seen.has(c));
  assert.deepEqual(untested, [], 'every converter in the table has a model in this test');
});

test('export: ONNX of builtin:resnet-mini and the Teachable Machine MobileNetV2 matches tfjs in onnxruntime', async (t) => {
  const mini = await loadModel('builtin:resnet-mini');
  for (const err of await onnxParity(mini, 4)) assert.ok(err < 1e-5, `resnet-mini: ${err}`);
  if (!existsSync(join(TM, 'model.json'))) return t.skip('../shared/models/tm-nail-biting is absent');
  const tm = await loadModel(join(TM, 'model.json'));
  for (const err of await onnxParity(tm, 2)) assert.ok(err < 1e-5, `TM MobileNetV2: ${err}`);
});

/** Serve a folder over http, as a web page's server would. */
async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const file = join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': extname(file) === '.json' ? 'application/json' : 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, server };
}

/** The stock tfjs app (test/stock-tfjs.mjs) on `dir`'s model.json with input x. */
async function stockPredict(dir: string, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const file = join(work, `x-${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(file, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const { url, server } = await serve(dir);
  try {
    const { spawn } = await import('node:child_process');
    const p = spawn(process.execPath, [
      join(ROOT, 'test/stock-tfjs.mjs'),
      `${url}/model.json`,
      file,
      ...dims.map(String),
    ]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((ok) => p.on('close', ok));
    assert.equal(code, 0, err);
    return Float32Array.from((JSON.parse(out) as { outputs: number[] }).outputs);
  } finally {
    server.close();
  }
}

/** A 3-channel model that ends in logits and was trained on imagenet-normalised pixels. */
async function logitsModel(dir: string): Promise<tf.LayersModel> {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }),
      tf.layers.batchNormalization(),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 3 }),
    ],
  });
  const input = {
    shape: [16, 16, 3],
    resize: 'cover',
    preprocess: { name: 'imagenet', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };
  await saveModel(m, dir, { labels: ['cat', 'dog', 'fox'], files: { 'freezeflow.json': { input } } });
  return m;
}

test('export: tfjs (float16, uint8) and tm exports load in a stock tfjs app over http and predict', async () => {
  const src = join(work, 'logits-model');
  const m = await logitsModel(src);
  const pixels = tf.tidy(() => tf.floor(tf.randomUniform([5, 16, 16, 3], 0, 256, 'float32', 11)));
  const mean = tf.tensor1d([0.485, 0.456, 0.406]);
  const std = tf.tensor1d([0.229, 0.224, 0.225]);
  const x = tf.tidy(() => tf.div(tf.sub(tf.div(pixels, 255), mean), std)); // imagenet, written out here
  const logits = tf.tidy(() => m.predict(x) as tf.Tensor);
  const dims = [5, 16, 16, 3];
  for (const [q, tol] of [
    ['float16', 5e-3],
    ['uint8', 5e-2],
  ] as const) {
    const out = join(work, `tfjs-${q}`);
    const r = cli(['export', src, '-f', 'tfjs', '-q', q, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const got = await stockPredict(out, x.dataSync() as Float32Array, dims);
    const err = relDiff(got, logits.dataSync());
    assert.ok(err < tol && err > 0, `${q}: stock tfjs output is off the float32 model by ${err}`);
    const record = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8')) as { sizes: { ratio: number } };
    assert.ok(record.sizes.ratio > (q === 'uint8' ? 2.5 : 1.6), `${q} smaller: ${record.sizes.ratio}`);
  }
  // Teachable Machine feeds pixel/127.5 − 1 and reads probabilities
  const tmDir = join(work, 'tm');
  const r = cli(['export', src, '-f', 'tm', '-o', tmDir]);
  assert.equal(r.code, 0, r.stderr);
  const meta = JSON.parse(readFileSync(join(tmDir, 'metadata.json'), 'utf8')) as {
    labels: string[];
    imageSize: number;
  };
  assert.deepEqual([meta.labels, meta.imageSize], [['cat', 'dog', 'fox'], 16]);
  const t = tf.tidy(() => tf.sub(tf.div(pixels, 127.5), 1));
  const got = await stockPredict(tmDir, t.dataSync() as Float32Array, dims);
  const want = tf.tidy(() => tf.softmax(logits).dataSync());
  assert.ok(relDiff(got, want) < 1e-5, `TM probabilities off by ${relDiff(got, want)}`);
  // and freezeflow's predict reads the TM export (metadata.json: labels, size, [-1, 1]) as TM would
  const images: string[] = [];
  const px = pixels.dataSync();
  for (let i = 0; i < 2; i++) {
    const file = join(work, `tm-${i}.png`);
    const raw = Buffer.from(Array.from(px.subarray(i * 768, (i + 1) * 768)));
    await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toFile(file);
    images.push(file);
  }
  const predict = (model: string) => {
    const p = cli(['predict', '-m', model, ...images, '--raw', '--json']);
    assert.equal(p.code, 0, p.stderr);
    return (JSON.parse(p.stdout) as { outputs: { output: number[] }[] }).outputs.flatMap((o) => o.output);
  };
  const viaTm = predict(tmDir);
  assert.ok(
    relDiff(viaTm, want.slice(0, 6)) < 1e-5,
    `freezeflow predict on the TM export: ${relDiff(viaTm, want.slice(0, 6))}`,
  );
  tf.dispose([pixels, mean, std, x, logits, t]);
});

/** Digits from the builtin set as PNG files. */
async function digitImages(dir: string, n: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const ds = loadBuiltinDataset('mnist-5-9');
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const px = Buffer.from(Array.from(ds.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)));
    const file = join(dir, `${i}.png`);
    await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** A tiny finished run on resnet-mini (300 digits, one head-only epoch). */
function tinyRun(name: string): string {
  const dir = join(work, name);
  const schedule = writeSchedule(work, tinySchedule(300, '  - { name: head, epochs: 1, lr: 1.0e-3 }'), `${name}.yaml`);
  const r = cli(['train', '-s', schedule, '-o', dir, '-q']);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

test('export: from a run, measured on its validation digits: float32 accuracy is what training reported; card and record written', async () => {
  const run = tinyRun('run-a');
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as {
    finalValAcc: number;
    data: { validation: number };
  };
  for (const args of [
    ['-q', 'uint8'],
    ['-q', 'float16'],
    ['-f', 'onnx'],
    ['--checkpoint', 'best'],
  ]) {
    const r = cli(['export', run, ...args, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout) as {
      out: string;
      format: string;
      measured: {
        images: number;
        accuracy: { float32: number; exported: number };
        maxOutputDiff: number;
        engine: string;
      };
    };
    assert.equal(rec.measured.images, summary.data.validation, args.join(' '));
    assert.ok(Math.abs(rec.measured.accuracy.float32 - 100 * summary.finalValAcc) < 1e-9 || args[0] === '--checkpoint');
    assert.ok(existsSync(join(rec.out, 'export.json')) && existsSync(join(rec.out, 'MODEL.md')));
    const card = readFileSync(join(rec.out, 'MODEL.md'), 'utf8');
    assert.match(card, /\| head \| 1 \| adam \| 0\.001 \|/);
    assert.match(card, /Classes \(5, in output order\): 5, 6, 7, 8, 9/);
    if (rec.format === 'onnx') {
      assert.match(rec.measured.engine, /^onnxruntime-node/);
      assert.ok(rec.measured.maxOutputDiff < 1e-5, `onnx max diff ${rec.measured.maxOutputDiff}`);
    }
  }
  assert.ok(existsSync(join(run, 'exports', 'best-tfjs', 'model.json')), 'a checkpoint export has its own folder');
  // freezeflow's own predict reads the tfjs export (quantized manifest, labels, preprocessing) as the run
  const images = await digitImages(join(work, 'digits'), 6);
  const predict = (model: string) => {
    const r = cli(['predict', '-m', model, ...images, '--raw', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { outputs: { output: number[] }[] }).outputs.flatMap((o) => o.output);
  };
  const err = relDiff(predict(join(run, 'exports', 'tfjs-float16')), predict(join(run, 'model')));
  assert.ok(err > 0 && err < 5e-3, `float16 export through predict: ${err}`);
});

/** Red and green 4×4 images, two classes, in `dir`/red and `dir`/green. */
async function colourFolder(dir: string): Promise<void> {
  for (const [cls, rgb] of [
    ['green', [0, 200, 0]],
    ['red', [200, 0, 0]],
  ] as const) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let k = 0; k < 4; k++) {
      const px = Buffer.from(Array.from({ length: 48 }, (_, i) => Math.max(0, rgb[i % 3]! - 10 * k)));
      await sharp(px, { raw: { width: 4, height: 4, channels: 3 } })
        .png()
        .toFile(join(dir, cls, `${k}.png`));
    }
  }
}

test('export: --max-drop refuses a quantization that costs accuracy (exit 1, nothing written); without it the cost is recorded', async () => {
  // red vs green by mean colour; one huge kernel value on the always-zero blue channel makes uint8's step
  // ~40, so every useful weight rounds to 0 and the uint8 model answers one class for everything
  const m = tf.sequential({
    layers: [
      tf.layers.globalAveragePooling2d({ inputShape: [4, 4, 3] }),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  m.layers[1]!.setWeights([
    tf.tensor2d([
      [-1, 1],
      [1, -1],
      [1e4, 0],
    ]),
    tf.zeros([2]),
  ]);
  const src = join(work, 'colours-model');
  const input = { shape: [4, 4, 3], resize: 'stretch', preprocess: { name: 'unit', mean: [0], std: [1] } };
  await saveModel(m, src, { labels: ['green', 'red'], files: { 'freezeflow.json': { input } } });
  const data = join(work, 'colours');
  await colourFolder(data);
  const out = join(work, 'colours-uint8');
  const refused = cli(['export', src, '-q', 'uint8', '--data', data, '--max-drop', '1', '-o', out]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(
    ownLines(refused.stderr),
    /^freezeflow: the export loses 50\.00 accuracy points, more than --max-drop 1; nothing written\n$/,
  );
  assert.ok(!existsSync(out), 'nothing written');
  const kept = cli(['export', src, '-q', 'uint8', '--data', data, '-o', out, '--json']);
  assert.equal(kept.code, 0, kept.stderr);
  const rec = JSON.parse(kept.stdout) as {
    measured: { accuracy: { float32: number; exported: number; drop: number }; images: number };
  };
  assert.deepEqual(rec.measured.accuracy, { float32: 100, exported: 50, drop: 50 });
  assert.equal(rec.measured.images, 8);
  const fine = cli([
    'export',
    src,
    '-q',
    'float16',
    '--data',
    data,
    '--max-drop',
    '0',
    '-o',
    join(work, 'colours-f16'),
  ]);
  assert.equal(fine.code, 0, `float16 keeps every answer: ${fine.stderr}`);
});

test('export: bad input is one line and exit 2, with nothing written', async () => {
  const run = join(work, 'run-a'); // written by the run test above, or made here
  if (!existsSync(join(run, 'model'))) tinyRun('run-a');
  const unfinished = join(work, 'unfinished');
  mkdirSync(unfinished, { recursive: true });
  cpSync(join(run, 'config.yaml'), join(unfinished, 'config.yaml'));
  const taken = join(work, 'taken');
  mkdirSync(taken, { recursive: true });
  writeFileSync(join(taken, 'notes.txt'), 'mine');
  const net = join(work, 'custom2.onnx');
  writeFileSync(net, customLayersNet());
  const rnn = join(work, 'conv1d-model');
  await saveModel(
    tf.sequential({
      layers: [
        tf.layers.conv1d({ inputShape: [8, 2], filters: 2, kernelSize: 3 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    }),
    rnn,
  );
  const cases: [string[], RegExp][] = [
    [[run, '-f', 'onnx', '-q', 'uint8'], /--quantize does not apply to --format onnx/],
    [[run, '-o', taken], /exists and is not an earlier export .*--force/],
    [[unfinished], /has no model yet .*--checkpoint last or best/],
    [[run, '-f', 'tm'], /Teachable Machine export takes RGB images; this model takes 1 channel/],
    [[net, '-f', 'tfjs'], /layer '.+' \((GroupConv2D|OnnxUnary|OnnxBinary)\b.*export this model with --format onnx/],
    [[rnn, '-f', 'onnx', '--data', join(work, 'colours')], /layer 'conv1d.*' \(Conv1D\) has no ONNX form/],
    [[run, '--nchw'], /--nchw applies to --format onnx only/],
    [[run, '-f', 'keras'], /argument 'keras' is invalid/],
  ];
  for (const [args, message] of cases) {
    const out = join(work, `bad-${Math.random().toString(36).slice(2)}`);
    const r = cli(['export', ...args, ...(args.includes('-o') ? [] : ['-o', out])], {
      env: { FREEZEFLOW_CACHE_DIR: join(work, 'cache') },
    });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(ownLines(r.stderr).trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.ok(!existsSync(out), `${args.join(' ')}: nothing written`);
  }
  assert.deepEqual(readFileSync(join(taken, 'notes.txt'), 'utf8'), 'mine', 'the folder that was there is untouched');
  const forced = cli(['export', run, '-o', taken, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  const again = cli(['export', run, '-o', taken]);
  assert.equal(again.code, 0, `an earlier export is replaced without --force: ${again.stderr}`);
});

test('export: a network imported from ONNX, fine-tuned and exported again runs in onnxruntime with the fine-tuned outputs', async () => {
  const run = join(work, 'from-pytorch');
  const epochs = ['stages.0.epochs=[1,1]', 'stages.1.epochs=[2,2]', 'stages.2.epochs=[3,3]'].flatMap((s) => [
    '--set',
    s,
  ]);
  const trained = cli(
    ['train', '-s', join(ROOT, 'schedules/from-pytorch.yaml'), '-o', run, '-q', '--samples', '300', ...epochs],
    {
      env: { FREEZEFLOW_CACHE_DIR: join(work, 'cache') },
    },
  );
  assert.equal(trained.code, 0, trained.stderr);
  const r = cli(['export', run, '-f', 'onnx', '--nchw']);
  assert.equal(r.code, 0, r.stderr);
  const bytes = readFileSync(join(run, 'exports', 'onnx', 'model.onnx'));
  const ds = loadBuiltinDataset('mnist-5-9');
  const n = 16;
  const x = ds.x.slice(0, n * 784); // unit preprocessing: stored pixels are the model's input
  const fineTuned = await loadModel(join(run, 'model'));
  const want = tf.tidy(() => (fineTuned.predict(tf.tensor4d(x, [n, 28, 28, 1])) as tf.Tensor).dataSync().slice());
  const got = await ortRun(new Uint8Array(bytes), x, [n, 1, 28, 28]);
  assert.ok(relDiff(got, want) < 1e-5, `onnxruntime vs freezeflow's fine-tuned model: ${relDiff(got, want)}`);
  // and it is the fine-tuned network, not the one imported (PyTorch's digits 0–4 net, same shapes)
  const original = await ortRun(
    new Uint8Array(readFileSync(join(ROOT, 'models/torch-digits/model.onnx'))),
    x.slice(0, 784),
    [1, 1, 28, 28],
  );
  assert.ok(
    relDiff(got.slice(0, 5), original) > 1e-2,
    'the export carries the fine-tuned weights, not the imported ones',
  );
});
