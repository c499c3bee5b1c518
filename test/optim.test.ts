// Optimizers, lr changes and weight decay through the real runner, against a plain-JavaScript reference
// (float64, hand-written softmax-regression gradients; no tfjs), and reduceOnPlateau at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';
import { initBackend } from '../src/backend/index.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan } from '../src/schedule/plan.js';
import { attachHead } from '../src/model/surgery.js';
import { memorySource, type Dataset } from '../src/data/dataset.js';
import { runAndCollect } from './helpers.js';

await initBackend('cpu');

const F = 4; // features
const C = 3; // classes
const N = 8; // samples; batch 4 → 2 steps an epoch
const data: Dataset = {
  classes: ['a', 'b', 'c'],
  x: Float32Array.from({ length: N * F }, (_, i) => Math.sin(i * 1.7) * 2),
  y: Int32Array.from({ length: N }, (_, i) => i % C),
  shape: [F],
};
const W0 = Array.from({ length: F * C }, (_, i) => Math.cos(i * 0.9) * 0.3);
const B0 = [0.05, -0.02, 0.01];

/** A dense softmax head on a weightless body, with fixed initial weights. */
function model(): tf.LayersModel {
  const inp = tf.input({ shape: [F] });
  const body = tf.model({
    inputs: inp,
    outputs: tf.layers.activation({ activation: 'linear' }).apply(inp) as tf.SymbolicTensor,
  });
  const m = attachHead(body, [{ dense: { units: 'auto', activation: 'softmax' } }], C);
  denseOf(m).setWeights([tf.tensor2d(W0, [F, C]), tf.tensor1d(B0)]);
  return m;
}

const denseOf = (m: tf.LayersModel) =>
  (m.getLayer('head') as tf.LayersModel).layers.find((l) => l.getClassName() === 'Dense')!;

