// freezeflow as a consumer uses it: `import ... from 'freezeflow'` in a project of its own, with types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import * as tf from '../src/tf.js';
import { loadModel } from '../src/model/io.js';
import { cli, ROOT, tempDir, tinySchedule } from './helpers.js';

/** A consumer project whose node_modules/freezeflow is this package. */
function consumer(): string {
  const dir = tempDir('ff-consumer-');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'freezeflow'));
  writeFileSync(join(dir, 'schedule.yaml'), tinySchedule(32, `  - { name: head, epochs: 1, lr: 1.0e-3 }\n`));
  // a head with dropout: its masks come from the run's seeded stream
  const drop = tinySchedule(64, `  - { name: head, epochs: 2, lr: 1.0e-3 }\n`).replace(
    'model: { source: builtin:resnet-mini }',
    'model: { source: builtin:resnet-mini, head: [{ dropout: { rate: 0.5 } }, { dense: { units: auto, activation: softmax } }] }',
  );
  writeFileSync(join(dir, 'dropout.yaml'), drop);
  return dir;
}

test('library: load, plan and train a schedule from another project, with an event callback', () => {
  const dir = consumer();
  writeFileSync(
    join(dir, 'use.mjs'),
    `import { loadSchedule, plan, train, ScheduleError } from 'freezeflow';
const loaded = loadSchedule('schedule.yaml');
const p = plan(loaded);
let bad;
try { loadSchedule({ text: 'model: {}', file: 'x.yaml' }); } catch (e) { bad = e instanceof ScheduleError; }
const seen = [];
const mine = Math.random;
const r = await train({ schedule: 'schedule.yaml', out: 'run', backend: 'wasm' }, (e) => seen.push(e.type));
console.log(JSON.stringify({ stages: p.stages.length, bad, status: r.status, ends: seen.filter((t) => t === 'epoch-end').length, random: Math.random === mine }));
`,
  );
  const r = spawnSync(process.execPath, ['use.mjs'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), {
    stages: 1,
    bad: true,
    status: 'completed',
    ends: 1,
    random: true,
  });
});

test("library: a run neither replaces nor reads the caller's Math.random (seeded dropout all the same)", () => {
  const dir = consumer();
  writeFileSync(
    join(dir, 'use.mjs'),
    `import { readFileSync } from 'node:fs';
import { train } from 'freezeflow';
const mine = Math.random;
let replaced = false;
// the caller draws from Math.random while the run goes on: the run's numbers must not move
const busy = () => { if (Math.random !== mine) replaced = true; for (let i = 0; i < 50; i++) Math.random(); };
const a = await train({ schedule: 'dropout.yaml', out: 'a', backend: 'wasm' }, busy);
const b = await train({ schedule: 'dropout.yaml', out: 'b', backend: 'wasm' });
const history = (d) => JSON.parse(readFileSync(d + '/summary.json', 'utf8')).history.map((h) => [h.loss, h.valLoss]);
console.log(JSON.stringify({ status: [a.status, b.status], replaced, same: JSON.stringify(history('a')) === JSON.stringify(history('b')) }));
`,
  );
  const r = spawnSync(process.execPath, ['use.mjs'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), {
    status: ['completed', 'completed'],
    replaced: false,
    same: true,
  });
});

