import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import * as tf from '../src/tf.js';
import { decodeImage, scanFolder } from '../src/data/images.js';
import { openData, describeData } from '../src/data/open.js';
import { applyAugment, drawAugment, drawSeed, pickView } from '../src/data/augment.js';
import { affineOf, normalizePreprocess } from '../src/core/preprocess.js';
import { augmentBatch, sourceSize } from '../src/data/dataset.js';
import { classificationReport } from '../src/report/classification.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan } from '../src/schedule/plan.js';
import { rng } from '../src/core/random.js';
import { cli, ROOT, tempDir } from './helpers.js';

const SHAPES = ['circle', 'square', 'triangle'] as const;

/** One 32×32 image of a shape at a seeded position/size/colour, as an SVG rendered by sharp. */
function shapeSvg(kind: (typeof SHAPES)[number], rand: () => number): string {
  const s = 8 + rand() * 6;
  const cx = s + rand() * (32 - 2 * s);
  const cy = s + rand() * (32 - 2 * s);
  const fill = `rgb(${200 + Math.floor(rand() * 55)},${150 + Math.floor(rand() * 100)},${100 + Math.floor(rand() * 155)})`;
  const body =
    kind === 'circle'
      ? `<circle cx="${cx}" cy="${cy}" r="${s}" fill="${fill}"/>`
      : kind === 'square'
        ? `<rect x="${cx - s}" y="${cy - s}" width="${2 * s}" height="${2 * s}" fill="${fill}"/>`
        : `<polygon points="${cx},${cy - s} ${cx - s},${cy + s} ${cx + s},${cy + s}" fill="${fill}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="black"/>${body}</svg>`;
}

/** A class-per-folder data set with mixed formats, plus a corrupt image and a text file. */
async function makeFolder(root: string, perClass: number, seed = 1): Promise<void> {
  const rand = rng(seed);
  const formats = ['png', 'jpg', 'webp'] as const;
  for (const kind of SHAPES) {
    mkdirSync(join(root, kind), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const fmt = formats[i % formats.length]!;
      const img = sharp(Buffer.from(shapeSvg(kind, rand)));
      await (fmt === 'png' ? img.png() : fmt === 'jpg' ? img.jpeg({ quality: 95 }) : img.webp()).toFile(
        join(root, kind, `${kind}-${String(i).padStart(3, '0')}.${fmt}`),
      );
    }
  }
}

function planFor(source: string, extra = '') {
  const l = parseSchedule(
    `model: { source: x }\ndata: { source: ${source}, batchSize: 8, seed: 3${extra} }\nstages:\n  - { name: a, epochs: 1 }\n`,
  );
  return buildPlan(l.schedule, 't');
}

test('decoding: channel conversion, alpha onto black, resize modes', async () => {
  const dir = tempDir();
  // a 20×10 (w×h) white image with a transparent left half
  const raw = Buffer.alloc(20 * 10 * 4, 255);
  for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) raw[(y * 20 + x) * 4 + 3] = 0;
  await sharp(raw, { raw: { width: 20, height: 10, channels: 4 } })
    .png()
    .toFile(join(dir, 'rgba.png'));
  const rgb = await decodeImage(join(dir, 'rgba.png'), { height: 10, width: 20, channels: 3, resize: 'stretch' });
  assert.equal(rgb.length, 10 * 20 * 3);
  assert.deepEqual([rgb[0], rgb[1], rgb[2]], [0, 0, 0], 'transparent → black');
  assert.deepEqual([rgb[19 * 3], rgb[19 * 3 + 1], rgb[19 * 3 + 2]], [255, 255, 255]);
  const gray = await decodeImage(join(dir, 'rgba.png'), { height: 10, width: 20, channels: 1, resize: 'stretch' });
  assert.equal(gray.length, 10 * 20);
  assert.deepEqual([gray[0], gray[19]], [0, 255]);
  // grayscale source → 3 equal channels
  await sharp(Buffer.alloc(8 * 8, 128), { raw: { width: 8, height: 8, channels: 1 } })
    .png()
    .toFile(join(dir, 'g.png'));
  const g3 = await decodeImage(join(dir, 'g.png'), { height: 4, width: 4, channels: 3, resize: 'cover' });
  assert.equal(g3.length, 4 * 4 * 3);
  assert.ok(g3.every((v) => Math.abs(v - 128) <= 1));
  // resize: an all-white 20×10 into 10×10: contain pads top and bottom with black, cover/stretch do not
  await sharp(Buffer.alloc(20 * 10 * 3, 255), { raw: { width: 20, height: 10, channels: 3 } })
    .png()
    .toFile(join(dir, 'wide.png'));
  const contain = await decodeImage(join(dir, 'wide.png'), { height: 10, width: 10, channels: 1, resize: 'contain' });
  assert.equal(contain[0], 0, 'contain: top row padded');
  assert.equal(contain[5 * 10 + 5], 255);
  for (const resize of ['cover', 'stretch'] as const) {
    const px = await decodeImage(join(dir, 'wide.png'), { height: 10, width: 10, channels: 1, resize });
    assert.ok(
      px.every((v) => v === 255),
      resize,
    );
  }
  writeFileSync(join(dir, 'bad.jpg'), 'this is not a jpeg');
  await assert.rejects(decodeImage(join(dir, 'bad.jpg'), { height: 4, width: 4, channels: 3, resize: 'cover' }));
});

