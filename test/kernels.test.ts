import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { loadModel } from '../src/model/io.js';
import { attachHead, cutModel } from '../src/model/surgery.js';
import { listLayers } from '../src/model/layers.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan } from '../src/schedule/plan.js';
import { memorySource } from '../src/data/dataset.js';
import { fusedBatchNormCall } from '../src/train/batchnorm.js';
import { simdHelper } from '../src/backend/simd.js';
import { simdConv2D } from '../src/backend/kernels/conv-forward.js';
import type { DirectKernel } from '../src/backend/wasm/register.js';
import { simdBatchMatMul } from '../src/backend/kernels/batch-matmul.js';
import { HARD_SWISH, HARD_SWISH_GRAD } from '../src/core/kernel-names.js';
import { relErr, ROOT, runAndCollect } from './helpers.js';

const wasmThreads = (await initBackend('wasm')).threads ?? 1;

/**
 * Gradients of `f` with respect to all its inputs, on `backend`, from the same numbers; also checks
 * that the computation leaves no tensor behind.
 */
async function gradsOn(
  backend: string,
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: { shape: number[]; values: number[] }[],
): Promise<number[][]> {
  await tf.setBackend(backend);
  const xs = inputs.map((i) => tf.tensor(i.values, i.shape));
  const before = tf.memory().numTensors;
  const out = tf.tidy(() =>
    tf
      .grads(f)(xs)
      .map((g) => Array.from(g.dataSync())),
  );
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  tf.dispose(xs);
  return out;
}

function random(shape: number[], seed: number) {
  const t = tf.randomNormal(shape, 0, 1, 'float32', seed);
  const values = Array.from(t.dataSync());
  t.dispose();
  return { shape, values };
}

async function compare(
  label: string,
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: { shape: number[]; values: number[] }[],
) {
  const cpu = await gradsOn('cpu', f, inputs);
  const wasm = await gradsOn('wasm', f, inputs);
  for (let k = 0; k < cpu.length; k++) {
    const scale = Math.max(...cpu[k]!.map(Math.abs));
    const err = Math.max(...wasm[k]!.map((v, i) => Math.abs(v - cpu[k]![i]!))) / scale;
    assert.ok(err <= 1e-4, `${label}, gradient ${k}: relative error ${err}`);
  }
}

type Shape4 = [number, number, number, number];
type Conv = (x: tf.Tensor4D, w: tf.Tensor4D, stride: 1 | 2, pad: 'same' | 'valid') => tf.Tensor4D;

/** Gradients of Σ conv(x, w)·r (r random) with respect to x and w, wasm against cpu, for each case. */
async function compareConv(conv: Conv, cases: [Shape4, Shape4, 1 | 2, 'same' | 'valid'][], firstSeed: number) {
  let seed = firstSeed;
  for (const [xs, fs, stride, pad] of cases) {
    const probe = conv(tf.zeros(xs) as tf.Tensor4D, tf.zeros(fs) as tf.Tensor4D, stride, pad);
    const weights = random(probe.shape, seed++);
    probe.dispose();
    await compare(
      JSON.stringify([xs, fs, stride, pad]),
      (x, w) =>
        tf.sum(tf.mul(conv(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad), tf.tensor(weights.values, weights.shape))),
      [random(xs, seed++), random(fs, seed++)],
    );
  }
}

test('wasm depthwise conv gradients (input and filter) equal the cpu kernels', async () => {
  await compareConv(
    (x, w, s, p) => tf.depthwiseConv2d(x, w, s, p),
    [
      [[2, 9, 9, 3], [3, 3, 3, 1], 1, 'same'],
      [[2, 10, 11, 4], [3, 3, 4, 1], 2, 'same'],
      [[3, 8, 8, 2], [3, 3, 2, 2], 2, 'valid'],
      [[1, 7, 6, 3], [5, 3, 3, 2], 1, 'valid'],
      [[2, 12, 12, 5], [3, 3, 5, 1], 2, 'same'],
    ],
    10,
  );
});