test('library: the types resolve for a TypeScript consumer (exports + .d.ts)', () => {
  const dir = consumer();
  writeFileSync(
    join(dir, 'use.ts'),
    `import { loadSchedule, plan, type RunEvent } from 'freezeflow';
const p = plan(loadSchedule('schedule.yaml'));
const first: number = p.stages[0]!.lastEpoch;
const onEvent = (e: RunEvent): string => e.type;
export { first, onEvent };
`,
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--skipLibCheck', 'use.ts'],
    { cwd: dir, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('library: a strict TypeScript consumer compiles without skipLibCheck (every export used, tfjs types opt-in)', () => {
  const dir = consumer();
  writeFileSync(
    join(dir, 'use.ts'),
    `import { evaluate, loadModel, loadSchedule, plan, predict, readSummary, train, UserError } from 'freezeflow';
import type { EvaluateResult, LayersModelLike, PredictResult, RunEvent, Schedule, TrainResult } from 'freezeflow';
const p = plan(loadSchedule('schedule.yaml'));
const lastEpoch: number = p.stages[0]!.lastEpoch;
const schedule: Schedule = loadSchedule('schedule.yaml').schedule;
const onEvent = (e: RunEvent): string => e.type;
const run: TrainResult = await train({ schedule: 'schedule.yaml', out: 'run' }, onEvent);
const model: LayersModelLike = await loadModel('run');
const names: string[] = model.layers.map((l) => l.name);
const r: PredictResult = await predict('run', ['a.png'], { top: 2, backend: 'wasm' });
const best: string | undefined = r.predictions[0]?.top[0]?.label;
let e: EvaluateResult | number;
try { e = await evaluate('run', 'data', { all: true }); } catch (err) { e = err instanceof UserError ? err.exitCode : 1; }
export { lastEpoch, schedule, run, names, best, e, readSummary };
`,
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--strict', '--exactOptionalPropertyTypes', '--noUncheckedIndexedAccess', '--noImplicitOverride'];
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      ...flags,
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'es2022',
      'use.ts',
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

/** `perClass` real MNIST digits of each class 0–4 as 28×28 PNGs in class folders; their pixels, in order. */
async function digitFolder(root: string, perClass: number): Promise<{ files: string[]; pixels: Uint8Array[] }> {
  const dir = join(ROOT, 'models/mnist');
  const { counts } = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { counts: number[] };
  const bytes = gunzipSync(readFileSync(join(dir, 'digits.u8.gz')));
  const files: string[] = [];
  const pixels: Uint8Array[] = [];
  for (let d = 0; d < 5; d++) {
    mkdirSync(join(root, String(d)));
    const first = counts.slice(0, d).reduce((a, b) => a + b, 0);
    for (let i = 0; i < perClass; i++) {
      const px = bytes.subarray((first + i * 7) * 784, (first + i * 7 + 1) * 784);
      const file = join(root, String(d), `${i}.png`);
      await sharp(Buffer.from(px), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(file);
      files.push(file);
      pixels.push(px);
    }
  }
  return { files, pixels };
}

test("library: predict and evaluate give the model's own outputs (tfjs on the raw pixels) and agree with the CLI", async () => {
  const dir = consumer();
  const data = join(dir, 'digits');
  mkdirSync(data);
  const { files, pixels } = await digitFolder(data, 6);
  const missing = join(dir, 'nope.png');
  writeFileSync(
    join(dir, 'use.mjs'),
    `import { evaluate, predict, UserError } from 'freezeflow';
const files = JSON.parse(process.argv[2]);
const p = await predict('builtin:resnet-mini', files, { top: 5, backend: 'wasm' });
const e = await evaluate('builtin:resnet-mini', 'digits', { backend: 'wasm' });
let refused;
try { await evaluate('builtin:resnet-mini', 'nowhere', { backend: 'wasm' }); } catch (err) { refused = err instanceof UserError && err.exitCode; }
console.log(JSON.stringify({ p, e, refused }));
`,
  );
  const r = spawnSync(process.execPath, ['use.mjs', JSON.stringify([...files, missing])], {
    cwd: dir,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const { p, e, refused } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    p: { predictions: { file: string; output: number[]; top: { label: string }[] }[]; errors: { file: string }[] };
    e: { accuracy: number; samples: number; confusion: number[][] };
    refused: number;
  };
  // reference: the builtin model itself, on the cpu backend, on pixels / 255
  await tf.setBackend('cpu');
  const model = await loadModel(join(ROOT, 'models/resnet-mini/model.json'));
  const x = tf.tensor4d(
    Float32Array.from(Buffer.concat(pixels), (v) => v / 255),
    [files.length, 28, 28, 1],
  );
  const want = (await (model.predict(x) as tf.Tensor).array()) as number[][];
  assert.deepEqual(
    p.predictions.map((q) => q.file),
    files,
  );
  assert.deepEqual(p.errors, [{ file: missing, error: 'no such file' }]);
  for (const [i, q] of p.predictions.entries()) {
    assert.ok(Math.max(...q.output.map((v, c) => Math.abs(v - want[i]![c]!))) < 1e-5, q.file);
    const best = want[i]!.indexOf(Math.max(...want[i]!));
    assert.equal(q.top[0]!.label, String(best), q.file);
  }
  const truth = files.map((f) => Number(f.split('/').at(-2)));
  const right = want.filter((row, i) => row.indexOf(Math.max(...row)) === truth[i]).length;
  assert.equal(e.samples, files.length);
  assert.equal(e.accuracy, right / files.length);
  assert.equal(refused, 1, 'a folder that is not there: UserError');
  // the CLI prints the same report
  const c = cli(['evaluate', '-m', 'builtin:resnet-mini', '-d', data, '--json', '--backend', 'wasm']);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(JSON.parse(c.stdout).confusion, e.confusion);
});