test('preprocessing presets map 0..255 as documented', () => {
  const at = (name: 'unit' | 'symmetric' | 'imagenet', px: number, c: number) => {
    const { scale, offset } = affineOf(normalizePreprocess(name), 3);
    return px * scale[c]! + offset[c]!;
  };
  assert.ok(Math.abs(at('unit', 255, 0) - 1) < 1e-6);
  assert.equal(at('symmetric', 0, 1), -1);
  assert.ok(Math.abs(at('symmetric', 255, 2) - 1) < 1e-6);
  assert.ok(Math.abs(at('imagenet', 255, 0) - (1 - 0.485) / 0.229) < 1e-5);
  assert.ok(Math.abs(at('imagenet', 0, 2) - -0.406 / 0.225) < 1e-5);
});

test('folder layout: stable class order, train/val folders, clear errors', () => {
  const root = tempDir();
  for (const [c, n] of [
    ['dogs', 2],
    ['cats', 3],
  ] as const) {
    mkdirSync(join(root, c));
    for (let i = 0; i < n; i++) writeFileSync(join(root, c, `${i}.png`), '');
  }
  writeFileSync(join(root, 'cats', 'notes.txt'), 'hi');
  const l = scanFolder(root);
  assert.deepEqual(l.classes, ['cats', 'dogs']);
  assert.equal(l.train.length, 5);
  assert.equal(l.val, undefined);
  assert.deepEqual(
    l.ignored.map((f) => f.path),
    [join('cats', 'notes.txt')],
  );
  // train/ + val/
  const tv = tempDir();
  for (const part of ['train', 'val'])
    for (const c of ['a', 'b']) {
      mkdirSync(join(tv, part, c), { recursive: true });
      writeFileSync(join(tv, part, c, '1.jpg'), '');
    }
  const s = scanFolder(tv);
  assert.deepEqual(s.classes, ['a', 'b']);
  assert.equal(s.val?.length, 2);
  mkdirSync(join(tv, 'val', 'c'));
  writeFileSync(join(tv, 'val', 'c', '1.jpg'), '');
  assert.throws(() => scanFolder(tv), /class 'c' is only in the validation folder/);
  mkdirSync(join(root, 'empty'));
  assert.throws(() => scanFolder(root), /class folder '.*empty' holds no image files/);
  const one = tempDir();
  mkdirSync(join(one, 'only'));
  assert.throws(() => scanFolder(one), /single class folder \('only'\)/);
  assert.throws(() => scanFolder(join(one, 'nope')), /is not a folder/);
  assert.throws(() => scanFolder(tempDir()), /has no class folders/);
});

