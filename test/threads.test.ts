// Both cores: the threaded wasm build must load under Node and give the single-threaded results; and a
// seed must give the same run every time (which is what makes that comparison possible).
import test from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { pathToFileURL } from 'node:url';
import { privateDir, writeThreadFiles, xnnpackPool } from '../src/backend/wasm-threads.js';
import { cli, moduleProbe, ndjson, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

test('the worker script and threaded factory are extracted from the installed bundle and parse', () => {
  const dir = tempDir('ff-threads-');
  const files = writeThreadFiles(dir);
  const worker = readFileSync(files.worker, 'utf8');
  assert.ok(worker.includes(`importScripts(${JSON.stringify(files.factory)})`), 'the worker imports our factory file');
  assert.ok(!worker.includes('createObjectURL(e.data.urlOrBlob)'), 'no blob URL left for Node to choke on');
  assert.doesNotThrow(() => new vm.Script(worker));
  assert.doesNotThrow(() => new vm.Script(readFileSync(files.factory, 'utf8')));
  // a second call (another process, same version) leaves identical files
  const again = writeThreadFiles(dir);
  assert.equal(readFileSync(again.worker, 'utf8'), worker);
});

interface RunResult {
  threads: number | undefined;
  epochs: { loss: number; valLoss: number }[];
  weights: Float32Array;
}

function train(schedule: string, out: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = cli(['train', '-s', schedule, '--out', out, '--json', ...args], { env });
  assert.equal(r.code, 0, r.stderr);
  const events = ndjson(r.stdout) as Record<string, unknown>[];
  const bin = readFileSync(join(out, 'model/weights.bin'));
  return {
    threads: events[0]!['threads'] as number | undefined,
    epochs: events
      .filter((e) => e['type'] === 'epoch-end')
      .map((e) => ({ loss: e['loss'] as number, valLoss: e['valLoss'] as number })),
    weights: new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4),
  };
}

test('train: 2 wasm threads give the single-threaded losses and weights; the same seed gives the same run', () => {
  const dir = tempDir('ff-threads-');
  // head with dropout (random masks), then a stage that trains convs and BatchNorm statistics
  const f = writeSchedule(
    dir,
    tinySchedule(
      160,
      `  - { name: head, epochs: 1, lr: 3.0e-3 }
  - { name: last, epochs: 1, unfreeze: ['layer3*'], lr: 1.0e-3 }
`,
    ).replace(
      'model: { source: builtin:resnet-mini }',
      'model: { source: builtin:resnet-mini, head: [{ dropout: { rate: 0.3 } }, { dense: { units: auto, activation: softmax } }] }',
    ),
  );
  const one = train(f, join(dir, 'one'), ['--threads', '1']);
  const two = train(f, join(dir, 'two'), [], { FREEZEFLOW_THREADS: '2' });
  const oneAgain = train(f, join(dir, 'one-again'), ['--threads', '1']);
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2, "two threads really run (the digits: the SIMD kernels' helper beside a pool of 1)");
  assert.deepEqual(oneAgain.epochs, one.epochs, 'same seed, same run');
  assert.equal(one.epochs.length, 2);
  for (const [a, b] of one.epochs.map((e, i) => [e, two.epochs[i]!] as const)) {
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss), `loss ${a.loss} vs ${b.loss}`);
    assert.ok(Math.abs(a.valLoss - b.valLoss) <= 1e-5 * Math.abs(a.valLoss), `val loss ${a.valLoss} vs ${b.valLoss}`);
  }
  assert.equal(two.weights.length, one.weights.length);
  let worst = 0;
  for (let i = 0; i < one.weights.length; i++)
    worst = Math.max(worst, Math.abs(one.weights[i]! - two.weights[i]!) / (1e-3 + Math.abs(one.weights[i]!)));
  assert.ok(worst <= 1e-4, `largest relative weight difference ${worst}`);
  // a different seed is a different run (the comparison above is not trivially true)
  const other = train(f, join(dir, 'other'), ['--threads', '1', '--seed', '9']);
  assert.notDeepEqual(other.epochs, one.epochs);
});

