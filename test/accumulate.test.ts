// Gradient accumulation: batch 8 × 4 accumulated trains like batch 32 (up to float rounding) while
// BatchNorm is frozen; an interrupt waits for the group's update, and a kill inside a group resumes exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, interruptWhen, tempDir, tinySchedule, writeSchedule } from './helpers.js';

// layer3's convolutions train, its BatchNorms stay frozen (inference mode): no batch statistics anywhere
const STAGES = `  - { name: head, epochs: 1, lr: 1.0e-3 }
  - name: last
    epochs: 2
    unfreeze: ['layer3_0_conv*', 'layer3_0_downsample_conv']
    lr: 1.0e-3
    scheduler: { type: cosine, minLr: 1.0e-5, stepPer: batch }
`;
const dir = tempDir('ff-accumulate-');
// 60 samples: batches 32 + 28, and 8-sample batches that group into exactly those (the last one of 4)
const file = writeSchedule(dir, tinySchedule(60, STAGES));
const train = (out: string, more: string[] = [], env: Record<string, string> = {}) =>
  cli(['train', '-s', file, '--out', join(dir, out), '--quiet', '--backend', 'wasm', '--threads', '1', ...more], {
    env,
  });
const ACCUMULATED = ['--set', 'data.batchSize=8', '--set', 'training.accumulate=4'];
const weights = (out: string) => {
  const b = readFileSync(join(dir, out, 'model/weights.bin'));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

test('accumulate: batch 8 × 4 ends where batch 32 does (frozen BatchNorm), lr curve per optimizer step', () => {
  assert.equal(train('big').code, 0);
  const acc = train('acc', ACCUMULATED);
  assert.equal(acc.code, 0, acc.stderr);
  const [a, b] = [weights('big'), weights('acc')];
  let diff = 0;
  let scale = 0;
  a.forEach((x, i) => ((diff = Math.max(diff, Math.abs(x - b[i]!))), (scale = Math.max(scale, Math.abs(x)))));
  assert.ok(diff / scale < 1e-5, `max |Δw| / max |w| = ${diff / scale}`);
  const history = (out: string) =>
    JSON.parse(readFileSync(join(dir, out, 'summary.json'), 'utf8')).history as { valLoss: number; lr: number }[];
  history('acc').forEach((h, i) => {
    assert.ok(Math.abs(h.valLoss - history('big')[i]!.valLoss) < 1e-5, `epoch ${i + 1} val loss`);
    assert.equal(h.lr, history('big')[i]!.lr, 'the per-batch cosine steps once per optimizer step');
  });
  assert.match(
    cli(['plan', '-s', file, ...ACCUMULATED]).stdout,
    /batch +8 × 4 accumulated = 32 samples per optimizer step/,
  );
});

test('accumulate: SIGTERM waits for the group update; a kill inside a group resumes bit-identically', async () => {
  const term = await interruptWhen(
    ['train', '-s', file, '--out', join(dir, 'term'), '--json', '--backend', 'wasm', '--threads', '1', ...ACCUMULATED],
    (o) => o.split('"type":"batch-end"').length - 1 >= 10,
    'SIGTERM',
  );
  assert.equal(term.code, 130, term.stderr);
  const saved = JSON.parse(readFileSync(join(dir, 'term/checkpoints/last/state.json'), 'utf8'));
  assert.equal(saved.state.partial.steps % 4, 0, `stopped after ${saved.state.partial.steps} batches: inside a group`);
  assert.equal(cli(['train', '--resume', join(dir, 'term'), '--quiet']).code, 0);
  assert.equal(train('killed', ACCUMULATED, { FREEZEFLOW_FAULT: 'batch:14' }).code, null);
  assert.equal(cli(['train', '--resume', join(dir, 'killed'), '--quiet']).code, 0);
  assert.equal(train('whole', ACCUMULATED).code, 0);
  for (const out of ['term', 'killed'])
    assert.deepEqual(weights(out), weights('whole'), `${out}: the same weights as the uninterrupted run`);
});