test("freezeflow's SIMD depthwise filter and input gradients equal cpu: 16- and 4-channel blocks, single channels, strides, padding", async () => {
  const cases: [Shape4, Shape4, 1 | 2, 'same' | 'valid'][] = [
    [[2, 9, 9, 21], [3, 3, 21, 1], 1, 'same'], // 16 + 4 + 1 channels
    [[3, 12, 11, 32], [3, 3, 32, 1], 2, 'same'], // asymmetric 'same' padding at stride 2
    [[2, 10, 10, 19], [5, 5, 19, 1], 2, 'valid'],
    [[1, 7, 9, 48], [3, 3, 48, 1], 1, 'valid'],
    [[2, 4, 4, 16], [5, 5, 16, 1], 1, 'same'], // taps that reach no input row
  ];
  // the composed kernel (FREEZEFLOW_SIMD=0) and the SIMD one both against cpu; the SIMD one really ran
  const fs = (x: tf.Tensor4D, w: tf.Tensor4D, s: 1 | 2, p: 'same' | 'valid') => tf.depthwiseConv2d(x, w, s, p);
  await compareConv(fs, cases, 40);
  process.env['FREEZEFLOW_SIMD'] = '0';
  try {
    await compareConv(fs, cases, 40);
  } finally {
    delete process.env['FREEZEFLOW_SIMD'];
  }
  await tf.setBackend('wasm');
  const x = tf.ones([1, 6, 6, 16]) as tf.Tensor4D;
  const dy = tf.ones([1, 6, 6, 16]) as tf.Tensor4D;
  const attrs = { strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, 16, 1] };
  const prof = await tf.profile(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs));
  // composed, it would run transposes and a depthwise conv: the SIMD kernel is a single one
  assert.deepEqual(prof.kernelNames, ['DepthwiseConv2dNativeBackpropFilter']);
  // a 3×3 'same' tap sees 5×6 of the 6×6 positions off-centre and 5×5 in the corners
  const dw = (prof.result as tf.Tensor).dataSync();
  assert.deepEqual([dw[0], dw[16], dw[4 * 16]], [25, 30, 36]);
  // the input gradient likewise: one kernel; a corner input pixel is reached by 4 taps, an inner one by 9
  const f = tf.ones([3, 3, 16, 1]);
  const inputAttrs = { strides: 1, pad: 'same', dilations: 1, inputShape: [1, 6, 6, 16] };
  const pin = await tf.profile(() =>
    tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, inputAttrs),
  );
  assert.deepEqual(pin.kernelNames, ['DepthwiseConv2dNativeBackpropInput']);
  const dx = (pin.result as tf.Tensor).dataSync();
  assert.deepEqual([dx[0], dx[(6 + 1) * 16]], [4, 9]);
  tf.dispose([x, dy, f, prof.result as tf.Tensor, pin.result as tf.Tensor]);
});

test('fused BatchNorm training (SIMD) equals tfjs-layers on cpu: outputs, dx through the batch statistics, dγ, dβ, moving averages', async () => {
  // one BN layer per backend, same weights; Σ y·r as the loss, so every output element has its own weight
  const runOn = async (backend: string, fused: boolean, shape: number[]) => {
    await tf.setBackend(backend);
    const c = shape.at(-1)!;
    const layer = tf.layers.batchNormalization({ momentum: 0.9 });
    layer.build(shape);
    layer.setWeights([
      tf.tensor(random([c], 1).values.map((v) => 1 + 0.2 * v)),
      tf.tensor(random([c], 2).values.map((v) => 0.2 * v)),
      tf.zeros([c]),
      tf.ones([c]),
    ]);
    const x = tf.tensor(
      random(shape, 3).values.map((v) => 0.5 + 2 * v),
      shape,
    );
    const r = tf.tensor(random(shape, 4).values, shape);
    const before = tf.memory().numTensors;
    const call = (xx: tf.Tensor) =>
      (fused ? fusedBatchNormCall(layer, xx) : undefined) ?? (layer.apply(xx, { training: true }) as tf.Tensor);
    const [gamma, beta] = [layer.weights[0]!.read() as tf.Variable, layer.weights[1]!.read() as tf.Variable];
    const out = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(call(x), r)) as tf.Scalar, [gamma, beta]);
      const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(call(xx), r)))(x);
      return [value, grads[gamma.name]!, grads[beta.name]!, dx].map((t) => Array.from(t.dataSync()));
    });
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
    // two training calls: the moving averages moved twice
    const stats = layer
      .getWeights()
      .slice(2)
      .map((t) => Array.from(t.dataSync()));
    tf.dispose([x, r]);
    return [...out, ...stats];
  };
  const names = ['loss', 'dγ', 'dβ', 'dx', 'moving mean', 'moving variance'];
  for (const shape of [
    [4, 5, 6, 21],
    [8, 32],
    [2, 33, 17, 48], // 1,122 rows: more than one 256-row block of partial sums
  ]) {
    const ref = await runOn('cpu', false, shape);
    const got = await runOn('wasm', true, shape);
    got.forEach((g, k) => {
      const scale = ref[k]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const err = g.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[k]![i]!)), 0) / scale;
      assert.ok(err <= 1e-5, `${JSON.stringify(shape)} ${names[k]}: relative error ${err}`);
    });
  }
  // the fused path really ran: its kernels, not tfjs' moments
  await tf.setBackend('wasm');
  const layer = tf.layers.batchNormalization();
  const x = tf.ones([2, 3, 3, 8]);
  layer.build(x.shape);
  const prof = await tf.profile(() => fusedBatchNormCall(layer, x));
  assert.ok(prof.kernelNames.includes('FreezeflowBatchNormNormalize'), prof.kernelNames.join(' '));
  assert.ok(!prof.kernelNames.includes('Mean'));
  tf.dispose([x, prof.result as tf.Tensor]);
});

