// output.metrics: the metrics-file kinds as a table (names, options, what writes each), their options at
// work in a real run, and the checks on the list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPORTERS } from '../src/schedule/reporters/index.js';
import { FILE_REPORTERS } from '../src/report/reporters/index.js';
import { scheduleJsonSchema } from '../src/schedule/schema.js';
import { cli, tempDir, tinySchedule, writeSchedule } from './helpers.js';

test('the metrics-file table: the schema lists its kinds and options; each kind has a reporter', () => {
  const text = JSON.stringify(scheduleJsonSchema());
  for (const k of REPORTERS) assert.ok(text.includes(`"const":"${k.type}"`), k.type);
  assert.deepEqual(Object.keys(FILE_REPORTERS).sort(), REPORTERS.map((k) => k.type).sort());
});

/** Every file under `dir`, as one string (the TensorBoard tags are plain bytes in the records). */
const tensorboardBytes = (dir: string) =>
  ['train', 'validation']
    .flatMap((run) => readdirSync(join(dir, run)).map((f) => readFileSync(join(dir, run, f)).toString('latin1')))
    .join('');

function train(metrics: string | undefined) {
  const dir = tempDir('ff-metrics-');
  const yaml =
    tinySchedule(64, `  - { name: head, epochs: 1 }\n`) + (metrics ? `output: { metrics: ${metrics} }\n` : '');
  const out = join(dir, 'run');
  const r = cli(['train', '-s', writeSchedule(dir, yaml), '--out', out, '--quiet', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const events = readFileSync(join(out, 'events.ndjson'), 'utf8').trim().split('\n');
  return {
    out,
    layersCsv: existsSync(join(out, 'layers.csv')),
    batchLines: events.filter((l) => (JSON.parse(l) as { type: string }).type === 'batch-end').length,
    layerTags: tensorboardBytes(join(out, 'tensorboard')).includes('layers/grad_norm/'),
    config: parse(readFileSync(join(out, 'config.yaml'), 'utf8')) as { output: { metrics: unknown } },
  };
}

test("each metrics file's options change what it writes; defaults as before, and config.yaml says them back", () => {
  const plain = train(undefined);
  assert.deepEqual([plain.layersCsv, plain.batchLines, plain.layerTags], [true, 0, true]);
  assert.deepEqual(plain.config.output.metrics, ['csv', 'ndjson', 'tensorboard'], 'defaults as bare names');
  const asked = '[{ type: csv, layers: false }, { type: ndjson, batches: true }, { type: tensorboard, layers: false }]';
  const tuned = train(asked);
  assert.equal(tuned.layersCsv, false, 'csv without layers.csv');
  assert.ok(existsSync(join(tuned.out, 'metrics.csv')));
  // 64 samples, 5 % held out, batches of 32: 2 steps
  assert.equal(tuned.batchLines, 2, 'ndjson with one batch-end line per step');
  assert.equal(tuned.layerTags, false, 'tensorboard without the per-layer scalars');
  assert.deepEqual(tuned.config.output.metrics, [
    { type: 'csv', layers: false },
    { type: 'ndjson', batches: true },
    { type: 'tensorboard', layers: false },
  ]);
});

test('a metrics file listed twice, or an unknown option, is one line at its key (exit 2)', () => {
  const dir = tempDir('ff-metrics-');
  const check = (metrics: string) =>
    cli([
      'validate',
      writeSchedule(dir, tinySchedule(64, `  - { name: head, epochs: 1 }\n`) + `output: { metrics: ${metrics} }\n`),
    ]);
  const twice = check('[csv, { type: csv, layers: false }]');
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /:5:26: output\.metrics\[1\]: csv is listed twice; keep one entry/);
  const unknown = check('[{ type: ndjson, batch: true }]');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /output\.metrics\[0\]/);
});
