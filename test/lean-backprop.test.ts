// The backward pass that lets go as it goes (src/backend/lean-backprop.ts) against tfjs' own: the same
// gradients bit for bit, a lower peak of live tensor bytes, nothing leaked, and the cases where a
// gradient must outlive its node (the caller's dy, a dy handed on as it is, nested gradients).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';

process.env['FREEZEFLOW_LEAN_BACKPROP'] = '0'; // tfjs' own first, to compare; installed by hand below
const { initBackend } = await import('../src/backend/index.js');
const { installLeanBackprop } = await import('../src/backend/lean-backprop.js');
await initBackend('wasm', { threads: 1 });

/** tf.customGrad over plain tensor arguments. */
const custom = <A extends tf.Tensor[]>(
  f: (...a: A) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor) => tf.Tensor | tf.Tensor[] },
) => tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...a: A) => tf.Tensor;

/** Live tensor bytes when the backward pass reaches `x`'s gradient (a probe on the path). */
const probe = (bytes: number[]) =>
  custom((x: tf.Tensor) => ({
    value: tf.clone(x),
    gradFunc: (dy: tf.Tensor) => {
      bytes.push(tf.memory().numBytes);
      return dy;
    },
  }));

/** A small conv net (BatchNorm, a residual add, ReLU, a split, swish by customGrad) and its loss. */
function net(seed: number) {
  const w = (shape: number[], s: number) => tf.variable(tf.randomNormal(shape, 0, 0.3, 'float32', seed + s));
  const vars = { c1: w([3, 3, 3, 8], 1), c2: w([3, 3, 8, 8], 2), g: w([8], 3), d: w([8 * 8 * 8, 3], 4) };
  const x = tf.randomNormal([4, 16, 16, 3], 0, 1, 'float32', seed + 5);
  // swish with its input saved for the backward pass, as tfjs-layers' own custom gradients save theirs
  const swish = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([t]);
    const gradFunc = (dy: tf.Tensor, [u]: tf.Tensor[]) => {
      const s = tf.sigmoid(u!);
      return tf.mul(dy, tf.add(s, tf.mul(u!, tf.mul(s, tf.sub(1, s)))));
    };
    return { value: tf.mul(t, tf.sigmoid(t)), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const loss = (bytes: number[]) => () => {
    const a = tf.relu(tf.conv2d(x as tf.Tensor4D, vars.c1 as tf.Tensor4D, 1, 'same'));
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    const n = tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-3))), vars.g);
    const b = tf.add(probe(bytes)(n), tf.conv2d(n as tf.Tensor4D, vars.c2 as tf.Tensor4D, 1, 'same'));
    const [p, q] = tf.split(swish(b), 2, 3);
    const pooled = tf.maxPool(tf.concat([q!, p!], 3) as tf.Tensor4D, 2, 2, 'valid');
    return tf.sum(tf.square(tf.matMul(tf.reshape(pooled, [4, -1]), vars.d))) as tf.Scalar;
  };
  return { vars: Object.values(vars), loss, dispose: () => tf.dispose([x, ...Object.values(vars)]) };
}

function gradsOf(seed: number) {
  const bytes: number[] = [];
  const m = net(seed);
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(m.loss(bytes), m.vars as tf.Variable[]);
  const out = [value, ...Object.values(grads)].map((t) => Array.from(t.dataSync()));
  tf.dispose([value, ...Object.values(grads)]);
  const leaked = tf.memory().numTensors - before;
  m.dispose();
  return { out, peak: bytes[0]!, leaked };
}

const original = tf.engine().gradients.bind(tf.engine());
const stock = gradsOf(7);
installLeanBackprop();
const lean = gradsOf(7);

test('the same loss and gradients as tfjs, bit for bit, and nothing left behind', () => {
  assert.equal(lean.out.length, 5);
  lean.out.forEach((g, k) => assert.deepEqual(g, stock.out[k], `tensor ${k}`));
  assert.equal(stock.leaked, 0);
  assert.equal(lean.leaked, 0);
});

test('fewer live bytes when the backward pass is half way: the spent gradients and saved tensors are gone', () => {
  assert.ok(lean.peak < 0.8 * stock.peak, `${lean.peak} vs tfjs' ${stock.peak} bytes`);
  assert.notEqual(tf.engine().gradients, original, 'installed');
});

test("the caller's dy, a dy handed on as it is to two inputs, and a gradient of a gradient", () => {
  const x = tf.tensor1d([1, 2, 3]);
  const dy = tf.tensor1d([1, -1, 2]);
  const g = tf.grad((t: tf.Tensor) => tf.mul(t, t))(x, dy);
  assert.deepEqual(Array.from(g.dataSync()), [2, -4, 12]);
  assert.equal(dy.isDisposed, false, "the caller's dy is the caller's");
  // a gradient function returning its dy for both inputs: the same tensor is two inputs' gradient
  const both = custom((a: tf.Tensor, b: tf.Tensor) => ({ value: tf.add(a, b), gradFunc: (d: tf.Tensor) => [d, d] }));
  const [ga, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.exp(both(tf.neg(a), tf.neg(b)))))([x, dy]);
  // d/da and d/db of Σ exp(−a − b) are both −exp(−a − b): here a + b = [2, 1, 5]
  const expected = [2, 1, 5].map((v) => -Math.exp(-v));
  for (const got of [ga!, gb!])
    Array.from(got.dataSync()).forEach((v, i) =>
      assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${v} vs ${expected[i]}`),
    );
  const second = tf.grad((t: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.pow(u, 3)))(t)))(x);
  assert.deepEqual(Array.from(second.dataSync()), [6, 12, 18], 'd²/dx² of x³ summed');
  tf.dispose([x, dy, g, ga!, gb!, second]);
});
