import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from './helpers.js';

test('--version, --help and unknown commands', () => {
  assert.match(cli(['--version']).stdout, /^\d+\.\d+\.\d+/);
  assert.equal(cli(['--help']).code, 0);
  const bad = cli(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command/);
});

test('validate: exit 0 on the examples, 2 with file:line:col errors, JSON for scripts; no colour in pipes', () => {
  const ok = cli(['validate', 'schedules/progressive.yaml', 'schedules/full-freeze.yaml']);
  assert.equal(ok.code, 0);
  assert.doesNotMatch(ok.stdout, /\x1b\[/);
  const dir = tempDir();
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'model: { source: x }\ndata: { source: y }\nstages:\n  - { name: a, epochs: 2, lr: -1 }\n');
  const bad = cli(['validate', f]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), `${f}:4:31: stages[0].lr must be a number > 0 (got -1)`);
  const json = cli(['validate', '--json', f]);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.valid, false);
  assert.equal(parsed.issues[0].location.line, 4);
  assert.match(cli(['validate', join(dir, 'missing.yaml')]).stderr, /cannot read schedule .*no such file/);
});

test('plan: text and JSON; --model resolves patterns; a pattern matching nothing is an error', () => {
  const text = cli(['plan', '-s', 'schedules/progressive.yaml']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /Stage 3\/3 all {2}epochs 16–20/);
  const json = JSON.parse(cli(['plan', '-s', 'schedules/progressive.yaml', '--json', '--model']).stdout);
  assert.equal(json.stages.length, 3);
  assert.deepEqual(json.stages[0].trainable.sort(), ['head/dense_1', 'head/dense_2', 'head/dropout_1']);
  assert.ok(json.stages[1].trainable.includes('layer3_0_conv1'));
  assert.ok(!json.stages[1].trainable.includes('layer2_0_conv1'));
  assert.ok(json.stages[2].trainableParams > json.stages[1].trainableParams);
  assert.ok(Math.abs(json.stages[2].epochLr[4] - 1e-7) < 1e-12);
  const dir = tempDir();
  const f = join(dir, 's.yaml');
  writeFileSync(
    f,
    "model: { source: builtin:resnet-mini }\ndata: { source: builtin:mnist-5-9 }\nstages:\n  - { name: a, epochs: 1, unfreeze: ['layer4*'] }\n",
  );
  const bad = cli(['plan', '-s', f, '--model']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /s\.yaml:4:38: stages\[0\] 'a': pattern 'layer4\*' matches no layer; closest layers: /);
});

test('init: writes a valid commented schedule; recommends by data-set size', () => {
  const dir = tempDir();
  const r = cli(['init', '--samples', '5000', '--out', 'mine.yaml'], { cwd: dir });
  assert.equal(r.code, 0);
  assert.match(r.stderr, /recommended: progressive/);
  const text = readFileSync(join(dir, 'mine.yaml'), 'utf8');
  assert.match(text, /^# /m);
  assert.match(text, /samples: 5000/);
  assert.equal(cli(['validate', join(dir, 'mine.yaml')]).code, 0);
  assert.match(cli(['init', '--samples', '300', '--out', '-']).stderr, /recommended: full-freeze/);
  assert.match(cli(['init', '--samples', '50000', '--out', '-']).stderr, /recommended: full-unfreeze/);
  assert.equal(
    cli(['init', '--strategy', 'selective', '--out', 'mine.yaml'], { cwd: dir }).code,
    2,
    'no silent overwrite',
  );
  assert.equal(cli(['init']).code, 2);
});

test('inspect: builtin model, JSON, --grep, --schedule columns', () => {
  const t = cli(['inspect', 'builtin:resnet-mini']);
  assert.equal(t.code, 0);
  assert.match(t.stdout, /stem_bn +BatchNormalization/);
  assert.match(t.stdout, /total: \d+ layers/);
  const j = JSON.parse(cli(['inspect', 'builtin:resnet-mini', '--json', '--grep', 'layer3*']).stdout);
  assert.ok(j.layers.every((l: { path: string }) => l.path.startsWith('layer3')));
  const s = JSON.parse(
    cli(['inspect', 'builtin:resnet-mini', '--json', '--schedule', 'schedules/progressive.yaml']).stdout,
  );
  assert.equal(s.stages.length, 3);
  assert.ok(s.stages[0].trainableParams < s.stages[1].trainableParams);
  assert.equal(cli(['inspect', 'nope/model.json']).code, 1);
});

test('train: a short run end to end writes model, metrics, events, summary; --json streams NDJSON; resume', () => {
  const dir = tempDir();
  const f = join(dir, 'tiny.yaml');
  writeFileSync(
    f,
    `model: { source: builtin:resnet-mini }
data: { source: builtin:mnist-5-9, samples: 128, batchSize: 32, validation: { split: 0.05 } }
stages:
  - { name: head, epochs: 1, lr: 1.0e-3 }
  - { name: last, epochs: 1, unfreeze: ['layer3*'], lr: 1.0e-4 }
`,
  );
  const out = join(dir, 'run');
  const r = cli(['train', '-s', f, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(events[0].type, 'run-start');
  assert.equal(events[0].backend, 'wasm');
  assert.equal(events.at(-1).type, 'run-end');
  assert.equal(events.filter((e) => e.type === 'epoch-end').length, 2);
  assert.equal(events.filter((e) => e.type === 'gradient-report').length, 2);
  for (const p of [
    'model/model.json',
    'model/labels.json',
    'metrics.csv',
    'events.ndjson',
    'summary.json',
    'schedule.yaml',
    'checkpoints/last/state.json',
    'checkpoints/best/model.json',
  ]) {
    assert.ok(existsSync(join(out, p)), p);
  }
  const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'stage,epoch,lr,trainable_params,loss,acc,val_loss,val_acc,seconds');
  assert.equal(csv.length, 3);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'completed');
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'model/labels.json'), 'utf8')), ['5', '6', '7', '8', '9']);
  // the run finished, so resuming it trains nothing more and still succeeds
  const again = cli(['train', '--resume', out, '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(cli(['train', '-s', f, '--out', out]).code, 2, 'a finished run directory is not overwritten');
});