test('fused BatchNorm training keeps dγ and dβ to float32 precision when |μ|/σ is 2000 (float64 reference)', async () => {
  // an unnormalised input: channels at 2000 ± 1. x − μ is exact in float32 for x near μ, so every error
  // left comes from how μ and the gradient sums are accumulated over 12,544 rows (49 blocks)
  await tf.setBackend('wasm');
  const [n, h, w, c] = [16, 28, 28, 4];
  const rows = n * h * w;
  const x = Float32Array.from(random([rows * c], 5).values, (v, i) => 2000 + (i % c) + 1.7 * v);
  const r = Float32Array.from(random([rows * c], 6).values);
  const layer = tf.layers.batchNormalization({ epsilon: 1e-3 });
  layer.build([n, h, w, c]);
  const xt = tf.tensor4d(x, [n, h, w, c]);
  const rt = tf.tensor4d(r, [n, h, w, c]);
  const [gamma, beta] = [layer.weights[0]!.read() as tf.Variable, layer.weights[1]!.read() as tf.Variable];
  const got = tf.tidy(() => {
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(fusedBatchNormCall(layer, xt)!, rt)) as tf.Scalar,
      [gamma, beta],
    );
    return [grads[gamma.name]!, grads[beta.name]!].map((t) => Array.from(t.dataSync()));
  });
  tf.dispose([xt, rt]);
  // float64 sums: μ (rounded to float32), biased σ², dγ = Σ r·x̂, dβ = Σ r
  for (let ch = 0; ch < c; ch++) {
    let mean = 0;
    for (let i = ch; i < x.length; i += c) mean += x[i]!;
    // the mean as float32 holds it (its half-ulp at 2000 is 3.5e-5 σ here: no float32 kernel can do better)
    mean = Math.fround(mean / rows);
    let variance = 0;
    for (let i = ch; i < x.length; i += c) variance += (x[i]! - mean) ** 2;
    variance /= rows;
    let dGamma = 0;
    let dBeta = 0;
    for (let i = ch; i < x.length; i += c) {
      dGamma += (r[i]! * (x[i]! - mean)) / Math.sqrt(variance + 1e-3);
      dBeta += r[i]!;
    }
    const errG = Math.abs(got[0]![ch]! - dGamma) / Math.abs(dGamma);
    const errB = Math.abs(got[1]![ch]! - dBeta) / Math.abs(dBeta);
    assert.ok(errG <= 2e-5, `channel ${ch}: dγ ${got[0]![ch]} vs ${dGamma}, relative error ${errG}`);
    assert.ok(errB <= 2e-5, `channel ${ch}: dβ relative error ${errB}`);
  }
});

test("freezeflow's SIMD conv filter gradient equals cpu: 1×1 and k×k (patches), strides, padding, leftover channels, many row chunks", async () => {
  const conv = (x: tf.Tensor4D, w: tf.Tensor4D, s: 1 | 2, p: 'same' | 'valid') => tf.conv2d(x, w, s, p);
  await compareConv(
    conv,
    [
      [[2, 6, 7, 5], [1, 1, 5, 3], 1, 'same'], // no full block: every channel pair on its own
      [[2, 9, 9, 12], [1, 1, 12, 20], 1, 'valid'], // 4×8 blocks, then 4 output and 0 input channels left
      [[1, 300, 1, 8], [1, 1, 8, 16], 1, 'same'], // 300 rows: three chunks of partial sums
      [[2, 9, 9, 4], [1, 1, 4, 6], 2, 'same'], // strided 1×1: patches
      [[2, 9, 9, 3], [3, 3, 3, 16], 2, 'same'], // an RGB stem: 27 patch columns padded to 28
      [[3, 10, 11, 5], [3, 3, 5, 7], 1, 'same'], // 45 columns, 7 outputs: scalar leftovers
      [[2, 12, 12, 1], [5, 3, 1, 8], 1, 'valid'], // 1 input channel, a 5×3 kernel
      [[4, 13, 13, 8], [3, 3, 8, 16], 1, 'same'], // 676 output pixels: six patch chunks
    ],
    70,
  );
  await tf.setBackend('wasm');
  // with 2+ wasm threads the k×k cases above (676 output pixels, 2+ images) were split over two threads
  if (wasmThreads > 1) assert.ok(simdHelper(tf.backend()), 'the second thread for the SIMD kernels runs');
  const x = tf.ones([2, 5, 5, 8]) as tf.Tensor4D;
  const dy = tf.ones([2, 5, 5, 16]) as tf.Tensor4D;
  const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, 8, 16] };
  const prof = await tf.profile(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs));
  assert.deepEqual(prof.kernelNames, ['Conv2DBackpropFilter'], 'one kernel: no transposes, no matrix product');
  assert.ok(Array.from((prof.result as tf.Tensor).dataSync()).every((v) => v === 50));
  tf.dispose([x, dy, prof.result as tf.Tensor]);
});

test('wasm conv2d input gradient (composed, or stock for strided RGB stems) equals cpu', async () => {
  await compareConv(
    (x, w, s, p) => tf.conv2d(x, w, s, p),
    [
      [[2, 9, 9, 8], [1, 1, 8, 12], 1, 'same'],
      [[2, 10, 11, 8], [3, 3, 8, 6], 2, 'same'],
      [[2, 8, 8, 9], [3, 3, 9, 4], 2, 'valid'],
      [[1, 7, 6, 10], [5, 3, 10, 3], 1, 'valid'],
      [[2, 12, 12, 3], [3, 3, 3, 5], 2, 'same'],
    ],
    40,
  );
});

test('wasm Tile: the broadcast fast path and the stock path equal cpu', async () => {
  for (const [shape, reps] of [
    [
      [1, 1, 1, 5],
      [2, 3, 4, 1],
    ],
    [
      [1, 6],
      [3, 1],
    ],
    [
      [2, 3],
      [2, 2],
    ],
    [
      [1, 3, 1],
      [2, 1, 3],
    ],
  ] as [number[], number[]][]) {
    const r = random(shape, 7);
    const on = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => Array.from(tf.tile(tf.tensor(r.values, r.shape), reps).dataSync()));
    };
    assert.deepEqual(await on('wasm'), await on('cpu'), JSON.stringify([shape, reps]));
  }
});