/** Mean cross-entropy gradients of softmax(xW + b) over one batch (float64). */
function grads(w: number[], b: number[], rows: number[]): { gw: number[]; gb: number[] } {
  const gw = new Array<number>(F * C).fill(0);
  const gb = new Array<number>(C).fill(0);
  for (const r of rows) {
    const x = Array.from({ length: F }, (_, f) => data.x[r * F + f]!);
    const z = Array.from({ length: C }, (_, c) => b[c]! + x.reduce((s, v, f) => s + v * w[f * C + c]!, 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const p = e.map((v) => v / e.reduce((a, q) => a + q, 0));
    for (let c = 0; c < C; c++) {
      const d = (p[c]! - (data.y[r] === c ? 1 : 0)) / rows.length;
      gb[c]! += d;
      for (let f = 0; f < F; f++) gw[f * C + c]! += d * x[f]!;
    }
  }
  return { gw, gb };
}

type Update = (params: number[][], g: number[][], lr: number, state: number[][][]) => void;

/** The reference loop: 2 epochs, no shuffle, lr per batch from `lrAt(step)`. */
function reference(update: Update, lrAt: (step: number) => number): number[] {
  const params = [[...W0], [...B0]];
  const state: number[][][] = [];
  let step = 0;
  for (let epoch = 0; epoch < 2; epoch++)
    for (const rows of [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]) {
      const { gw, gb } = grads(params[0]!, params[1]!, rows);
      update(params, [gw, gb], lrAt(step++), state);
    }
  return params[0]!;
}

/** A one-stage plan on the test data (batch 4, no shuffle, no cache). */
const planOf = (stage: string) =>
  buildPlan(
    parseSchedule(`model: { source: x }
data: { source: y, batchSize: 4, shuffle: false }
training: { cacheFeatures: false }
stages:
  - ${stage}
`).schedule,
    't',
  );

async function freezeflow(stage: string): Promise<number[]> {
  const m = model();
  await runAndCollect(planOf(stage), m, memorySource(data), memorySource(data));
  const w = Array.from(await denseOf(m).getWeights()[0]!.data());
  m.dispose();
  return w;
}

function close(a: number[], b: number[], what: string): void {
  const err = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  assert.ok(err < 1e-5, `${what}: max |Δw| ${err}`);
  assert.ok(Math.max(...a.map((v, i) => Math.abs(v - W0[i]!))) > 1e-3, `${what}: the weights moved`);
}

// step scheduler per batch: 0.1, 0.05, 0.025, 0.0125
const halving = (step: number) => 0.1 * 0.5 ** step;
const STEP = 'scheduler: { type: step, stepSize: 1, gamma: 0.5, stepPer: batch }';

test('SGD with momentum and an lr that changes every batch matches the reference', async () => {
  const ref = reference((p, g, lr, st) => {
    p.forEach((ps, k) => {
      st[0] ??= p.map((q) => q.map(() => 0));
      ps.forEach((_, i) => {
        // tfjs momentum: v ← m·v + g; w ← w − lr·v
        st[0]![k]![i] = 0.9 * st[0]![k]![i]! + g[k]![i]!;
        ps[i]! -= lr * st[0]![k]![i]!;
      });
    });
  }, halving);
  close(
    await freezeflow(`{ name: s, epochs: 2, optimizer: { type: sgd, momentum: 0.9 }, lr: 0.1, ${STEP} }`),
    ref,
    'sgd',
  );
});

test('RMSprop with a changing lr matches the reference', async () => {
  const ref = reference((p, g, lr, st) => {
    st[0] ??= p.map((q) => q.map(() => 0));
    p.forEach((ps, k) =>
      ps.forEach((_, i) => {
        st[0]![k]![i] = 0.9 * st[0]![k]![i]! + 0.1 * g[k]![i]! ** 2;
        ps[i]! -= (lr * g[k]![i]!) / Math.sqrt(st[0]![k]![i]! + 1e-7);
      }),
    );
  }, halving);
  close(await freezeflow(`{ name: s, epochs: 2, optimizer: rmsprop, lr: 0.1, ${STEP} }`), ref, 'rmsprop');
});

test('L2 decay goes through momentum as wd·w in the gradient; decoupled decay shrinks w by lr·wd first; biases are not decayed', async () => {
  // (with plain SGD the two are the same map; momentum tells them apart)
  const wd = 0.5;
  const sgd =
    (decoupled: boolean): Update =>
    (p, g, lr, st) => {
      st[0] ??= p.map((q) => q.map(() => 0));
      p.forEach((ps, k) =>
        ps.forEach((w, i) => {
          const decayed = k === 0; // the kernel, not the bias
          const grad = g[k]![i]! + (!decoupled && decayed ? wd * w : 0);
          st[0]![k]![i] = 0.9 * st[0]![k]![i]! + grad;
          ps[i] = (decoupled && decayed ? w * (1 - lr * wd) : w) - lr * st[0]![k]![i]!;
        }),
      );
    };
  const l2 = reference(sgd(false), halving);
  const dec = reference(sgd(true), halving);
  const opt = `optimizer: { type: sgd, momentum: 0.9 }, lr: 0.1, weightDecay: ${wd}, ${STEP}`;
  close(await freezeflow(`{ name: s, epochs: 2, ${opt}, weightDecayMode: l2 }`), l2, 'l2');
  close(await freezeflow(`{ name: s, epochs: 2, ${opt}, weightDecayMode: decoupled }`), dec, 'decoupled');
  assert.ok(Math.max(...l2.map((v, i) => Math.abs(v - dec[i]!))) > 1e-4, 'the two modes differ');
});

test('reduceOnPlateau at run time: the lr falls by factor after patience+1 epochs without improvement', async () => {
  const m = model();
  // an lr too small to move val loss in float32: every epoch after the first is stale
  const plan = planOf(
    '{ name: s, epochs: 5, optimizer: sgd, lr: 1.0e-12, scheduler: { type: reduceOnPlateau, patience: 1, factor: 0.5 } }',
  );
  const r = await runAndCollect(plan, m, memorySource(data), memorySource(data));
  const lrs = r.events.flatMap((e) => (e.type === 'epoch-end' ? [e.lr / 1e-12] : []));
  // epoch 1 sets the best; epochs 2 and 3 are stale (patience 1 + 1) → the cut applies from epoch 4
  assert.deepEqual(
    lrs.map((v) => +v.toFixed(6)),
    [1, 1, 1, 0.5, 0.5],
  );
  m.dispose();
});