test('train: a bad thread count is a one-line usage error', () => {
  const dir = tempDir('ff-threads-');
  const f = writeSchedule(dir, tinySchedule(64, `  - { name: head, epochs: 1 }\n`));
  for (const [args, env, what] of [
    [['--threads', '0'], {}, '--threads'],
    [[], { FREEZEFLOW_THREADS: 'many' }, 'FREEZEFLOW_THREADS'],
  ] as const) {
    const r = cli(['train', '-s', f, '--out', join(dir, 'run'), ...args], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(what));
  }
});

test('the threaded-wasm worker files live in a folder only this user can write', async () => {
  const before = process.env['TMPDIR'];
  process.env['TMPDIR'] = tempDir('ff-tmp-');
  try {
    const files = writeThreadFiles();
    const dir = privateDir();
    assert.equal(dirname(dirname(files.worker)), dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    // left open to others (planted, or loosened): not trusted, a fresh private folder instead
    chmodSync(dir, 0o777);
    const other = privateDir();
    assert.notEqual(other, dir);
    assert.equal(statSync(other).mode & 0o777, 0o700);
  } finally {
    if (before === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = before;
  }
});

// One short run on 2 threads with XNNPACK's pool at POOL, in its own process (the pool is fixed once the
// module starts): the backend's report and a hash of the trained weights.
const POOL_PROBE = `
const at = (f) => import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src')).href)} + f);
const { initBackend } = await at('/backend/index.js');
const report = await initBackend('wasm', { threads: 2, pool: Number(process.env.POOL) });
const tf = await at('/tf.js');
const { parseSchedule } = await at('/schedule/load.js');
const { buildPlan, resolvePlan } = await at('/schedule/plan.js');
const { loadModel } = await at('/model/io.js');
const { attachHead, cutModel } = await at('/model/surgery.js');
const { listLayers } = await at('/model/layers.js');
const { loadBuiltinDataset } = await at('/data/mnist.js');
const { memorySource, subset } = await at('/data/dataset.js');
const { EventBus } = await at('/core/events.js');
const { runStages } = await at('/train/runner.js');
const { seedStream } = await at('/core/random.js');
seedStream(5);
const plan = buildPlan(parseSchedule(\`model: { source: x }
data: { source: y, batchSize: 32, shuffle: false }
stages: [{ name: last, epochs: 1, unfreeze: ['layer3*'] }, { name: all, epochs: 1, unfreeze: ['*'] }]
\`).schedule, 't');
const model = attachHead(cutModel(await loadModel('builtin:resnet-mini')), [{ dense: { units: 'auto' } }], 5);
const digits = subset(loadBuiltinDataset('mnist-5-9'), Array.from({ length: 96 }, (_, i) => i));
await runStages({ plan, resolved: resolvePlan(plan, listLayers(model)), model, bus: new EventBus(), runDir: '',
  data: { train: memorySource(digits), val: memorySource(digits) } });
const bytes = new Uint8Array(tf.concat(model.getWeights().map((w) => tf.reshape(w, [-1]))).dataSync().buffer);
const { createHash } = await import('node:crypto');
console.log(JSON.stringify({ report, weights: createHash('sha256').update(bytes).digest('hex') }));
`;

function poolRun(pool: number): { report: Record<string, unknown>; weights: string } {
  return moduleProbe(POOL_PROBE, { POOL: String(pool) });
}

test("XNNPACK's pool of 1 beside the SIMD kernels' helper: 2 threads, the same weights bit for bit as a pool of 2", () => {
  const one = poolRun(1);
  const two = poolRun(2);
  assert.equal(two.report['threads'], 2);
  assert.equal(two.report['pool'], undefined, 'the whole pool: no pool field');
  if (one.report['kernels'] !== 'off') {
    assert.equal(one.report['threads'], 2, "the SIMD kernels' helper is the second thread");
    assert.equal(one.report['pool'], 1);
    assert.equal(one.report['threadsNote'], undefined);
  }
  assert.equal(one.weights, two.weights);
  // the digits' default: images under 64×64 on 2 threads take the pool of 1; larger ones the whole pool
  assert.equal(xnnpackPool(2, 28 * 28), 1);
  assert.equal(xnnpackPool(2, 160 * 160), 2);
  assert.equal(xnnpackPool(4, 28 * 28), 4);
  assert.equal(xnnpackPool(2), 2);
});
