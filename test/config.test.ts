// Config habits from Lightning and MMEngine: --set any key, --print-config (the resolved schedule loads
// again and plans the same), a schedule on stdin, and every run folder keeping its config and environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan } from '../src/schedule/plan.js';
import { resolvedYaml } from '../src/schedule/resolved.js';
import { cli, ROOT, tempDir, tinySchedule } from './helpers.js';

const planOf = (text: string, file: string, sets: string[] = []) => {
  const loaded = parseSchedule(text, file, sets);
  return buildPlan(loaded.schedule, loaded.name);
};

test('the resolved schedule of every shipped schedule (with --set overrides) loads again and plans the same', () => {
  const files = ['', 'compare/', 'compare-adapters/'].flatMap((sub) =>
    readdirSync(join(ROOT, 'schedules', sub))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(ROOT, 'schedules', sub, f)),
  );
  assert.ok(files.length >= 10);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const auto = /^stages: auto$/m.test(text);
    const stageSets = auto
      ? ['auto.epochs=7', 'auto.lrDecay=0.3']
      : ['stages.0.lr=2e-4', 'stages.0.scheduler={ type: cosine }'];
    for (const sets of [[], [...stageSets, 'data.batchSize=16']]) {
      const plan = planOf(text, file, sets);
      const again = planOf(resolvedYaml(plan), 'resolved.yaml');
      assert.deepEqual(again, plan, `${file} ${sets.join(' ')}`);
    }
  }
  // the overrides really landed
  const plan = planOf(readFileSync(join(ROOT, 'schedules/progressive.yaml'), 'utf8'), 'p.yaml', [
    'stages.last-block.lr=3e-4',
    'data.batchSize=32',
    'data.augment.flip=true',
  ]);
  assert.equal(plan.stages[1]!.lr, 3e-4);
  assert.equal(plan.data.batchSize, 32);
  assert.equal(plan.data.augment.flip, true);
});

test('--set errors name the flag: a bad value, an unknown key (with a hint), a stage that is not there', () => {
  const base = ['plan', '-s', 'schedules/progressive.yaml', '--set'];
  const cases: [string, RegExp][] = [
    ['stages.1.lr=abc', /^--set stages\.1\.lr=abc: stages\[1\]\.lr must be a number > 0 or 'find' \(got "abc"\)$/m],
    ['data.batchsize=32', /^--set data\.batchsize=32: data: unknown key 'batchsize' \(did you mean 'batchSize'\?\)/m],
    ['stages.9.lr=1', /^--set stages\.9\.lr=1: stages has 3 items \(0–2, or by name: head, last-block, all\)/m],
    ['lr', /^--set lr: expected KEY=VALUE/m],
    ['data.augment.flip=[1', /^--set data\.augment\.flip=\[1: the value is not valid YAML/m],
    // a key in the wrong section says where it lives; a key the flag itself made is blamed on the flag
    [
      'training.batchSize=8',
      /^--set training\.batchSize=8: training: unknown key 'batchSize'; 'batchSize' belongs at data\.batchSize;/m,
    ],
    [
      'optimizer.epsilon=1e-8',
      /^--set optimizer\.epsilon=1e-8: unknown key 'optimizer'; 'optimizer' belongs at stages\.N\.optimizer;/m,
    ],
    ['flip=true', /^--set flip=true: unknown key 'flip'; 'flip' belongs at data\.augment\.flip;/m],
    // `optimizer: adam` is a short form: the flag cannot reach inside it, and says how to write it out
    [
      'stages.0.optimizer.epsilon=1e-8',
      /^--set stages\.0\.optimizer\.epsilon=1e-8: stages\[0\]\.optimizer is "adam", a single value with no 'epsilon' inside; write it out: --set stages\.0\.optimizer='\{ type: adam, epsilon: … \}'$/m,
    ],
  ];
  for (const [set, message] of cases) {
    const r = cli([...base, set]);
    assert.equal(r.code, 2, set);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${set}: ${r.stderr}`);
  }
});

test('train -s - reads stdin; the run keeps config.yaml (loads again) and environment.json; resume keeps --set', () => {
  const dir = tempDir('ff-config-');
  const out = join(dir, 'run');
  const text = tinySchedule(
    64,
    `  - { name: head, epochs: 1, lr: 1.0e-3 }\n  - { name: all, epochs: 1, unfreeze: ['*'] }\n`,
  );
  const run = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/freezeflow'), 'train', '-s', '-', '--out', out, '--quiet', '--backend', 'wasm'].concat([
      '--set',
      'stages.1.lr=5e-4',
    ]),
    { cwd: dir, input: text, encoding: 'utf8', env: { ...process.env, FREEZEFLOW_FAULT: 'stage-end:1' } },
  );
  assert.equal(run.status, null, 'killed at the end of the stage (so that it can be resumed)');
  assert.equal(readFileSync(join(out, 'schedule.yaml'), 'utf8'), text, 'the schedule as it came on stdin');
  const config = readFileSync(join(out, 'config.yaml'), 'utf8');
  const plan = planOf(config, join(out, 'config.yaml'));
  assert.equal(plan.stages[1]!.lr, 5e-4, 'config.yaml holds the --set value');
  const env = JSON.parse(readFileSync(join(out, 'environment.json'), 'utf8'));
  assert.equal(env.backend, 'wasm');
  assert.match(env.tfjs, /^\d+\.\d+\.\d+/);
  assert.equal(env.node, process.version);
  assert.equal(env.freezeflow, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  const resumed = cli(['train', '--resume', out, '--json'], { cwd: dir });
  assert.equal(resumed.code, 0, resumed.stderr);
  const epochs = resumed.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === 'epoch-end');
  assert.ok(epochs.length > 0);
  for (const e of epochs) assert.ok(Math.abs(e.lr - 5e-4) < 1e-12, `resumed with the --set lr, got ${e.lr}`);
  // the printed config is what the run folder keeps
  const printed = cli(['train', '-s', join(out, 'schedule.yaml'), '--set', 'stages.1.lr=5e-4', '--print-config']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(plan.name, 'stdin', 'a schedule from stdin without name: is called stdin');
  assert.deepEqual({ ...planOf(printed.stdout, 'printed.yaml'), name: 'stdin' }, plan);
});

test('a resumed run keeps the --backend it was started with (not the schedule default, auto)', () => {
  const dir = tempDir('ff-config-');
  const out = join(dir, 'run');
  const f = join(dir, 'two.yaml');
  writeFileSync(
    f,
    tinySchedule(32, `  - { name: a, epochs: 1, lr: 1.0e-3 }\n  - { name: b, epochs: 1, lr: 1.0e-4 }\n`),
  );
  const first = cli(['train', '-s', f, '--out', out, '--quiet', '--backend', 'cpu'], {
    env: { FREEZEFLOW_FAULT: 'stage-end:1' },
  });
  assert.equal(first.code, null, 'killed after the first stage');
  const resumed = cli(['train', '--resume', out, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout.split('\n')[0]!).backend, 'cpu');
});
