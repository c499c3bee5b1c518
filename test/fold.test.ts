// BatchNorm folding: the folded model computes what the original computes in inference mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';
import { foldBatchNorm } from '../src/model/fold.js';
import { buildResnetMini } from '../src/model/resnet-mini.js';

await tf.setBackend('cpu');

/** Moving statistics, γ and β far from their initial 0/1, so that a wrong fold shows. */
function randomiseBatchNorm(model: tf.LayersModel, seed: number): void {
  const visit = (m: tf.LayersModel) => {
    for (const l of m.layers) {
      if (l instanceof tf.LayersModel) visit(l);
      else if (l.getClassName() === 'BatchNormalization')
        l.setWeights(
          l.weights.map((w, i) =>
            w.originalName.endsWith('moving_variance')
              ? tf.randomUniform(w.shape as number[], 0.3, 3, 'float32', seed + i)
              : tf.randomNormal(w.shape as number[], 0.2, 0.7, 'float32', seed + i),
          ),
        );
    }
  };
  visit(model);
}

function assertSameOutputs(a: tf.LayersModel, b: tf.LayersModel, inputShape: number[]): void {
  tf.tidy(() => {
    const x = tf.randomNormal(inputShape, 0, 1, 'float32', 3);
    const [p, q] = [a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor];
    assert.deepEqual(q.shape, p.shape);
    const err = tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]! / tf.max(tf.abs(p)).dataSync()[0]!;
    assert.ok(err < 1e-5, `relative difference ${err}`);
  });
}

test('resnet-mini: all nine conv → BatchNorm pairs fold; same outputs; disposing frees only the folded convs', () => {
  const model = buildResnetMini(5);
  randomiseBatchNorm(model, 10);
  const before = tf.memory().numTensors;
  const f = foldBatchNorm(model);
  assert.equal(f.folded, 9);
  const classes = f.model.layers.map((l) => l.getClassName());
  assert.ok(!classes.includes('BatchNormalization'), 'no BatchNorm left');
  // stem_relu, layerN_relu1 fused into their convs; the post-add ReLUs stay
  assert.equal(classes.filter((c) => c === 'ReLU').length, 3);
  assertSameOutputs(model, f.model, [4, 28, 28, 1]);
  f.dispose();
  assert.equal(tf.memory().numTensors, before);
  // the original still works (its weights were shared, not taken)
  tf.tidy(() => assert.ok(Number.isFinite(tf.sum(model.predict(tf.ones([1, 28, 28, 1])) as tf.Tensor).dataSync()[0])));
});

test('depthwise convs with a channel multiplier, a conv bias, ReLU6 and a model nested in Sequentials', () => {
  const input = tf.input({ shape: [9, 9, 3] });
  let x = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6, name: 'relu6' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, useBias: false, strides: 2, name: 'dw' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn2', center: false }).apply(x) as tf.SymbolicTensor;
  const branch = tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'c2', useBias: false }).apply(x);
  // c2's output feeds BatchNorm and also the model output: it must not be folded
  const bn3 = tf.layers.batchNormalization({ name: 'bn3' }).apply(branch) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'sum' }).apply([bn3, branch as tf.SymbolicTensor]) as tf.SymbolicTensor;
  const base = tf.model({ inputs: input, outputs: sum, name: 'base' });
  const outer = tf.sequential({
    name: 'outer',
    layers: [base, tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 3, name: 'fc' })],
  });
  randomiseBatchNorm(outer, 40);
  const f = foldBatchNorm(outer);
  assert.equal(f.folded, 2, 'c1+bn1 and dw+bn2; c2 has two consumers');
  assertSameOutputs(outer, f.model, [2, 9, 9, 3]);
  f.dispose();
});

test('a model without BatchNorm comes back as it is', () => {
  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
  const f = foldBatchNorm(m);
  assert.equal(f.folded, 0);
  assert.equal(f.model, m);
});