test('open: stratified seeded split; corrupt and non-image files skipped and counted, or an error with strict', async () => {
  const root = tempDir();
  await makeFolder(root, 10);
  writeFileSync(join(root, 'circle', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]));
  writeFileSync(join(root, 'square', 'README.txt'), 'notes');
  const plan = planFor(root, ', validation: { split: 0.3 }');
  const desc = describeData(plan, join(root, 'x.yaml'));
  const d = await openData(plan, desc, [null, 16, 16, 3]);
  assert.deepEqual(d.classes, ['circle', 'square', 'triangle']);
  assert.equal(d.skipped.length, 2);
  assert.ok(d.skipped.some((f) => f.path.endsWith('broken.jpg')));
  assert.equal(sourceSize(d.train) + sourceSize(d.val), 30);
  for (let c = 0; c < 3; c++) assert.equal(d.val.labels.filter((l) => l === c).length, 3, 'stratified: 30 % of 10');
  // the same seed gives the same split
  const again = await openData(plan, desc, [null, 16, 16, 3]);
  assert.deepEqual(Array.from(again.train.labels), Array.from(d.train.labels));
  const px = await d.train.batch([0, 1]);
  assert.equal(px.length, 2 * 16 * 16 * 3);
  assert.ok(Math.max(...px) <= 1 && Math.min(...px) >= 0, 'unit preprocessing');
  await assert.rejects(openData(plan, desc, [null, 16, 16, 3], { strict: true }), /broken\.jpg cannot be decoded/);
  await assert.rejects(openData(plan, desc, [null, null, null, 3]), /set data\.imageSize/);
  // a class whose every image is broken
  const bad = tempDir();
  await makeFolder(bad, 2);
  for (const f of ['circle-000.png', 'circle-001.jpg']) writeFileSync(join(bad, 'circle', f), 'x');
  const pb = planFor(bad);
  await assert.rejects(
    openData(pb, describeData(pb, join(bad, 'x.yaml')), [null, 8, 8, 3]),
    /class 'circle' has no readable/,
  );
});

test('augmentation: deterministic per (seed, epoch, image), off means identity, flip mirrors rows', () => {
  const h = 6;
  const w = 5;
  const img = Float32Array.from({ length: h * w * 2 }, (_, i) => i);
  const spec = { flip: true, rotate: 15, crop: 0.5, brightness: 0.2, contrast: 0.2 };
  const a = applyAugment(img, h, w, 2, drawAugment(spec, h, w, drawSeed(7, 3, 11)));
  const b = applyAugment(img, h, w, 2, drawAugment(spec, h, w, drawSeed(7, 3, 11)));
  assert.deepEqual(a, b);
  const c = applyAugment(img, h, w, 2, drawAugment(spec, h, w, drawSeed(7, 4, 11)));
  assert.notDeepEqual(a, c, 'another epoch, another draw');
  const off = { flip: false, rotate: 0, crop: 1, brightness: 0, contrast: 0 };
  assert.deepEqual(applyAugment(img, h, w, 2, drawAugment(off, h, w, 1)), img);
  const flipped = applyAugment(img, h, w, 2, { ...drawAugment(off, h, w, 1), flip: true });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < 2; k++) assert.equal(flipped[(y * w + x) * 2 + k], img[(y * w + (w - 1 - x)) * 2 + k]);
  // a batch: each image draws from its own item index, so order in the batch does not matter
  const batch = new Float32Array([...img, ...img]);
  augmentBatch(batch, [11, 12], [h, w, 2], { spec, seed: 7, epoch: 3 });
  assert.deepEqual(batch.subarray(0, img.length), a);
});

