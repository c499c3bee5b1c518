// Nothing lost: a real run killed with SIGKILL at every kind of point (inside an epoch, inside each step
// of a checkpoint write, at a stage boundary, after an unfreeze that keeps optimizer state, before any
// checkpoint) or stopped with SIGTERM part-way through an epoch, then resumed, ends bit-identical to the
// run that was never interrupted: same weights, one metrics row per epoch, no leftovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../src/tf.js';
import { cli, interruptWhen, tempDir, writeSchedule } from './helpers.js';

// a dropout head (random masks), two stages, the second keeping the head's Adam state
const SCHEDULE = `model:
  source: builtin:resnet-mini
  head:
    - dense: { units: 16, activation: relu }
    - dropout: { rate: 0.3 }
    - dense: { units: auto, activation: softmax }
data: { source: builtin:mnist-5-9, samples: 64, batchSize: 16, validation: { split: 0.02 } }
stages:
  - { name: head, epochs: 2, lr: 3.0e-3 }
  - { name: last, epochs: 2, unfreeze: ['layer3*'], lr: 1.0e-3, keepOptimizerState: true }
`;
const dir = tempDir('ff-crash-');
const file = writeSchedule(dir, SCHEDULE);
const train = (args: string[], env: Record<string, string> = {}) =>
  cli(['train', '--quiet', '--backend', 'wasm', '--threads', '1', ...args], { env });

const reference = join(dir, 'reference');
const ref = train(['-s', file, '--out', reference]);
const refWeights = readFileSync(join(reference, 'model/weights.bin'));

