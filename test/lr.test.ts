import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrAt, sparkline, type NormalizedScheduler } from '../src/schedule/lr.js';

const close = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b), `${msg ?? ''} ${a} != ${b}`);
const curve = (s: NormalizedScheduler, lr: number, total: number) =>
  Array.from({ length: total }, (_, t) => lrAt(s, lr, t, total));

test('constant and warm-up', () => {
  assert.deepEqual(curve({ type: 'constant', warmup: 0, stepPer: 'epoch' }, 0.1, 3), [0.1, 0.1, 0.1]);
  // warm-up 4: 0.1·1/4, 0.1·2/4, 0.1·3/4, then 0.1
  const c = curve({ type: 'constant', warmup: 4, stepPer: 'batch' }, 0.1, 6);
  [0.025, 0.05, 0.075, 0.1, 0.1, 0.1].forEach((v, i) => close(c[i]!, v, `t=${i}`));
});

test('step and exponential', () => {
  const s = curve({ type: 'step', stepSize: 2, gamma: 0.5, warmup: 0, stepPer: 'epoch' }, 1, 5);
  assert.deepEqual(s, [1, 1, 0.5, 0.5, 0.25]);
  const e = curve({ type: 'exponential', gamma: 0.9, warmup: 0, stepPer: 'epoch' }, 2, 3);
  [2, 1.8, 1.62].forEach((v, i) => close(e[i]!, v));
});

test('cosine goes from lr at the first step to minLr at the last', () => {
  // 5 steps: pct 0, .25, .5, .75, 1 → min + (max-min)(1+cos(π·pct))/2
  const c = curve({ type: 'cosine', minLr: 0.1, warmup: 0, stepPer: 'epoch' }, 1.1, 5);
  const hand = [1.1, 0.1 + 0.5 * (1 + Math.SQRT1_2), 0.6, 0.1 + 0.5 * (1 - Math.SQRT1_2), 0.1];
  hand.forEach((v, i) => close(c[i]!, v, `t=${i}`));
  // with warm-up 2 the cosine runs over the remaining 3 steps
  const w = curve({ type: 'cosine', minLr: 0, warmup: 2, stepPer: 'epoch' }, 1, 5);
  [0.5, 1, 1, 0.5, 0].forEach((v, i) => close(w[i]!, v, `warm t=${i}`));
});

test('onecycle matches PyTorch OneCycleLR (cos annealing)', () => {
  // total 10, pct 0.3: up phase ends at step 2; initial = 1/25 = 0.04; min = 0.04/1e4
  const s: NormalizedScheduler = {
    type: 'onecycle',
    pctStart: 0.3,
    divFactor: 25,
    finalDivFactor: 1e4,
    warmup: 0,
    stepPer: 'batch',
  };
  const c = curve(s, 1, 10);
  close(c[0]!, 0.04);
  close(c[1]!, 1 + ((0.04 - 1) / 2) * (1 + Math.cos(Math.PI * 0.5)));
  close(c[2]!, 1);
  close(c[9]!, 4e-6);
  close(c[5]!, 4e-6 + ((1 - 4e-6) / 2) * (1 + Math.cos((Math.PI * 3) / 7)));
});

test('reduceOnPlateau sketches as its base lr', () => {
  assert.deepEqual(
    curve({ type: 'reduceOnPlateau', factor: 0.1, patience: 2, minLr: 0, warmup: 0, stepPer: 'epoch' }, 0.01, 2),
    [0.01, 0.01],
  );
});

test('sparkline is log-scaled and flat for constants', () => {
  assert.equal(sparkline([1, 1, 1]), '███');
  assert.equal(sparkline([1, 0.1, 0.01]), '█▅▁');
});