test('wasm UnsortedSegmentSum (the gradient of gather / embeddings) equals cpu', async () => {
  const ids = [3, 0, 3, 1, 4, 3];
  const r = random([6, 4], 99);
  await compare(
    'gather',
    (table) => tf.sum(tf.mul(tf.gather(table!, tf.tensor1d(ids, 'int32')), tf.tensor(r.values, r.shape))),
    [random([5, 4], 98)],
  );
});

test('wasm Sum and Mean over leading axes (BatchNorm and bias gradients) equal cpu; other axes use the stock kernel', async () => {
  for (const [shape, axis, keepDims] of [
    [[16, 5, 6, 7], [0, 1, 2], false],
    [[16, 5, 6, 7], [2, 0, 1], true],
    [[300, 9], 0, false],
    [[300, 9], -2, true],
    [[8, 40, 3], [0, 1], false],
    [[16, 5, 6, 7], [1, 2], false], // not leading: stock
    [[16, 5, 6, 7], [0, 1, 2, 3], false], // everything: stock
  ] as [number[], number | number[], boolean][]) {
    const r = random(shape, 21);
    const on = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor(r.values, r.shape);
        return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)].map((t) => ({
          shape: t.shape,
          values: Array.from(t.dataSync()),
        }));
      });
    };
    const [cpu, wasm] = [await on('cpu'), await on('wasm')];
    for (let k = 0; k < 2; k++) {
      const label = `${k ? 'mean' : 'sum'} ${JSON.stringify([shape, axis, keepDims])}`;
      assert.deepEqual(wasm[k]!.shape, cpu[k]!.shape, label);
      const err = Math.max(...wasm[k]!.values.map((v, i) => Math.abs(v - cpu[k]!.values[i]!)));
      assert.ok(err <= 1e-4 * Math.max(1, ...cpu[k]!.values.map(Math.abs)), `${label}: error ${err}`);
    }
  }
});

test('wasm BatchNorm (as a 1×1 depthwise conv) equals cpu: values and gradients, with and without γ/β', async () => {
  const positive = (r: { shape: number[]; values: number[] }) => ({
    ...r,
    values: r.values.map((v) => 0.2 + Math.abs(v)),
  });
  const shape = [3, 5, 4, 6];
  const w = random(shape, 31);
  const readout = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.tensor(w.values, w.shape))) as tf.Scalar;
  const withAffine = (...ts: tf.Tensor[]) => {
    const [x, mean, v, offset, scale] = ts as tf.Tensor4D[];
    return readout(tf.batchNorm(x!, mean!, v!, offset, scale, 1e-3));
  };
  const plain = (...ts: tf.Tensor[]) => {
    const [x, mean, v] = ts as tf.Tensor4D[];
    return readout(tf.batchNorm(x!, mean!, v!, undefined, undefined, 1e-3));
  };
  const perChannel = [random(shape, 33), random([6], 34), positive(random([6], 32)), random([6], 35), random([6], 36)];
  await compare('batchNorm with offset and scale', withAffine, perChannel);
  // without γ/β tfjs itself cannot differentiate batchNorm (on any backend); a full-shape mean takes the
  // stock kernel: compare the values
  for (const [label, f, inputs] of [
    ['with offset and scale', withAffine, perChannel],
    ['without offset and scale', plain, perChannel.slice(0, 3)],
    ['full-shape mean and variance', plain, [random(shape, 37), random(shape, 38), positive(random(shape, 39))]],
  ] as const) {
    const value = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => f(...inputs.map((i) => tf.tensor(i.values, i.shape))).dataSync()[0]!);
    };
    const [onCpu, onWasm] = [await value('cpu'), await value('wasm')];
    assert.ok(Math.abs(onWasm - onCpu) <= 1e-4 * Math.abs(onCpu), `${label}: Σ w·y ${onWasm} vs ${onCpu}`);
  }
});

/** `f` on cpu and on wasm from the same numbers: within 1e-6 of the output's scale. */
async function closeOnWasm(label: string, f: () => tf.Tensor) {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => f().dataSync().slice());
  };
  const want = await run('cpu');
  const err = relErr(await run('wasm'), want);
  assert.ok(err <= 1e-6, `${label}: relative error ${err}`);
}

/** A direct wasm kernel takes the case itself (it returns undefined for what it leaves to the stock one). */
function handles(kernel: DirectKernel, inputs: Record<string, tf.Tensor>, attrs: object) {
  const b = tf.backend() as unknown as { disposeData(id: object, force: boolean): void };
  const out = kernel({ inputs, backend: b, attrs: attrs as unknown as tf.NamedAttrMap });
  assert.ok(out, 'handled by the kernel');
  b.disposeData(out.dataId, true);
  tf.dispose(Object.values(inputs));
}

