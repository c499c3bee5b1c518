// Preprocessing follows the model: a schedule without data.preprocess trains on the pixels the model's own
// files name (a Teachable Machine export's metadata.json, an import made with --preprocess, a run's
// freezeflow.json); a schedule that says otherwise wins with a warning naming both; an import's imagenet
// default is a guess and never warns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '../src/tf.js';
import { saveModel } from '../src/model/io.js';
import { choosePreprocess, normalizePreprocess } from '../src/core/preprocess.js';
import { cli, ndjson, ROOT, tempDir, writeSchedule } from './helpers.js';

const work = tempDir('ff-pre-');
const sym = normalizePreprocess('symmetric');
const unit = normalizePreprocess('unit');
const imagenet = normalizePreprocess('imagenet');

test('choosePreprocess: model decides the default, the schedule wins with a warning, a guess never warns', () => {
  const tm = { preprocess: sym, from: 'metadata.json' };
  assert.deepEqual(choosePreprocess(undefined, tm), { preprocess: sym, from: 'model' });
  assert.deepEqual(choosePreprocess(undefined, undefined), { preprocess: unit, from: 'default' });
  assert.deepEqual(choosePreprocess(sym, tm), { preprocess: sym, from: 'schedule' });
  const w = choosePreprocess(unit, tm);
  assert.equal(w.preprocess, unit);
  assert.match(w.warning!, /data\.preprocess is unit but metadata\.json says the model was trained on symmetric/);
  assert.equal(choosePreprocess(unit, { preprocess: imagenet, from: 'import', guessed: true }).warning, undefined);
  assert.equal(
    choosePreprocess(undefined, { preprocess: imagenet, from: 'import', guessed: true }).preprocess,
    imagenet,
  );
});

/** A tiny "Teachable Machine export" (metadata.json beside it) and a two-class 8×8 image folder. */
async function tmModelAndPhotos(): Promise<{ model: string; photos: string }> {
  const model = join(work, 'tm');
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, name: 'conv' }),
      tf.layers.globalAveragePooling2d({ name: 'pool' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'old_head' }),
    ],
  });
  await saveModel(m, model);
  const meta = { tmVersion: '2.4.4', packageName: '@teachablemachine/image', labels: ['a', 'b'], imageSize: 8 };
  writeFileSync(join(model, 'metadata.json'), JSON.stringify(meta));
  const photos = join(work, 'photos');
  for (const [cls, base] of [
    ['red', [220, 20, 20]],
    ['blue', [20, 20, 220]],
  ] as const) {
    mkdirSync(join(photos, cls), { recursive: true });
    for (let k = 0; k < 6; k++) {
      const px = Buffer.from(Array.from({ length: 192 }, (_, i) => (base[i % 3]! + 7 * k + i) % 256));
      await sharp(px, { raw: { width: 8, height: 8, channels: 3 } })
        .png()
        .toFile(join(photos, cls, `${k}.png`));
    }
  }
  return { model, photos };
}

function schedule(model: string, photos: string, extra: string, name: string): string {
  return writeSchedule(
    work,
    `model: { source: ${model}, cutAt: pool }
data: { source: ${photos}, batchSize: 4, validation: { split: 0.34 }${extra} }
stages:
  - { name: head, epochs: 1, lr: 1.0e-3 }
`,
    `${name}.yaml`,
  );
}

test('train: a Teachable Machine model without data.preprocess trains on [-1, 1] pixels, and says so', async () => {
  const { model, photos } = await tmModelAndPhotos();
  const out = join(work, 'run-follow');
  const r = cli(['train', '-s', schedule(model, photos, '', 'follow'), '-o', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const start = ndjson(r.stdout).find((e) => e.type === 'run-start');
  assert.equal(start.input.preprocess.name, 'symmetric');
  assert.match(start.preprocessFrom, /Teachable Machine export's metadata\.json/);
  assert.ok(!ndjson(r.stdout).some((e) => e.type === 'warning' && /preprocess/.test(e.message)));
  // what the run wrote down is what it used: config.yaml (export and resume read it) and the model's record
  assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /preprocess: symmetric/);
  const saved = JSON.parse(readFileSync(join(out, 'model', 'freezeflow.json'), 'utf8'));
  assert.equal(saved.input.preprocess.name, 'symmetric');
  const printed = cli(['train', '-s', schedule(model, photos, '', 'follow'), '--print-config']);
  assert.match(printed.stdout, /preprocess: symmetric/, '--print-config says what the run will use');
  const plain = cli(['train', '-s', schedule(model, photos, '', 'follow'), '-o', join(work, 'run-plain')]);
  assert.match(plain.stdout, /pixels: symmetric, as the Teachable Machine export's metadata\.json says/);
});

test('train: a schedule that contradicts the model keeps its preprocess and warns, naming both', async () => {
  const model = join(work, 'tm');
  const photos = join(work, 'photos');
  const r = cli([
    'train',
    '-s',
    schedule(model, photos, ', preprocess: unit', 'against'),
    '-o',
    join(work, 'run-against'),
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const events = ndjson(r.stdout);
  assert.equal(events.find((e) => e.type === 'run-start').input.preprocess.name, 'unit');
  const warning = events.find((e) => e.type === 'warning' && /preprocess/.test(e.message));
  assert.match(
    warning.message,
    /data\.preprocess is unit but the Teachable Machine export's metadata\.json says .* symmetric/,
  );
  const summary = JSON.parse(readFileSync(join(work, 'run-against', 'summary.json'), 'utf8'));
  assert.ok(
    summary.warnings.some((w: string) => /data\.preprocess is unit/.test(w)),
    'kept in summary.json',
  );
});

test('train: an ONNX import records a guess (imagenet), which a schedule may override without a warning', () => {
  const r = cli(
    [
      'train',
      '-s',
      join(ROOT, 'schedules/from-pytorch.yaml'),
      '-o',
      join(work, 'run-onnx'),
      '--json',
      '--samples',
      '100',
      '--set',
      'stages.0.epochs=[1,1]',
      '--set',
      'stages.1.epochs=[2,2]',
      '--set',
      'stages.2.epochs=[3,3]',
    ],
    { env: { FREEZEFLOW_CACHE_DIR: join(work, 'cache') } },
  );
  assert.equal(r.code, 0, r.stderr);
  const events = ndjson(r.stdout);
  assert.equal(events.find((e) => e.type === 'run-start').input.preprocess.name, 'unit');
  assert.ok(!events.some((e) => e.type === 'warning' && /preprocess/.test(e.message)), 'no warning');
});
