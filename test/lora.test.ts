// LoRA adapters on Dense and Conv2D: the model is unchanged until B moves (bit for bit), forward and
// backward equal PyTorch's two-path formulation (PEFT: base(x) + s·lora_B(lora_A(x))) on the same numbers,
// merging writes W + ΔW into a plain layer, and the dropout path is base + s·B(A(drop(x))) before the
// activation. PyTorch comes from /usr/bin/python3 (Debian python3-torch); FREEZEFLOW_REQUIRE_TORCH=1 makes
// its absence a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '../src/tf.js';
import { attachLora, type LoraAdapter } from '../src/model/lora.js';
import { relErr } from './helpers.js';

const PY = '/usr/bin/python3';
const missing =
  spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0
    ? undefined
    : 'torch is not importable by /usr/bin/python3';
if (missing && process.env['FREEZEFLOW_REQUIRE_TORCH'] === '1')
  throw new Error(`FREEZEFLOW_REQUIRE_TORCH=1 but ${missing}`);

const hooks = (training = false) => ({ training: () => training, seed: () => 7 });
const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

function denseModel(): tf.LayersModel {
  const input = tf.input({ shape: [6] });
  const out = tf.layers.dense({ units: 5, activation: 'relu', name: 'fc' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function convModel(strides = 2, padding: 'valid' | 'same' = 'valid'): tf.LayersModel {
  const input = tf.input({ shape: [9, 9, 4] });
  const out = tf.layers
    .conv2d({ filters: 6, kernelSize: 3, strides, padding, activation: 'relu', name: 'conv' })
    .apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** B set to numbers (it starts at zero, which would make every gradient but B's zero). */
function adapted(model: tf.LayersModel, name: string, rank: number, alpha: number, training = false): LoraAdapter {
  const ad = attachLora(model.getLayer(name), name, { rank, alpha, dropout: 0 }, 3, hooks(training));
  ad.b.assign(rand(ad.b.shape, 11));
  return ad;
}

/** Forward + backward of L = Σ y·g, as freezeflow computes it: y, dL/dA, dL/dB, dL/dx. */
function ours(model: tf.LayersModel, ad: LoraAdapter, x: tf.Tensor, g: tf.Tensor) {
  const y = model.apply(x) as tf.Tensor;
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x) as tf.Tensor, g)), [ad.a, ad.b]);
  const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(model.apply(xx) as tf.Tensor, g)))(x);
  return { y, dA: grads[ad.a.name]!, dB: grads[ad.b.name]!, dx };
}

const TORCH = `
import json, sys, torch
d = json.load(sys.stdin)
t = lambda k: torch.tensor(d[k], dtype=torch.float64).reshape(d[k + '_shape'])
x, W, bias, A, B, g = (t(k) for k in ['x', 'W', 'bias', 'A', 'B', 'g'])
x.requires_grad_(True); A.requires_grad_(True); B.requires_grad_(True)
s = d['alpha'] / d['rank']
if d['kind'] == 'dense':
    base = torch.nn.functional.linear(x, W.T, bias)
    path = torch.nn.functional.linear(torch.nn.functional.linear(x, A.T), B.T)
    y = torch.relu(base + s * path)
else:  # NHWC in, HWIO kernels: as PyTorch's NCHW / OIHW
    xc = x.permute(0, 3, 1, 2)
    st, pad = d['strides'], d['pad']
    base = torch.nn.functional.conv2d(xc, W.permute(3, 2, 0, 1), bias, stride=st, padding=pad)
    h = torch.nn.functional.conv2d(xc, A.permute(3, 2, 0, 1), stride=st, padding=pad)
    path = torch.nn.functional.conv2d(h, B.T.reshape(B.shape[1], B.shape[0], 1, 1))
    y = torch.relu(base + s * path).permute(0, 2, 3, 1)
(y * g).sum().backward()
out = {k: v.detach().reshape(-1).tolist() for k, v in [('y', y), ('dA', A.grad), ('dB', B.grad), ('dx', x.grad)]}
json.dump(out, sys.stdout)
`;

async function compareWithTorch(
  kind: 'dense' | 'conv',
  model: tf.LayersModel,
  name: string,
  xShape: number[],
  conv?: { strides: number; pad: number },
) {
  for (const training of [false, true]) await compareOnce(kind, model, name, xShape, training, conv);
}