test("freezeflow's SIMD conv forward equals cpu: strides, padding, 1×1, channel tails, bias, relu and relu6; stems, dilations and other cases go to XNNPACK", async () => {
  const cases: [Shape4, Shape4, 1 | 2, 'same' | 'valid', string, boolean][] = [
    [[2, 9, 9, 16], [3, 3, 16, 24], 1, 'same', 'relu', true],
    [[3, 12, 11, 8], [3, 3, 8, 13], 2, 'same', 'linear', true], // asymmetric padding, 8 + 5 output channels
    [[2, 10, 10, 9], [5, 5, 9, 7], 2, 'valid', 'relu6', false],
    [[4, 16, 16, 8], [7, 7, 8, 16], 2, 'same', 'relu', false],
    [[2, 7, 7, 20], [1, 1, 20, 36], 1, 'valid', 'linear', true],
    [[5, 13, 13, 10], [3, 3, 10, 9], 1, 'same', 'linear', false], // 845 output pixels: both threads, chunk tails
  ];
  await tf.setBackend('wasm');
  let seed = 70;
  for (const [xs, fs, stride, pad, activation, withBias] of cases) {
    const [x, filter] = [random(xs, seed++), random(fs, seed++)];
    const bias = withBias ? random([fs[3]], seed++) : undefined;
    await closeOnWasm(JSON.stringify([xs, fs, stride, pad, activation]), () => {
      const [xt, ft] = [tf.tensor4d(x.values, xs), tf.tensor4d(filter.values, fs)];
      const bt = bias && tf.tensor1d(bias.values);
      return tf.fused.conv2d({ x: xt, filter: ft, strides: stride, pad, bias: bt, activation: activation as 'relu' });
    });
    // the kernel itself took the case (it returns undefined for what it leaves to XNNPACK)
    const attrs = { strides: stride, pad, dataFormat: 'NHWC', dilations: 1, activation };
    handles(simdConv2D, { x: tf.tensor4d(x.values, xs), filter: tf.tensor4d(filter.values, fs) }, attrs);
  }
  // what it leaves to XNNPACK: dilations, NCHW, other activations, PReLU weights, and where XNNPACK is faster
  const [x, f] = [tf.ones([1, 8, 8, 8]), tf.ones([3, 3, 8, 32])];
  const base = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'linear' };
  const leaves: [object, tf.Tensor, tf.Tensor][] = [
    [{ dilations: 2 }, x, f],
    [{ dataFormat: 'NCHW' }, x, f],
    [{ activation: 'sigmoid' }, x, f],
    [{ activation: 'prelu' }, x, f],
    [{}, tf.ones([1, 8, 8, 3]), tf.ones([3, 3, 3, 32])], // an RGB stem
    [{ strides: 2 }, x, tf.ones([1, 1, 8, 32])], // a strided 1×1
    [{}, x, tf.ones([1, 1, 8, 16])], // a narrow 1×1
  ];
  assert.ok(simdConv2D({ inputs: { x, filter: f }, backend: tf.backend(), attrs: base as unknown as tf.NamedAttrMap }));
  for (const [change, xi, fi] of leaves) {
    const attrs = { ...base, ...change } as unknown as tf.NamedAttrMap;
    const prelu = (change as { activation?: string }).activation === 'prelu';
    const inputs = prelu ? { x: xi, filter: fi, preluActivationWeights: fi } : { x: xi, filter: fi };
    assert.equal(simdConv2D({ inputs, backend: tf.backend(), attrs }), undefined, JSON.stringify([change, fi.shape]));
  }
  tf.dispose(leaves.flatMap(([, xi, fi]) => [xi, fi]));
});

test('wasm products with a transposed operand (dense gradients) equal cpu; plain and broadcast products stay with tfjs-wasm', async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[200, 24], [200, 40], true, false], // Aᵀ·B on the SIMD module (K ≥ 64)
    [[32, 70], [32, 9], true, false], // few rows: transposed first
    [[3, 100, 12], [3, 100, 17], true, false], // batched
    [[48, 36], [20, 36], false, true],
    [[2, 5, 30], [2, 7, 30], false, true],
    [[30, 6], [11, 30], true, true],
  ];
  let seed = 90;
  for (const [as, bs, ta, tb] of cases) {
    const [a, b] = [random(as, seed++), random(bs, seed++)];
    await closeOnWasm(JSON.stringify([as, bs, ta, tb]), () =>
      tf.matMul(tf.tensor(a.values, as), tf.tensor(b.values, bs), ta, tb),
    );
    handles(
      simdBatchMatMul,
      { a: tf.tensor(a.values, as), b: tf.tensor(b.values, bs) },
      { transposeA: ta, transposeB: tb },
    );
  }
  // no transposes, broadcast batches and int32 are tfjs-wasm's
  const leaves: [tf.Tensor, tf.Tensor, boolean][] = [
    [tf.ones([4, 5]), tf.ones([5, 6]), false],
    [tf.ones([2, 70, 4]), tf.ones([1, 70, 6]), true],
    [tf.ones([70, 4], 'int32'), tf.ones([70, 6], 'int32'), true],
  ];
  for (const [xa, xb, ta] of leaves) {
    const attrs = { transposeA: ta, transposeB: false } as unknown as tf.NamedAttrMap;
    assert.equal(simdBatchMatMul({ inputs: { a: xa, b: xb }, backend: tf.backend(), attrs }), undefined);
  }
  tf.dispose(leaves.flatMap(([xa, xb]) => [xa, xb]));
});

