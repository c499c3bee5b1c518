// output.checkpoints.best: { monitor, keep }: checkpoints/best is the best epoch by the monitored value,
// checkpoints/top keeps the N best, and predict/evaluate --checkpoint use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir, tinySchedule, writeSchedule } from './helpers.js';

test('checkpoints.best { monitor: val_acc, keep: 2 }: best = highest val_acc, top/ holds the two best epochs', () => {
  const dir = tempDir('ff-ckpt-');
  const text = tinySchedule(160, `  - { name: head, epochs: 6, lr: 3.0e-2 }\n`).replace(
    'stages:',
    'output: { checkpoints: { best: { monitor: val_acc, keep: 2 } } }\nstages:',
  );
  const f = writeSchedule(dir, text);
  const out = join(dir, 'run');
  const r = cli(['train', '-s', f, '--out', out, '--quiet', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const ranked = (summary.history as { epoch: number; valAcc: number }[])
    .map((h) => ({ epoch: h.epoch, acc: h.valAcc }))
    .sort((a, b) => b.acc - a.acc || a.epoch - b.epoch);
  assert.equal(summary.bestEpoch, ranked[0]!.epoch, 'the best epoch is the highest val_acc, not the lowest val_loss');
  const best = JSON.parse(readFileSync(join(out, 'checkpoints/best/state.json'), 'utf8'));
  assert.equal(best.state.epoch, ranked[0]!.epoch);
  assert.deepEqual(
    readdirSync(join(out, 'checkpoints/top')).sort(),
    ranked
      .slice(0, 2)
      .map((x) => `epoch-${x.epoch}`)
      .sort(),
  );
  for (const k of ranked.slice(0, 2)) {
    const s = JSON.parse(readFileSync(join(out, `checkpoints/top/epoch-${k.epoch}/state.json`), 'utf8'));
    assert.equal(s.state.epoch, k.epoch);
  }
  // a kept epoch is a whole model, like the final one (predict/evaluate --checkpoint top/epoch-E)
  for (const file of ['model.json', 'freezeflow.json', 'labels.json'])
    assert.ok(readdirSync(join(out, `checkpoints/top/epoch-${ranked[1]!.epoch}`)).includes(file), file);
  const byLoss = [...summary.history].sort((a, b) => a.valLoss - b.valLoss)[0].epoch;
  // (this seed and lr make the two differ, so the test tells the monitors apart)
  assert.notEqual(byLoss, ranked[0]!.epoch, 'by val_loss the best epoch would be another');
});

test('checkpoints.best: a misspelt monitor is one schema error with a hint', () => {
  const dir = tempDir('ff-ckpt-');
  const f = writeSchedule(
    dir,
    tinySchedule(32, `  - { name: head, epochs: 1 }\n`).replace(
      'stages:',
      'output: { checkpoints: { best: { monitor: val_accuracy } } }\nstages:',
    ),
  );
  const r = cli(['validate', f]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /monitor must be one of 'val_loss', 'val_acc' \(got "val_accuracy"\)/);
});