/** One mode: inference (the merged kernel) or a training step (the frozen layer plus the adapter's path). */
async function compareOnce(
  kind: 'dense' | 'conv',
  model: tf.LayersModel,
  name: string,
  xShape: number[],
  training: boolean,
  conv?: { strides: number; pad: number },
) {
  const ad = adapted(model, name, 3, 6, training);
  const layer = model.getLayer(name);
  const [W, bias] = layer.getWeights();
  const x = rand(xShape, 1);
  const y0 = model.apply(x) as tf.Tensor;
  const g = rand(y0.shape, 2);
  const r = ours(model, ad, x, g);
  const flat = async (t: tf.Tensor) => ({ v: Array.from(await t.data()), shape: t.shape });
  const payload: Record<string, unknown> = { kind, rank: 3, alpha: 6, ...conv };
  for (const [k, t] of Object.entries({ x, W: W!, bias: bias!, A: ad.a, B: ad.b, g })) {
    const f = await flat(t);
    payload[k] = f.v;
    payload[`${k}_shape`] = f.shape;
  }
  const p = spawnSync(PY, ['-c', TORCH], { input: JSON.stringify(payload), encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(p.status, 0, p.stderr);
  const ref = JSON.parse(p.stdout) as Record<'y' | 'dA' | 'dB' | 'dx', number[]>;
  for (const k of ['y', 'dA', 'dB', 'dx'] as const) {
    const e = relErr(await r[k].data(), ref[k]);
    assert.ok(e <= 1e-5, `${kind} ${training ? 'training' : 'inference'} ${k}: ${e.toExponential(2)} from PyTorch`);
  }
  ad.detach();
}

test(
  'LoRA Dense: forward and backward equal PyTorch (base + s·B(A(x))) within 1e-5, merged and two-path',
  { skip: missing ?? false },
  () => compareWithTorch('dense', denseModel(), 'fc', [4, 6]),
);

test('LoRA Conv2D (3×3, stride 2): forward and backward equal PyTorch within 1e-5', { skip: missing ?? false }, () =>
  compareWithTorch('conv', convModel(2, 'valid'), 'conv', [2, 9, 9, 4], { strides: 2, pad: 0 }),
);

test(
  'LoRA Conv2D (3×3, same padding): forward and backward equal PyTorch within 1e-5',
  { skip: missing ?? false },
  () => compareWithTorch('conv', convModel(1, 'same'), 'conv', [2, 9, 9, 4], { strides: 1, pad: 1 }),
);

test('a training step with B = 0 computes what the plain layer does (relu), and no kernel-sized gradient', async () => {
  const filterGrads = async (training: boolean) => {
    const model = convModel(1, 'same');
    const x = rand([2, 9, 9, 4], 5);
    const before = await (model.apply(x) as tf.Tensor).data();
    const ad = attachLora(model.getLayer('conv'), 'conv', { rank: 2, alpha: 4, dropout: 0 }, 9, hooks(training));
    assert.deepEqual(Array.from(await (model.apply(x) as tf.Tensor).data()), Array.from(before));
    const prof = await tf.profile(() => tf.variableGrads(() => tf.sum(model.apply(x) as tf.Tensor), [ad.a, ad.b]));
    ad.detach();
    return prof.kernels.filter((k) => k.name === 'Conv2DBackpropFilter').map((k) => k.outputShapes[0]!.join('×'));
  };
  // merged (inference form): the gradient of W + ΔW is kernel-sized, then reduced to A and B
  assert.ok((await filterGrads(false)).includes('3×3×4×6'));
  // a training step: only A's filter gradient (3×3×4×rank) and B's 1×1 one
  assert.deepEqual((await filterGrads(true)).sort(), ['1×1×2×6', '3×3×4×2']);
});

test('an attached adapter leaves outputs bit-identical (B = 0), and detach restores the plain layer', async () => {
  for (const [model, name, shape] of [
    [denseModel(), 'fc', [4, 6]],
    [convModel(), 'conv', [2, 9, 9, 4]],
  ] as const) {
    const x = rand([...shape], 5);
    const before = await (model.apply(x) as tf.Tensor).data();
    const ad = attachLora(model.getLayer(name), name, { rank: 2, alpha: 4, dropout: 0 }, 9, hooks());
    assert.deepEqual(Array.from(await ad.a.data()).filter((v) => v === 0).length < ad.a.size / 2, true);
    const withAdapter = await (model.apply(x) as tf.Tensor).data();
    assert.deepEqual(Array.from(withAdapter), Array.from(before), `${name}: outputs changed at step 0`);
    ad.b.assign(rand(ad.b.shape, 4));
    const moved = await (model.apply(x) as tf.Tensor).data();
    assert.ok(relErr(moved, before) > 1e-3, `${name}: a non-zero B must change the output`);
    ad.detach();
    assert.ok(ad.a.isDisposed && ad.b.isDisposed);
    assert.deepEqual(Array.from(await (model.apply(x) as tf.Tensor).data()), Array.from(before));
  }
});

test('merge writes W + (alpha/rank)·A·B into the plain layer: the same outputs without the adapter', async () => {
  for (const [model, name, shape] of [
    [denseModel(), 'fc', [4, 6]],
    [convModel(1, 'same'), 'conv', [2, 9, 9, 4]],
  ] as const) {
    const ad = adapted(model, name, 2, 5);
    const x = rand([...shape], 6);
    const want = await (model.apply(x) as tf.Tensor).data();
    const W = model.getLayer(name).getWeights()[0]!;
    const delta = tf.reshape(tf.mul(tf.matMul(tf.reshape(ad.a, [-1, 2]), ad.b), 2.5), W.shape);
    const expected = await tf.add(W, delta).data();
    ad.merge();
    const merged = model.getLayer(name).getWeights()[0]!;
    assert.deepEqual(Array.from(await merged.data()), Array.from(expected));
    assert.ok(relErr(await (model.apply(x) as tf.Tensor).data(), want) < 1e-6);
  }
});

test('dropout: training calls add s·B(A(drop(x))) before the activation; inference uses the merged kernel', async () => {
  const model = denseModel();
  const layer = model.getLayer('fc');
  let training = true;
  const ad = attachLora(layer, 'fc', { rank: 2, alpha: 2, dropout: 0.5 }, 1, {
    training: () => training,
    seed: () => 123,
  });
  ad.b.assign(rand(ad.b.shape, 8));
  const x = rand([16, 6], 3);
  const [W, bias] = layer.getWeights();
  const got = await (model.apply(x) as tf.Tensor).data();
  const dropped = tf.dropout(x, 0.5, undefined, 123);
  const want = tf.relu(tf.add(tf.add(tf.matMul(x, W!), bias!), tf.matMul(tf.matMul(dropped, ad.a), ad.b)));
  assert.ok(relErr(got, await want.data()) < 1e-6);
  training = false;
  const merged = tf.relu(tf.add(tf.matMul(x, tf.add(W!, tf.matMul(ad.a, ad.b))), bias!));
  assert.ok(relErr(await (model.apply(x) as tf.Tensor).data(), await merged.data()) < 1e-6);
  ad.detach();
});