test('hard swish kernels (SIMD, and the heap loop without it) give the tf ops’ numbers bit for bit, forward and gradient', async () => {
  await tf.setBackend('wasm');
  // 179 values (a 3-value tail after the 4-wide blocks), the kinks at ±3 and their float neighbours
  const values = [...random([176], 21).values.map((v) => 3 * v), -3, 3, -3.0000002, 2.9999998, 6, -6, 0];
  const dyValues = random([values.length], 22).values;
  const ops = tf.tidy(() => {
    const [x, dy] = [tf.tensor(values), tf.tensor(dyValues)];
    const y = tf.mul(x, tf.clipByValue(tf.add(tf.mul(x, 1 / 6), 0.5), 0, 1));
    const d = tf.where(tf.less(x, -3), 0, tf.where(tf.greater(x, 3), 1, tf.add(tf.div(x, 3), 0.5)));
    return [y.dataSync().slice(), tf.mul(dy, d).dataSync().slice()];
  });
  for (const simd of [true, false]) {
    if (!simd) process.env['FREEZEFLOW_SIMD'] = '0';
    try {
      const got = tf.tidy(() => {
        const [x, dy] = [tf.tensor(values), tf.tensor(dyValues)];
        const y = tf.engine().runKernel(HARD_SWISH, { x }) as tf.Tensor;
        const dx = tf.engine().runKernel(HARD_SWISH_GRAD, { x, dy }) as tf.Tensor;
        return [y.dataSync().slice(), dx.dataSync().slice()];
      });
      assert.deepEqual(got[0], ops[0], `forward, ${simd ? 'SIMD' : 'heap'}`);
      assert.deepEqual(got[1], ops[1], `gradient, ${simd ? 'SIMD' : 'heap'}`);
    } finally {
      delete process.env['FREEZEFLOW_SIMD'];
    }
  }
});

/** MaxPoolGrad on wasm for `x` and `dy` (the SIMD kernel, or with FREEZEFLOW_SIMD=0 the heap one). */
async function maxPoolGradOn(
  simd: boolean,
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  size: number,
  stride: number,
  pad: string,
) {
  if (!simd) process.env['FREEZEFLOW_SIMD'] = '0';
  try {
    await tf.setBackend('wasm');
    const attrs = { filterSize: size, strides: stride, pad };
    const prof = await tf.profile(() => tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: x }, attrs));
    assert.deepEqual(prof.kernelNames, ['MaxPoolGrad'], 'one kernel, no composed ops');
    const out = prof.result as tf.Tensor;
    const values = out.dataSync().slice();
    out.dispose();
    return values;
  } finally {
    delete process.env['FREEZEFLOW_SIMD'];
  }
}

test('wasm MaxPoolGrad (SIMD and heap) equals cpu: overlapping windows, padding, channel tails, and ties go to the first maximum', async () => {
  const cases: [Shape4, number, number, 'same' | 'valid'][] = [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[2, 9, 7, 4], 3, 2, 'same'],
    [[1, 7, 7, 2], 3, 1, 'valid'],
    [[2, 9, 9, 5], 2, 2, 'valid'], // odd size: the last row and column get no gradient
    [[2, 11, 10, 13], 3, 2, 'same'], // 4 + 4 + 4 + 1 channels, overlapping windows
  ];
  for (const [shape, size, stride, pad] of cases) {
    const probe = tf.maxPool(tf.zeros(shape) as tf.Tensor4D, size, stride, pad);
    const weights = random(probe.shape, 5);
    probe.dispose();
    // whole numbers: many windows hold the same maximum twice, and only the first may get the gradient
    const x = random(shape, 6);
    x.values = x.values.map((v) => Math.round(v));
    const f = (t: tf.Tensor) =>
      tf.sum(
        tf.mul(tf.maxPool(t as tf.Tensor4D, size, stride, pad), tf.tensor(weights.values, weights.shape)),
      ) as tf.Scalar;
    const label = JSON.stringify([shape, size, stride, pad]);
    await compare(label, f, [x]);
    process.env['FREEZEFLOW_SIMD'] = '0';
    try {
      await compare(`${label}, heap kernel`, f, [x]);
    } finally {
      delete process.env['FREEZEFLOW_SIMD'];
    }
    // the two wasm kernels add into dx in the same order: the same bits
    await tf.setBackend('wasm');
    const [xt, dy] = [tf.tensor4d(x.values, shape), tf.tensor4d(weights.values, weights.shape as Shape4)];
    assert.deepEqual(
      await maxPoolGradOn(true, xt, dy, size, stride, pad),
      await maxPoolGradOn(false, xt, dy, size, stride, pad),
      label,
    );
    tf.dispose([xt, dy]);
  }
});

test('wasm MaxPoolGrad: a window of only -inf or NaN passes no gradient, in the SIMD and the heap kernel alike', async () => {
  await tf.setBackend('wasm');
  // 2×2 windows, stride 2, 5 channels (4 + 1): top left all -inf, top right all NaN, bottom left NaN and 3
  // (first 3 at row 2, column 1), bottom right -inf and 1 (first 1 at row 2, column 3)
  const rows = [
    [-Infinity, -Infinity, NaN, NaN],
    [-Infinity, -Infinity, NaN, NaN],
    [NaN, 3, -Infinity, 1],
    [3, NaN, 1, -Infinity],
  ];
  const x = tf.tensor4d(
    rows.flat().flatMap((e) => [e, e, e, e, e]),
    [1, 4, 4, 5],
  );
  const dy = tf.fill([1, 2, 2, 5], 2) as tf.Tensor4D;
  const simd = await maxPoolGradOn(true, x, dy, 2, 2, 'valid');
  assert.deepEqual(simd, await maxPoolGradOn(false, x, dy, 2, 2, 'valid'));
  for (let ch = 0; ch < 5; ch++) {
    const placed = Array.from({ length: 16 }, (_, i) => simd[i * 5 + ch]!);
    assert.deepEqual(
      placed.flatMap((g, i) => (g ? [[i, g]] : [])),
      [
        [9, 2],
        [11, 2],
      ],
      `channel ${ch}`,
    );
  }
  tf.dispose([x, dy]);
});

