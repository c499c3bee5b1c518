// restoreBest on a stage (finetuning-scheduler's restore_best): a stage that ends away from the best epoch
// hands on the best epoch's weights — the next stage's start, or model/ after the last stage — and a kill
// inside such a stage resumes to the same weights. Also the guard's rollback path: the best checkpoint is
// put back layer by layer, whatever the trainable set was when it was written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../src/tf.js';
import { loadModel } from '../src/model/io.js';
import { listLayers } from '../src/model/layers.js';
import { cli, ndjson, tempDir, tinySchedule, writeSchedule } from './helpers.js';

// lr 0.05 on every layer: validation loss jumps from ~1.7 to ~13, so the best epoch stays in stage 1
const STAGES = `  - { name: head, epochs: 2, lr: 3.0e-3 }
  - { name: hot, epochs: 2, unfreeze: ['*'], lr: 5.0e-2, restoreBest: true }
`;
const dir = tempDir('ff-restore-best-');
const file = writeSchedule(dir, tinySchedule(64, STAGES).replace('batchSize: 32', 'batchSize: 16'));
const train = (out: string, args: string[] = [], env: Record<string, string> = {}) =>
  cli(['train', '-s', file, '--out', join(dir, out), '--backend', 'wasm', '--threads', '1', ...args], { env });

/** Every layer's weights by path. */
async function weights(model: string): Promise<Map<string, number[][]>> {
  const m = await loadModel(join(dir, model, 'model.json'));
  return new Map(listLayers(m).map((l) => [l.path, l.layer.getWeights().map((w) => Array.from(w.dataSync()))]));
}

test('restoreBest: the stage ends away from its best epoch and model/ holds the best epoch’s weights', async () => {
  const r = train('whole', ['--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = ndjson(r.stdout) as { type: string; [k: string]: unknown }[];
  const restored = events.filter((e) => e.type === 'restore-best');
  assert.equal(restored.length, 1);
  assert.equal(restored[0]!['bestEpoch'], 2);
  assert.equal(restored[0]!['epoch'], 4);
  const end = events.find((e) => e.type === 'run-end')!;
  assert.equal(end['modelEpoch'], 2);
  const best = await weights('whole/checkpoints/best');
  assert.deepEqual(await weights('whole/model'), best, 'model/ is the best epoch');
  // stage 1's end is that epoch: its checkpoint holds the same weights
  assert.deepEqual(await weights('whole/checkpoints/stage-1-head'), best);
  const last = JSON.parse(readFileSync(join(dir, 'whole/summary.json'), 'utf8')) as {
    finalValAcc: number;
    bestValAcc: number;
  };
  assert.equal(last.finalValAcc, last.bestValAcc);
  tf.disposeVariables();
});

test('restoreBest: a kill inside the stage resumes, restores and ends with the same weights', async () => {
  assert.equal(train('killed', ['--quiet'], { FREEZEFLOW_FAULT: 'batch:9' }).code, null);
  const resumed = cli(['train', '--resume', join(dir, 'killed'), '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(await weights('killed/model'), await weights('whole/model'));
});

test('restoreBest without checkpoints/best is refused with its position', () => {
  const f = writeSchedule(dir, `${tinySchedule(64, STAGES)}output: { checkpoints: { best: false } }\n`, 'nobest.yaml');
  const r = cli(['validate', f]);
  assert.equal(r.code, 2);
  assert.match(r.stdout + r.stderr, /nobest\.yaml:\d+:\d+: .*restoreBest puts back checkpoints\/best/);
});