function assertWholeRun(out: string, what: string): void {
  assert.ok(readFileSync(join(out, 'model/weights.bin')).equals(refWeights), `${what}: weights bit-identical`);
  const epochs = readFileSync(join(out, 'metrics.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(',')[1]));
  assert.deepEqual(epochs, [1, 2, 3, 4], `${what}: one metrics row per epoch`);
  const ends = readFileSync(join(out, 'events.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; epoch?: number })
    .filter((e) => e.type === 'epoch-end')
    .map((e) => e.epoch);
  assert.deepEqual(ends, [1, 2, 3, 4], `${what}: one epoch-end event per epoch`);
  const leftovers = readdirSync(join(out, 'checkpoints')).filter((n) => /\.(tmp|old)-\d+$/.test(n));
  assert.deepEqual(leftovers, [], `${what}: no leftovers`);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status, 'completed');
}

test('crash safety: the uninterrupted reference run', () => {
  assert.equal(ref.code, 0, ref.stderr);
});

for (const [point, what] of [
  ['batch:6', 'inside an epoch'],
  ['batch:2', 'before the first checkpoint'],
  ['checkpoint-write:2', 'after a checkpoint was written, before it replaced the old one'],
  ['checkpoint-swap:3', 'between moving the old checkpoint away and the new one into place'],
  ['checkpoint-swap:1', 'inside the very first checkpoint write'],
  ['stage-end:1', 'at a stage boundary'],
  ['batch:11', 'after an unfreeze that keeps optimizer state'],
] as const)
  test(`crash safety: SIGKILL ${what} (${point}), then --resume: the same run`, () => {
    const out = join(dir, point.replace(':', '-'));
    const killed = train(['-s', file, '--out', out], { FREEZEFLOW_FAULT: point });
    assert.equal(killed.code, null, 'killed by SIGKILL');
    const resumed = train(['--resume', out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assertWholeRun(out, point);
  });

test('crash safety: SIGTERM part-way through an epoch checkpoints that epoch; --resume continues it exactly', async () => {
  const out = join(dir, 'sigterm');
  const first = await interruptWhen(
    ['train', '-s', file, '--out', out, '--json', '--backend', 'wasm', '--threads', '1'],
    (o) => o.split('"type":"batch-end"').length - 1 >= 6,
    'SIGTERM',
  );
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /continue with: freezeflow train --resume /);
  const saved = JSON.parse(readFileSync(join(out, 'checkpoints/last/state.json'), 'utf8'));
  assert.equal(saved.kind, 'interrupt');
  assert.ok(saved.state.partial.steps > 0, 'mid-epoch: the steps done are saved');
  const resumed = train(['--resume', out]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assertWholeRun(out, 'sigterm');
});

test('crash safety: SIGTERM inside the first epoch of a stage with fresh optimizers resumes that stage exactly', async () => {
  // the second stage starts fresh optimizers (no keepOptimizerState): a resume must not rebuild them again
  const fresh = writeSchedule(dir, SCHEDULE.replace(', keepOptimizerState: true', ''), 'fresh.yaml');
  const ref2 = join(dir, 'fresh-reference');
  assert.equal(train(['-s', fresh, '--out', ref2]).code, 0);
  const out = join(dir, 'sigterm-stage');
  // the signal lands as the next stage starts: the run stops inside that stage's first epoch
  const first = await interruptWhen(
    ['train', '-s', fresh, '--out', out, '--json', '--backend', 'wasm', '--threads', '1'],
    (o) => o.split('"type":"stage-start"').length - 1 >= 2,
    'SIGTERM',
  );
  assert.equal(first.code, 130, first.stderr);
  const saved = JSON.parse(readFileSync(join(out, 'checkpoints/last/state.json'), 'utf8'));
  assert.deepEqual([saved.state.stageIndex, saved.state.epoch], [1, 2]);
  assert.ok(saved.state.partial?.steps > 0, "stopped part-way through the new stage's first epoch");
  const resumed = train(['--resume', out]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(
    readFileSync(join(out, 'model/weights.bin')).equals(readFileSync(join(ref2, 'model/weights.bin'))),
    'weights bit-identical to the uninterrupted run',
  );
});

test("optimizer state: Adam's β^t accumulators survive a save and restore bit for bit (pow ≠ the running product)", async () => {
  const { snapshotGroups, restoreGroups } = await import('../src/train/optim-state.js');
  const { newGroup } = await import('../src/train/optim.js');
  await tf.setBackend('cpu');
  const v = tf.variable(tf.randomNormal([8], 0, 1, 'float32', 3));
  const keys = new Map([[v, 'w:0']]);
  const config = { type: 'adam' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
  const group = newGroup(config, { id: 'stage', baseLr: 1e-2, vars: [v] });
  const step = (g: typeof group) =>
    g.optimizer.applyGradients({ [v.name]: tf.tidy(() => tf.mul(v, 0.5)) } as unknown as tf.NamedTensorMap);
  for (let i = 0; i < 60; i++) step(group);
  const snap = await snapshotGroups([group], keys);
  const restored = (await restoreGroups(snap, keys))[0]!;
  const acc = (o: typeof group) => (o.optimizer as unknown as { accBeta1: tf.Variable }).accBeta1.dataSync()[0];
  assert.equal(acc(restored), acc(group));
  const byPow = Math.fround(Math.pow(0.9, 61));
  assert.notEqual(
    acc(group),
    byPow,
    'the running product really differs from pow here (else this test proves nothing)',
  );
  const w = Float32Array.from(v.dataSync());
  step(group);
  const a = Float32Array.from(v.dataSync());
  v.assign(tf.tensor(w));
  step(restored);
  assert.deepEqual(Float32Array.from(v.dataSync()), a, 'the next update is the same');
});

test('crash safety: an interrupt right after an epoch’s last batch resumes (nothing left of that epoch to run)', async () => {
  const { train: run } = await import('../src/index.js');
  const out = join(dir, 'last-batch');
  const ctl = new AbortController();
  const first = await run(
    { schedule: file, out, backend: 'wasm', threads: 1 },
    (e) => {
      if (e.type === 'batch-end' && e.epoch === 1 && e.batch === e.batches) ctl.abort();
    },
    ctl.signal,
  );
  assert.equal(first.status, 'interrupted');
  const saved = JSON.parse(readFileSync(join(out, 'checkpoints/last/state.json'), 'utf8'));
  assert.equal(saved.state.epoch, 0);
  assert.ok(saved.state.partial.steps > 0);
  const resumed = await run({ resume: out });
  assert.equal(resumed.status, 'completed', resumed.error);
  assertWholeRun(out, 'interrupted after the last batch');
});
