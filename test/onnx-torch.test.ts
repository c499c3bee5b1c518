// Importing PyTorch networks, checked against PyTorch itself: torchvision models exported with Debian's
// torch (scripts/torch_export.py: BatchNorm statistics calibrated, affine parameters random), imported,
// and run on the same input on wasm and cpu; one SGD step on resnet18 against PyTorch's; and the
// "From PyTorch" story end to end against PyTorch's run of the same schedule. Needs /usr/bin/python3 with
// torch and torchvision (apt-get install python3-torch python3-torchvision); FREEZEFLOW_REQUIRE_TORCH=1
// (CI) makes a skip a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../src/tf.js';
import { initBackend } from '../src/backend/index.js';
import { importOnnx } from '../src/model/onnx/import.js';
import { loadModel } from '../src/model/io.js';
import { modelToOnnx } from '../src/export/onnx/model.js';
import { loadOrt } from '../src/export/onnx/runtime.js';
import { cli, relErr, ROOT, tempDir } from './helpers.js';

const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
const missing = probe.status === 0 ? undefined : 'torch and torchvision are not importable by /usr/bin/python3';
if (missing && process.env['FREEZEFLOW_REQUIRE_TORCH'] === '1')
  throw new Error(`FREEZEFLOW_REQUIRE_TORCH=1 but ${missing}`);
const skip = missing ?? false;

const FAMILIES = ['resnet18', 'mobilenet_v2', 'mobilenet_v3_small', 'efficientnet_b0', 'regnet_y_400mf', 'densenet121'];
const work = tempDir('ff-torch-');

function exportModel(name: string, dir: string, extra: string[] = []): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn(
      PY,
      [join(ROOT, 'scripts/torch_export.py'), '--model', name, '--size', '96', '--out', dir, ...extra],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => (code === 0 ? res() : rej(new Error(`export of ${name} failed: ${err.slice(-800)}`))));
  });
}

const floats = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

const exported = skip
  ? Promise.resolve()
  : (async () => {
      // two at a time (2 cores): each export is a few seconds of torch
      const jobs: [string, string, string[]][] = [
        ...FAMILIES.map((f): [string, string, string[]] => [f, f, f === 'resnet18' ? ['--step', '0.1'] : []]),
        ['resnet18', 'resnet18-eval', ['--mode', 'eval']],
        ['mobilenet_v2', 'mobilenet_v2-training', ['--mode', 'training']],
      ];
      for (let i = 0; i < jobs.length; i += 2)
        await Promise.all(jobs.slice(i, i + 2).map(([m, d, x]) => exportModel(m, join(work, d), x)));
    })();

/** The export in `dir` imported once into dir/tfjs (each test may be the first to need it). */
const imports = new Map<string, Promise<string>>();
function imported(dir: string): Promise<string> {
  if (!imports.has(dir))
    imports.set(
      dir,
      importOnnx(join(dir, 'model.onnx'), join(dir, 'tfjs')).then((r) => r.dir),
    );
  return imports.get(dir)!;
}

async function parity(dir: string): Promise<Record<string, number>> {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { inputShape: number[] };
  const want = floats(join(dir, 'output.bin'));
  const folder = await imported(dir);
  const out: Record<string, number> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    await tf.setBackend(backend);
    const model = await loadModel(join(folder, 'model.json'));
    const x = tf.tensor(floats(join(dir, 'input.bin')), meta.inputShape);
    const y = model.predict(x) as tf.Tensor;
    out[backend] = relErr(await y.data(), want);
    tf.dispose([x, y]);
    model.dispose();
  }
  return out;
}

test('onnx import: torchvision families match PyTorch within 1e-4 on wasm and cpu', { skip }, async () => {
  await initBackend('wasm');
  await exported;
  for (const name of FAMILIES) {
    const errs = await parity(join(work, name));
    process.stderr.write(
      `parity ${name}: wasm ${errs['wasm']!.toExponential(2)}, cpu ${errs['cpu']!.toExponential(2)}\n`,
    );
    for (const [backend, e] of Object.entries(errs)) assert.ok(e <= 1e-4, `${name} on ${backend}: ${e}`);
  }
});

test(
  'export: every imported torchvision family, written back to ONNX, runs in onnxruntime as in PyTorch',
  { skip },
  async () => {
    await exported;
    const ort = await loadOrt();
    assert.ok(ort, 'onnxruntime-node is a dev dependency');
    await tf.setBackend('cpu');
    for (const name of FAMILIES) {
      const dir = join(work, name);
      const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { inputShape: number[] };
      const model = await loadModel(join(await imported(dir), 'model.json'));
      const bytes = modelToOnnx(model, { nchw: false, meta: {}, version: 'test', doc: '' });
      const session = await ort.InferenceSession.create(bytes);
      const x = new ort.Tensor('float32', floats(join(dir, 'input.bin')), meta.inputShape);
      const got = (await session.run({ [session.inputNames[0]!]: x }))[session.outputNames[0]!]!.data;
      await session.release();
      model.dispose();
      const err = relErr(got, floats(join(dir, 'output.bin')));
      process.stderr.write(`export ${name}: onnxruntime vs PyTorch ${err.toExponential(2)}\n`);
      assert.ok(err <= 1e-4, `${name}: ${err}`);
    }
  },
);