test('wasm Reverse (block copies) equals cpu on any axes, int32 too', async () => {
  for (const [shape, axes, dtype] of [
    [[3, 3, 4, 5], [0, 1], 'float32'],
    [[2, 3, 4], [1], 'float32'],
    [[2, 3, 4], [0, 2], 'float32'],
    [[2, 3, 4], [-1], 'int32'],
    [[7], [0], 'float32'],
    [[2, 3], [], 'float32'],
  ] as [number[], number[], 'float32' | 'int32'][]) {
    const r = random(shape, 50);
    const on = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => Array.from(tf.reverse(tf.tensor(r.values, shape, dtype), axes).dataSync()));
    };
    assert.deepEqual(await on('wasm'), await on('cpu'), JSON.stringify([shape, axes, dtype]));
  }
});

test('wasm Slice (block copies over the axes taken whole) equals cpu: crops, whole tensors, -1 sizes, int32', async () => {
  for (const [shape, begin, size, dtype] of [
    [[3, 7, 6, 5], [0, 0, 0, 0], [3, 6, 5, 5], 'float32'], // a ZeroPadding2D gradient
    [[3, 7, 6, 5], [1, 2, 1, 0], [2, 3, -1, 5], 'float32'],
    [[3, 7, 6, 5], [0, 1, 0, 2], [-1, 4, 6, 2], 'float32'],
    [[3, 7, 6, 5], [0, 0, 0, 0], [3, 7, 6, 5], 'float32'], // all of it: one run
    [[4, 9], [1, 3], [2, 4], 'int32'],
    [[11], [4], [5], 'float32'],
    [[2, 3, 4], [1, 0, 0], [1, 3, 4], 'int32'],
  ] as [number[], number[], number[], 'float32' | 'int32'][]) {
    const r = random(shape, 60);
    const on = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => Array.from(tf.slice(tf.tensor(r.values, shape, dtype), begin, size).dataSync()));
    };
    assert.deepEqual(await on('wasm'), await on('cpu'), JSON.stringify([shape, begin, size, dtype]));
  }
});

test('clipByValue gradient (one pass on wasm; ReLU6 layers use it) equals cpu, values on the bounds included', async () => {
  const shape = [2, 6, 5, 4];
  const w = random(shape, 61);
  for (const [lo, hi] of [
    [0, 6],
    [-1, 2],
  ] as const) {
    const x = random(shape, 60);
    // some values exactly on each bound: the gradient passes there (min ≤ x ≤ max)
    x.values = x.values.map((v, i) => (i % 7 === 0 ? lo : i % 11 === 0 ? hi : v * 4));
    await compare(
      `clipByValue(${lo}, ${hi})`,
      (t) => tf.sum(tf.mul(tf.clipByValue(t!, lo, hi), tf.tensor(w.values, w.shape))) as tf.Scalar,
      [x],
    );
  }
});

test('wasm Identity (and a cast to the same dtype) shares data without a copy, and disposing either side leaves the other intact', async () => {
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const a = tf.tensor([1, 2, 3]);
  const dataIds = () => tf.engine().backend.numDataIds();
  const ids = dataIds();
  const b = tf.clone(a); // runs the Identity kernel
  assert.equal(dataIds(), ids, 'no second buffer');
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
  const c = tf.clone(b);
  b.dispose();
  assert.deepEqual(Array.from(tf.tidy(() => tf.add(c, 1).dataSync())), [2, 3, 4]);
  c.dispose();
  assert.equal(dataIds(), ids - 1, 'the buffer is freed with its last tensor');
  // a cast to the same dtype likewise; a real conversion is a new buffer
  const d = tf.tensor([1.5, -2.5]);
  const same = tf.cast(d, 'float32');
  assert.equal(dataIds(), ids, 'no second buffer for a float32 → float32 cast');
  d.dispose();
  assert.deepEqual(Array.from(same.dataSync()), [1.5, -2.5]);
  const ints = tf.cast(same, 'int32');
  assert.deepEqual([ints.dtype, Array.from(ints.dataSync()), dataIds()], ['int32', [1, -2], ids + 1]);
  tf.dispose([same, ints]);
  // strings are not on the heap: the stock kernel copies them
  assert.deepEqual(
    tf.tidy(() => tf.clone(tf.tensor(['a', 'b'])).dataSync()),
    ['a', 'b'],
  );
  assert.equal(tf.memory().numTensors, before);
});

const SHARED = join(ROOT, '../shared/models/tm-nail-biting/model.json');

