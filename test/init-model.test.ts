// init --model --data writes a schedule for that model and folder (strategy by image count, the model's
// pixels, unfreeze stages in its own blocks), and finetune trains it in one command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { parse } from 'yaml';
import * as tf from '../src/tf.js';
import { saveModel } from '../src/model/io.js';
import { cli, tempDir } from './helpers.js';

const work = tempDir('ff-init-');

/** A small "Teachable Machine export" with three named blocks, and a two-class folder of 8×8 images. */
async function modelAndPhotos(): Promise<{ model: string; photos: string }> {
  const model = join(work, 'tm');
  // seeded weights: the runs below (early stopping among them) go the same way every time
  const init = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }) });
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, name: 'block_1_conv', ...init(1) }),
      tf.layers.batchNormalization({ name: 'block_1_bn' }),
      tf.layers.reLU({ name: 'block_1_relu' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'block_2_conv', ...init(2) }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'block_3_conv', ...init(3) }),
      tf.layers.globalAveragePooling2d({ name: 'pool' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'old_head', ...init(4) }),
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
  return { model: join(model, 'model.json'), photos };
}

const ready = modelAndPhotos();

test('init --model --data: a schedule for that model — relative paths, its pixels, its blocks, checked', async () => {
  const { model, photos } = await ready;
  const dir = join(work, 'sub');
  mkdirSync(dir);
  const out = join(dir, 'mine.yaml');
  const r = cli(['init', '--model', model, '--data', photos, '--strategy', 'progressive', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /data: 12 training images in 2 classes/);
  assert.match(r.stderr, /pixels: symmetric, as .*metadata\.json says/);
  const text = readFileSync(out, 'utf8');
  const s = parse(text);
  assert.equal(s.model.source, '../tm/model.json', 'relative to the schedule, like every path in one');
  assert.equal(s.data.source, '../photos');
  assert.equal(s.data.preprocess, 'symmetric');
  assert.deepEqual(s.stages[1].unfreeze, { lastBlocks: 2 });
  assert.match(text, /lastBlocks: 2 } # block_2, block_3|lastBlocks: 2 # block_2, block_3/);
  assert.doesNotMatch(text, /MNIST|resnet-mini/, "the builtin example's story is gone");
  assert.match(text, /^# Written by freezeflow init for /m);
  // the schedule resolves against the real model: stage 2 trains the head and blocks 2 and 3
  const plan = cli(['plan', '-s', out, '--model', '--json']);
  assert.equal(plan.code, 0, plan.stderr);
  const trainable: string[] = JSON.parse(plan.stdout).stages[1].trainable;
  assert.ok(trainable.includes('block_2_conv') && trainable.includes('block_3_conv'));
  assert.ok(!trainable.includes('block_1_conv'));
  // a file already there is kept unless --force
  const again = cli(['init', '--model', model, '--data', photos, '-o', out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists; use --force/);
});

test('init --model: the strategy follows the image count; strategies that name layers are refused', async () => {
  const { model, photos } = await ready;
  const r = cli(['init', '--model', model, '--data', photos, '-o', '-']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /recommended: full-freeze — 12 samples is small/);
  assert.equal(parse(r.stdout).stages.length, 1);
  // the template's digit cap (samples: 500) does not follow: every image of the folder trains
  assert.equal(parse(r.stdout).data.samples, undefined);
  const capped = cli(['init', '--model', model, '--data', photos, '--samples', '8', '-o', '-']);
  assert.equal(parse(capped.stdout).data.samples, 8);
  const sel = cli(['init', '--model', model, '--data', photos, '--strategy', 'selective', '-o', '-']);
  assert.equal(sel.code, 2);
  assert.match(
    sel.stderr,
    /^freezeflow: --model writes progressive, full-freeze, full-unfreeze, auto schedules; for selective/,
  );
  const half = cli(['init', '--model', model]);
  assert.equal(half.code, 2);
  assert.match(half.stderr, /--model and --data go together/);
});

test('finetune: one command trains the model on the folder; the run keeps the schedule it used', async () => {
  const { model, photos } = await ready;
  const out = join(work, 'ft');
  const r = cli([
    'finetune',
    '--model',
    model,
    '--data',
    photos,
    '--strategy',
    'progressive',
    '--epochs',
    '3',
    '--out',
    out,
    '--backend',
    'wasm',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /lr-find: stage head trains with lr/);
  const used = parse(readFileSync(join(out, 'schedule.yaml'), 'utf8'));
  assert.deepEqual(
    used.stages.map((st: { lr: unknown; epochs: unknown }) => [st.lr, st.epochs]),
    [
      ['find', 1],
      ['find', 1],
      ['find', 1],
    ],
    'every stage finds its lr; --epochs 3 shared out',
  );
  assert.deepEqual(used.stages[1].unfreeze, { lastBlocks: 2 });
  assert.equal(used.model.source, model, 'absolute paths: the schedule works from the run folder too');
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'completed');
  assert.equal(summary.history.length, 3);
  assert.ok(existsSync(join(out, 'model', 'model.json')));
});

test('finetune --strategy auto: --epochs is the auto budget; the run writes the stages it chose', async () => {
  const { model, photos } = await ready;
  const out = join(work, 'ft-auto');
  const r = cli(['finetune', '-m', model, '-d', photos, '--strategy', 'auto', '--epochs', '4', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const used = parse(readFileSync(join(out, 'schedule.yaml'), 'utf8'));
  assert.equal(used.stages, 'auto');
  assert.equal(used.auto.epochs, 4);
  const chosen = parse(readFileSync(join(out, 'chosen-schedule.yaml'), 'utf8'));
  assert.equal(chosen.stages[0].name, 'linear-probe');
  assert.match(chosen.stages[1].name, /^unfreeze-block_[123]$/);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status, 'completed');
});