test('augment.views: every epoch shows each image as one of its K fixed views, drawn per image', () => {
  const h = 6;
  const w = 5;
  const img = Float32Array.from({ length: h * w }, (_, i) => i);
  const spec = { flip: true, rotate: 15, crop: 0.5, brightness: 0.2, contrast: 0.2, views: 3 };
  const key = (x: Float32Array) => Array.from(x).join(',');
  const views = [0, 1, 2].map((view) => {
    const b = Float32Array.from(img);
    augmentBatch(b, [4], [h, w, 1], { spec, seed: 7, epoch: 0, view });
    return key(b);
  });
  assert.equal(new Set(views).size, 3, 'three different views');
  const shown = new Map<string, number>();
  const perItem: number[][] = [[], []];
  for (let epoch = 1; epoch <= 40; epoch++) {
    const b = new Float32Array([...img, ...img]);
    augmentBatch(b, [4, 5], [h, w, 1], { spec, seed: 7, epoch });
    const k = key(b.subarray(0, img.length));
    shown.set(k, (shown.get(k) ?? 0) + 1);
    perItem[0]!.push(pickView(7, epoch, 4, 3));
    perItem[1]!.push(pickView(7, epoch, 5, 3));
  }
  // the epochs' images are exactly the fixed views, each one used
  assert.deepEqual([...shown.keys()].sort(), [...views].sort());
  assert.notDeepEqual(perItem[0], perItem[1], 'each image draws its own sequence of views');
  const counts = [0, 1, 2].map((v) => perItem[0]!.filter((x) => x === v).length);
  assert.ok(Math.min(...counts) >= 6, `views used evenly enough: ${counts}`);
});

test('classification report: hand-computed precision, recall, F1 and confusion', () => {
  // true:  a a a b b c ; pred: a b a b c c
  const r = classificationReport([0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 2, 2], ['a', 'b', 'c']);
  assert.equal(r.accuracy, 4 / 6);
  assert.deepEqual(r.confusion, [
    [2, 1, 0],
    [0, 1, 1],
    [0, 0, 1],
  ]);
  const [a, b, c] = r.perClass;
  assert.deepEqual([a!.precision, a!.recall], [1, 2 / 3]);
  assert.deepEqual([b!.precision, b!.recall], [0.5, 0.5]);
  assert.deepEqual([c!.precision, c!.recall], [0.5, 1]);
  assert.ok(Math.abs(a!.f1 - 0.8) < 1e-12);
  assert.ok(Math.abs(c!.f1 - 2 / 3) < 1e-12);
});