test(
  'the real MobileNetV2 (../shared/models) fine-tunes its last block on wasm: depthwise layers get gradients',
  { skip: !existsSync(SHARED) && 'shared model not present' },
  async () => {
    await tf.setBackend('wasm');
    const model = attachHead(
      cutModel(await loadModel(SHARED)),
      [{ dense: { units: 'auto', activation: 'softmax' } }],
      2,
    );
    const plan = buildPlan(
      parseSchedule(`model: { source: x }
data: { source: y, batchSize: 4, shuffle: false }
stages:
  - { name: last, epochs: 1, unfreeze: ['block_16*'], lr: 0.001 }
`).schedule,
      't',
    );
    const layers = listLayers(model);
    const n = 8;
    const x = Float32Array.from({ length: n * 224 * 224 * 3 }, (_, i) => Math.sin(i * 0.001) * 0.9);
    const data = memorySource({
      classes: ['a', 'b'],
      x,
      y: Int32Array.from({ length: n }, (_, i) => i % 2),
      shape: [224, 224, 3],
    });
    const dw = layers.find((l) => l.path.endsWith('block_16_depthwise'))!;
    const before = Array.from(dw.layer.getWeights()[0]!.dataSync());
    const { events } = await runAndCollect(plan, model, data, data);
    const rep = events.find((e) => e.type === 'gradient-report');
    assert.ok(rep?.type === 'gradient-report');
    assert.deepEqual(rep.warnings, []);
    assert.ok(
      rep.layers.some((l) => l.path === dw.path && l.norm > 0),
      'depthwise layer received a gradient',
    );
    assert.notDeepEqual(Array.from(dw.layer.getWeights()[0]!.dataSync()), before, 'depthwise kernel trained');
    assert.equal(events.filter((e) => e.type === 'warning').length, 0, 'frozen layers unchanged');
  },
);

test('the wasm kernel table: each row registers in front of what it declares (wasm, an earlier row, or nothing), in table order', async () => {
  const { WASM_KERNELS, registrations } = await import('../src/backend/kernel-table.js');
  const found = registrations();
  assert.equal(found.length, WASM_KERNELS.flatMap((e) => e.kernels).length, 'every kernel of every row registered');
  for (const r of found) {
    const row = WASM_KERNELS[r.row]!;
    assert.equal(r.found, row.over, `row ${r.row} (${r.kernel}, ${row.impl}) declares over: ${row.over}`);
  }
  // precedence: a SIMD row that backs onto a composed one comes after it, and each kernel's last row is live
  for (const [i, row] of WASM_KERNELS.entries())
    if (row.over === 'composed')
      for (const k of row.kernels)
        assert.ok(
          WASM_KERNELS.slice(0, i).some((e) => e.kernels.includes(k)),
          `${k}: its composed fallback registers earlier`,
        );
  for (const k of new Set(found.map((r) => r.kernel)))
    if (!WASM_KERNELS.some((e) => e.impl === 'gradient' && e.kernels.includes(k)))
      assert.ok(tf.getKernel(k, 'wasm'), k);
});

test('the kernel profile keeps each kernel’s own time apart from the kernels it calls, and puts the kernels back', async () => {
  const { profileWasmKernels, kernelCategory } = await import('../src/backend/kernel-profile.js');
  await tf.setBackend('wasm');
  const before = tf.getKernel('Sum', 'wasm')!.kernelFunc;
  const x = tf.randomNormal([128, 32, 32, 32]); // big enough that the inner product takes milliseconds
  const prof = profileWasmKernels();
  const t0 = performance.now();
  // a leading-axis sum is a composed kernel: it runs a matrix product (XNNPACK) inside
  tf.tidy(() => tf.sum(x, [0, 1, 2]).dataSync());
  const wall = performance.now() - t0;
  const times = prof.read();
  prof.stop();
  x.dispose();
  assert.equal(times.get('Sum')?.calls, 1);
  // the product inside (ours with the relaxed build, else tfjs-wasm's)
  const product = times.get('BatchMatMul') ?? times.get('BatchMatMul (stock)');
  assert.ok((product?.calls ?? 0) >= 1, 'the product inside the composed Sum is timed as its own');
  assert.ok(product!.ms > 0.5, `the inner product takes time: ${product!.ms} ms`);
  const own = [...times.values()].reduce((a, t) => a + t.ms, 0);
  assert.ok(own <= wall + 0.05, `own times add up to no more than the wall clock: ${own} vs ${wall}`);
  assert.equal(tf.getKernel('Sum', 'wasm')!.kernelFunc, before, 'stop() restores the registered kernel');
  assert.deepEqual(['Sum', 'BatchMatMul (stock)', 'Conv2DBackpropFilter', 'Identity', 'Exp'].map(kernelCategory), [
    'freezeflow composed',
    'XNNPACK',
    'freezeflow simd',
    'freezeflow heap',
    'other tfjs',
  ]);
  // a conv our kernel takes, and an RGB stem it hands to XNNPACK: each counted where it ran
  const convs = profileWasmKernels();
  tf.tidy(() => {
    tf.conv2d(tf.ones([1, 8, 8, 16]) as tf.Tensor4D, tf.ones([3, 3, 16, 32]) as tf.Tensor4D, 1, 'same').dataSync();
    tf.conv2d(tf.ones([1, 8, 8, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 32]) as tf.Tensor4D, 1, 'same').dataSync();
  });
  const ran = convs.read();
  convs.stop();
  assert.deepEqual([ran.get('Conv2D')?.calls, ran.get('Conv2D (stock)')?.calls], [1, 1]);
  assert.deepEqual(['Conv2D', 'Conv2D (stock)', 'MaxPoolGrad (stock)'].map(kernelCategory), [
    'freezeflow simd',
    'XNNPACK',
    'other tfjs',
  ]);
});
