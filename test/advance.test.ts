// Validation-driven stages: advance.onPlateau ends a stage when validation stops improving and the next
// stage starts at once (its epochs move up); plan says so, events and the report mark it, and a run
// killed after the advance resumes to the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, ndjson, tempDir, writeSchedule } from './helpers.js';

// minDelta 10: only the first epoch counts as an improvement, so 'head' ends after epoch 2 (patience 1)
const SCHEDULE = `model: { source: builtin:resnet-mini }
data: { source: builtin:mnist-5-9, samples: 64, batchSize: 16, validation: { split: 0.05 } }
stages:
  - name: head
    epochs: 8
    lr: 3.0e-3
    advance: { onPlateau: { patience: 1, minDelta: 10, monitor: val_loss } }
  - { name: last, epochs: 3, unfreeze: ['layer3*'], lr: 1.0e-3, scheduler: { type: cosine, minLr: 1.0e-5 } }
`;
const dir = tempDir('ff-advance-');
const file = writeSchedule(dir, SCHEDULE);
const train = (args: string[], env: Record<string, string> = {}) =>
  cli(['train', '--backend', 'wasm', '--threads', '1', ...args], { env });

test('plan states that a stage with advance.onPlateau is a budget and later stages move up', () => {
  const r = cli(['plan', '-s', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /advance\s+after 1 epoch without val_loss improvement \(by more than 10\): epochs 1–8 are a budget, later stages move up/,
  );
  const both = writeSchedule(
    dir,
    SCHEDULE.replace('lr: 3.0e-3', 'lr: 3.0e-3\n    earlyStopping: { patience: 2 }'),
    'both.yaml',
  );
  const bad = cli(['validate', both]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /give advance\.onPlateau or earlyStopping \(its older spelling\), not both/);
});

const reference = join(dir, 'reference');
test('advance: the head stage ends at epoch 2, the next stage runs epochs 3–5 with its whole lr curve', () => {
  const r = train(['-s', file, '--out', reference, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = ndjson(r.stdout);
  const ends = events.filter((e) => e.type === 'epoch-end');
  assert.deepEqual(
    ends.map((e) => [e.epoch, e.stage]),
    [
      [1, 'head'],
      [2, 'head'],
      [3, 'last'],
      [4, 'last'],
      [5, 'last'],
    ],
  );
  const stop = events.find((e) => e.type === 'early-stop');
  assert.deepEqual([stop.stage, stop.epoch, stop.unusedEpochs], ['head', 2, 6]);
  const last = events.filter((e) => e.type === 'stage-start')[1];
  assert.deepEqual([last.firstEpoch, last.lastEpoch], [3, 5]);
  // the moved-up stage runs its own cosine curve from its first epoch: lr at its last epoch is the plan's
  const plan = JSON.parse(cli(['plan', '-s', file, '--json']).stdout);
  const lrs = plan.stages[1].epochLr as number[];
  ends.slice(2).forEach((e, i) => assert.ok(Math.abs(e.lr - lrs[i]!) / lrs[i]! < 1e-6, `epoch ${e.epoch}`));
  const report = readFileSync(join(reference, 'report.html'), 'utf8');
  assert.match(report, /stage head ended at epoch 2/);
  assert.match(report, /6 unused epochs, later stages moved up/);
});

for (const point of ['stage-end:1', 'batch:14']) {
  test(`advance: killed after the advance (${point}), --resume ends with the same weights`, () => {
    const out = join(dir, point.replace(':', '-'));
    const killed = train(['-s', file, '--out', out, '--quiet'], { FREEZEFLOW_FAULT: point });
    assert.equal(killed.code, null, 'killed by SIGKILL');
    const resumed = train(['--resume', out, '--quiet']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(
      readFileSync(join(out, 'model/weights.bin')).equals(readFileSync(join(reference, 'model/weights.bin'))),
      'weights bit-identical to the uninterrupted run',
    );
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(
      summary.history.map((h: { epoch: number }) => h.epoch),
      [1, 2, 3, 4, 5],
    );
  });
}