test('image folder end to end: train, then predict and evaluate agree with the run', async () => {
  const root = tempDir();
  await makeFolder(join(root, 'train'), 16, 1);
  await makeFolder(join(root, 'val'), 6, 2);
  writeFileSync(join(root, 'train', 'circle', 'corrupt.png'), 'not a png');
  const f = join(root, 'shapes.yaml');
  writeFileSync(
    f,
    `model: { source: builtin:resnet-mini }
data:
  source: .
  batchSize: 16
  augment: { flip: true, rotate: 10 }
stages:
  - { name: head, epochs: 2, lr: 0.01 }
  - { name: last, epochs: 2, unfreeze: ['layer3*'], lr: 0.003 }
`,
  );
  const out = join(root, 'run');
  const r = cli(['train', '-s', f, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /skipped 1 file\(s\): train\/circle\/corrupt\.png/);
  assert.equal(cli(['train', '-s', f, '--out', join(root, 'strict'), '--strict']).code, 1);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(summary.data.classes, ['circle', 'square', 'triangle']);
  // a finished run is not resumed
  const again = cli(['train', '--resume', out, '--quiet']);
  assert.equal(again.code, 2, again.stderr);
  // an unfinished one (here: back to the end of stage 1) reads the schedule's copy in the run directory,
  // but 'source: .' still means the folder of the original schedule
  const copy = join(root, 'copy');
  cpSync(out, copy, { recursive: true });
  rmSync(join(copy, 'summary.json'));
  rmSync(join(copy, 'checkpoints/last'), { recursive: true });
  cpSync(join(copy, 'checkpoints/stage-1-head'), join(copy, 'checkpoints/last'), { recursive: true });
  const resumed = cli(['train', '--resume', copy, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const meta = JSON.parse(readFileSync(join(out, 'model/freezeflow.json'), 'utf8'));
  assert.deepEqual(meta.input.shape, [28, 28, 1]);
  assert.equal(meta.input.preprocess.name, 'unit');

  const ev = cli(['evaluate', '--model', out, '--data', root, '--json']);
  assert.equal(ev.code, 0, ev.stderr);
  const report = JSON.parse(ev.stdout);
  assert.equal(report.samples, 18);
  // the same images, the same pipeline: evaluate reproduces the run's last validation accuracy
  assert.ok(Math.abs(report.accuracy - summary.finalValAcc) < 1e-6, `${report.accuracy} vs ${summary.finalValAcc}`);
  assert.ok(report.accuracy > 1 / 3, `learned something (${report.accuracy})`);
  const text = cli(['evaluate', '--model', out, '--data', root]);
  assert.match(text.stdout, /confusion matrix/);

  const files = SHAPES.map((k) => join(root, 'val', k, `${k}-000.png`));
  const p = cli(['predict', '--model', join(out, 'model'), ...files, '--json', '--top', '2']);
  assert.equal(p.code, 0, p.stderr);
  const preds = JSON.parse(p.stdout).predictions;
  assert.equal(preds.length, 3);
  for (const q of preds) {
    assert.equal(q.top.length, 2);
    assert.ok(q.top[0].probability >= q.top[1].probability);
  }
  // the best epoch's checkpoint is a usable model too, with the same input pipeline (no guessing)
  const best = cli(['predict', '-m', out, '--checkpoint', 'best', files[0]!, '--json']);
  assert.equal(best.code, 0, best.stderr);
  assert.doesNotMatch(best.stderr, /assuming/);
  assert.equal(cli(['predict', '-m', out, '--checkpoint', 'nope', files[0]!]).code, 2);
  const plain = cli(['predict', '-m', out, files[0]!, join(root, 'missing.png')]);
  assert.equal(plain.code, 1, 'a missing file is an error, the others are still printed');
  assert.match(plain.stdout, /circle-000\.png\t\w+ \d+\.\d%/);
  assert.match(plain.stderr, /missing\.png: no such file/);
  const wrong = tempDir();
  mkdirSync(join(wrong, 'hexagon'));
  mkdirSync(join(wrong, 'circle'));
  writeFileSync(join(wrong, 'hexagon', 'a.png'), '');
  writeFileSync(join(wrong, 'circle', 'a.png'), '');
  const bad = cli(['evaluate', '-m', out, '-d', wrong]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /'hexagon' in .* are not classes of the model/);
});

test('folder scan follows links once: a cycle ends, a linked file is not counted twice, train and val share nothing', async () => {
  const root = tempDir();
  await makeFolder(root, 3, 4);
  symlinkSync(root, join(root, 'circle', 'back-to-root'));
  symlinkSync('.', join(root, 'square', 'self'));
  symlinkSync(join(root, 'circle', 'circle-000.png'), join(root, 'triangle', 'copy.png'));
  const layout = scanFolder(root);
  assert.equal(layout.train.length, 9, 'three images per class, no repeats');
  const reasons = new Map(layout.ignored.map((i) => [i.path, i.reason]));
  assert.match(reasons.get(join('circle', 'back-to-root'))!, /a link to a folder already read/);
  assert.match(reasons.get(join('square', 'self'))!, /a link to a folder already read/);
  assert.match(reasons.get(join('triangle', 'copy.png'))!, /the same file as circle\/circle-000\.png/);
});

test(
  'predict on a raw Teachable Machine export: its labels, and pixels in [-1, 1] as Teachable Machine feeds them',
  { skip: !existsSync(join(ROOT, '../shared/models/tm-nail-biting/model.json')) && '../shared/models is absent' },
  async () => {
    const tmDir = join(ROOT, '../shared/models/tm-nail-biting');
    const dir = tempDir();
    // a 224×224 image: no resizing, so the reference below sees exactly the pixels predict sees
    const raw = Buffer.from(Array.from({ length: 224 * 224 * 3 }, (_, i) => (i * 37 + (i % 224) * 3) % 256));
    const file = join(dir, 'x.png');
    await sharp(raw, { raw: { width: 224, height: 224, channels: 3 } })
      .png()
      .toFile(file);
    const r = cli(['predict', '-m', tmDir, file, '--json', '--backend', 'wasm']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Teachable Machine export/);
    const top = (JSON.parse(r.stdout) as { predictions: { top: { label: string; probability: number }[] }[] })
      .predictions[0]!.top;
    assert.deepEqual(top.map((t) => t.label).sort(), ['nail-biting', 'normal']);
    // reference: the model on x/127.5 − 1 (the cpu backend, the model loaded as stock tfjs would)
    await tf.setBackend('cpu');
    const { loadModel } = await import('../src/model/io.js');
    const model = await loadModel(join(tmDir, 'model.json'));
    const x = tf.tensor4d(
      Float32Array.from(raw, (v) => v / 127.5 - 1),
      [1, 224, 224, 3],
    );
    const probs = Array.from(await (model.predict(x) as tf.Tensor).data());
    const labels = ['normal', 'nail-biting'];
    for (const t of top) assert.ok(Math.abs(t.probability - probs[labels.indexOf(t.label)]!) < 1e-4, t.label);
  },
);

test("evaluate scores the run's own validation images by default (--all: the whole folder) and skips unreadable files by name", async () => {
  const root = tempDir();
  await makeFolder(root, 10, 3);
  writeFileSync(join(root, 'square', 'broken.png'), 'not a png');
  const f = join(root, 'shapes.yaml');
  writeFileSync(
    f,
    `model: { source: builtin:resnet-mini }
data: { source: ., batchSize: 16, validation: { split: 0.3 } }
stages: [{ name: head, epochs: 1, lr: 0.01 }]
`,
  );
  const out = join(root, 'run');
  assert.equal(cli(['train', '-s', f, '--out', out, '--quiet', '--backend', 'wasm']).code, 0);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const own = cli(['evaluate', '-m', out, '-d', root, '--json', '--backend', 'wasm']);
  assert.equal(own.code, 0, own.stderr);
  const r = JSON.parse(own.stdout);
  assert.equal(r.samples, summary.data.validation, 'only the held-out images');
  assert.ok(Math.abs(r.accuracy - summary.finalValAcc) < 1e-6, 'the same score the run reported');
  const all = cli(['evaluate', '-m', out, '-d', root, '--json', '--all', '--backend', 'wasm']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(JSON.parse(all.stdout).samples, 30, 'every readable image');
  assert.match(all.stderr, /skipped square\/broken\.png: /);
  assert.equal(cli(['evaluate', '-m', out, '-d', root, '--all', '--strict', '--backend', 'wasm']).code, 1);
  // the folder given relative (the README's form), through a symbolic link: still the run's own images
  const link = join(tempDir(), 'photos-link');
  symlinkSync(root, link);
  for (const [data, cwd] of [
    ['.', root],
    [link, ROOT],
    ['photos-link', dirname(link)],
  ] as const) {
    const again = cli(['evaluate', '-m', out, '-d', data, '--json', '--backend', 'wasm'], { cwd });
    assert.equal(again.code, 0, `${data}: ${again.stderr}`);
    assert.equal(JSON.parse(again.stdout).samples, summary.data.validation, `${data}: the held-out images`);
  }
  // a data folder moved since training (the run inside it moved too): the same held-out images by name
  const moved = join(tempDir(), 'moved');
  renameSync(root, moved);
  const after = cli(['evaluate', '-m', join(moved, 'run'), '-d', moved, '--json', '--backend', 'wasm']);
  assert.equal(after.code, 0, after.stderr);
  assert.equal(JSON.parse(after.stdout).samples, summary.data.validation, 'moved: the held-out images');
  // nothing to score is an error, not "NaN % on 0 images"
  const empty = join(tempDir(), 'empty');
  for (const label of JSON.parse(readFileSync(join(moved, 'run/model/labels.json'), 'utf8')) as string[]) {
    mkdirSync(join(empty, label), { recursive: true });
    writeFileSync(join(empty, label, 'broken.png'), 'not a png');
  }
  const none = cli(['evaluate', '-m', join(moved, 'run'), '-d', empty, '--backend', 'wasm']);
  assert.equal(none.code, 1, none.stdout);
  assert.match(none.stderr, /no image to score/);
  assert.doesNotMatch(none.stdout, /NaN/);
});
