// Convolutions before any weight of the model (a stem on the images) train without the input gradient
// tfjs' fused conv always computes: same outputs and weight gradients, one conv input gradient fewer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';
import { initBackend } from '../src/backend/index.js';
import { listLayers } from '../src/model/layers.js';
import { leadingConvs, unfuseInTraining } from '../src/train/first-conv.js';

await initBackend('wasm', { threads: 1 });

function model(): tf.LayersModel {
  const input = tf.input({ shape: [9, 9, 3] });
  const layers = [
    tf.layers.zeroPadding2d({ padding: 1 }),
    tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, useBias: true, kernelInitializer: 'glorotUniform' }),
    tf.layers.reLU({ maxValue: 6 }),
    tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', kernelInitializer: 'glorotUniform' }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 3, kernelInitializer: 'glorotUniform' }),
  ];
  let x = input as tf.SymbolicTensor;
  for (const l of layers) x = l.apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

test('a stem conv trains as conv2d + bias: same loss and gradients, its input gradient skipped', async () => {
  const a = model();
  const b = model();
  b.setWeights(a.getWeights());
  const stems = leadingConvs(listLayers(b));
  assert.deepEqual(
    stems.map((l) => l.name),
    [b.layers[2]!.name],
    'only the conv before the first weights',
  );
  for (const l of stems) unfuseInTraining(l, () => true);
  const x = tf.randomNormal([4, 9, 9, 3], 0, 1, 'float32', 1);
  const r = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
  const step = (m: tf.LayersModel) => {
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
    return [value, ...vars.map((v) => grads[v.name]!)].map((t) => Array.from(t.dataSync()));
  };
  const ref = step(a);
  const got = step(b);
  got.forEach((g, k) =>
    g.forEach((v, i) => assert.ok(Math.abs(v - ref[k]![i]!) <= 1e-6 * (1 + Math.abs(ref[k]![i]!)), `tensor ${k}`)),
  );
  const inputGrads = async (m: tf.LayersModel) =>
    (await tf.profile(() => step(m))).kernels.filter((k) => k.name === 'Conv2DBackpropInput').length;
  assert.equal(await inputGrads(a), 2);
  assert.equal(await inputGrads(b), 1, "the stem's input gradient is not computed");
  tf.dispose([x, r]);
});