test(
  'onnx import: an eval-mode export (BatchNorm folded, names lost) and a training-mode one (Dropout) import too',
  { skip },
  async () => {
    await exported;
    for (const name of ['resnet18-eval', 'mobilenet_v2-training']) {
      const errs = await parity(join(work, name));
      for (const [backend, e] of Object.entries(errs)) assert.ok(e <= 1e-4, `${name} on ${backend}: ${e}`);
    }
    const folded = cli(['import', join(work, 'resnet18-eval/model.onnx'), '--out', join(work, 'folded')]);
    assert.equal(folded.code, 0, folded.stderr);
    assert.match(folded.stderr, /folded BatchNorm into the convolutions.*TrainingMode\.PRESERVE/);
    assert.equal(folded.stderr.trim().split('\n').length, 1, 'said once');
    const names = cli(['inspect', join(work, 'folded'), '--json']);
    const layers = (JSON.parse(names.stdout) as { layers: { path: string; className: string }[] }).layers;
    assert.ok(
      layers.some((l) => l.path === 'layer4.1.conv2' && l.className === 'Conv2D'),
      'names from the node scopes',
    );
    assert.ok(!layers.some((l) => l.className === 'BatchNormalization'));
    const training = await loadModel(join(await imported(join(work, 'mobilenet_v2-training')), 'model.json'));
    assert.ok(training.layers.some((l) => l.name === 'classifier.0' && l.getClassName() === 'Dropout'));
  },
);

test('onnx import: one SGD step on resnet18 (frozen BatchNorm) matches PyTorch’s step', { skip }, async () => {
  await exported;
  await initBackend('wasm'); // tfjs' cpu backend takes minutes for resnet18's conv gradients
  const dir = join(work, 'resnet18');
  const model = await loadModel(join(await imported(dir), 'model.json'));
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { inputShape: number[] };
  const x = tf.tensor(floats(join(dir, 'input.bin')), meta.inputShape);
  const lb = readFileSync(join(dir, 'labels.bin'));
  const labels = Array.from(new Int32Array(lb.buffer.slice(lb.byteOffset, lb.byteOffset + lb.byteLength)));
  const y = tf.oneHot(tf.tensor1d(labels.slice(0, meta.inputShape[0]), 'int32'), 10);
  const layerVars = model.trainableWeights;
  const vars = layerVars.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    const logits = model.apply(x, { training: false }) as tf.Tensor; // frozen BatchNorm: running statistics
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  }, vars);
  // tfjs kernel [kh, kw, in, out] ↔ PyTorch [out, in, kh, kw]; Dense [in, out] ↔ Linear [out, in]
  const checks: [string, string, number[]][] = [
    ['conv1/kernel', 'conv1.weight', [3, 2, 0, 1]],
    ['layer3.0.conv2/kernel', 'layer3.0.conv2.weight', [3, 2, 0, 1]],
    ['layer4.1.bn2/gamma', 'layer4.1.bn2.weight', [0]],
    ['fc/kernel', 'fc.weight', [1, 0]],
    ['fc/bias', 'fc.bias', [0]],
  ];
  for (const [tfName, torchName, perm] of checks) {
    const v = vars[layerVars.findIndex((w) => w.originalName === tfName)]!;
    const before = v.clone();
    const after = tf.sub(v, tf.mul(grads[v.name]!, 0.1));
    const ours = tf.transpose(after, perm);
    const theirs = floats(join(dir, 'step', `${torchName}.bin`));
    const was = await tf.transpose(before, perm).data();
    const delta = (a: ArrayLike<number>) => Array.from(a, (val, i) => val - was[i]!);
    const wErr = relErr(await ours.data(), theirs);
    const stepErr = relErr(delta(await ours.data()), delta(theirs));
    process.stderr.write(
      `sgd step ${torchName}: weights ${wErr.toExponential(2)}, update ${stepErr.toExponential(2)}\n`,
    );
    assert.ok(wErr <= 1e-4, `${torchName}: updated weights ${wErr}`);
    assert.ok(stepErr <= 1e-3, `${torchName}: the update itself ${stepErr}`);
    tf.dispose([before, after, ours]);
  }
});

test(
  'from PyTorch end to end: the shipped schedule in PyTorch names lands within 2 points of PyTorch’s own run',
  { skip },
  () => {
    const out = join(tempDir('ff-from-pytorch-'), 'run');
    const ours = cli(['train', '-s', 'schedules/from-pytorch.yaml', '--out', out, '--quiet'], {
      env: { FREEZEFLOW_CACHE_DIR: join(work, 'cache') },
    });
    assert.equal(ours.code, 0, ours.stderr);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { finalValAcc: number };
    const torchRun = spawnSync(PY, [join(ROOT, 'scripts/torch_digits.py'), 'finetune'], { encoding: 'utf8' });
    assert.equal(torchRun.status, 0, torchRun.stderr);
    const theirs = JSON.parse(torchRun.stdout.trim().split('\n').at(-1)!) as { final_val_acc: number };
    process.stderr.write(`from-pytorch: freezeflow ${summary.finalValAcc}, PyTorch ${theirs.final_val_acc}\n`);
    assert.ok(
      Math.abs(summary.finalValAcc - theirs.final_val_acc) <= 0.02,
      `${summary.finalValAcc} vs ${theirs.final_val_acc}`,
    );
    assert.ok(summary.finalValAcc > 0.9, 'the pretrained features transfer');
  },
);
