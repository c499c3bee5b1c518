import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSchedule } from '../src/schedule/load.js';
import { ScheduleError, formatIssue } from '../src/core/issues.js';
import { buildPlan } from '../src/schedule/plan.js';
import { scheduleJsonSchema } from '../src/schedule/schema.js';
import { OPTIMIZERS } from '../src/schedule/optimizers/index.js';
import { ROOT } from './helpers.js';

const BASE = `model:
  source: builtin:resnet-mini
data:
  source: builtin:mnist-5-9
`;

function issues(text: string): string[] {
  try {
    parseSchedule(text, 't.yaml');
  } catch (err) {
    assert.ok(err instanceof ScheduleError);
    return err.issues.map(formatIssue);
  }
  assert.fail('expected the schedule to be rejected');
}

test('the committed JSON Schema is exactly what the TypeBox definition builds', () => {
  const committed = JSON.parse(readFileSync(join(ROOT, 'schemas/schedule.schema.json'), 'utf8')) as {
    $id: string;
    properties: { stages: { description: string } };
  };
  assert.deepEqual(committed, scheduleJsonSchema());
  assert.equal(committed.$id, 'https://freezeflow.dev/schemas/schedule.schema.json');
  assert.ok(committed.properties.stages.description.length > 0);
});

test('every shipped example schedule is valid', () => {
  const files = readdirSync(join(ROOT, 'schedules')).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const loaded = parseSchedule(readFileSync(join(ROOT, 'schedules', f), 'utf8'), f);
    assert.ok(buildPlan(loaded.schedule, loaded.name).stages.length > 0, f);
  }
});

test('the progressive example is the three-phase recipe', () => {
  const loaded = parseSchedule(readFileSync(join(ROOT, 'schedules/progressive.yaml'), 'utf8'), 'p.yaml');
  const plan = buildPlan(loaded.schedule, loaded.name);
  assert.deepEqual(
    plan.stages.map((s) => [s.firstEpoch, s.lastEpoch, s.lr, s.weightDecay, s.scheduler.type]),
    [
      [1, 5, 1e-3, 0, 'constant'],
      [6, 15, 1e-4, 1e-4, 'constant'],
      [16, 20, 1e-5, 1e-4, 'cosine'],
    ],
  );
  assert.equal(plan.stages[1]!.weightDecayMode, 'decoupled');
});

test('wrong value: file:line:col, path, expectation and the value got', () => {
  const text = `${BASE}stages:
  - name: head
    epochs: 5
  - name: two
    epochs: 3
    lr: 1e-4x
`;
  assert.deepEqual(issues(text), [`t.yaml:10:9: stages[1].lr must be a number > 0 or 'find' (got "1e-4x")`]);
});

test('unknown keys are errors with a did-you-mean hint, and all errors are reported at once', () => {
  const text = `${BASE}  batchsize: 32
stages:
  - name: head
    epochs: 5
    optimiser: adam
    scheduler: { type: cosin }
`;
  const got = issues(text);
  assert.equal(got.length, 3);
  assert.match(got[0]!, /^t\.yaml:5:3: data: unknown key 'batchsize' \(did you mean 'batchSize'\?\)/);
  assert.match(got[1]!, /^t\.yaml:9:5: stages\[0\]: unknown key 'optimiser' \(did you mean 'optimizer'\?\)/);
  assert.match(
    got[2]!,
    /^t\.yaml:10:24: stages\[0\]\.scheduler\.type must be one of .*'cosine'.* \(did you mean 'cosine'\?\)/,
  );
  // a key in the wrong section: where it lives instead
  const misplaced = issues(`${BASE}  lr: 0.01\nstages:\n  - { name: head, epochs: 1 }\n`);
  assert.match(misplaced[0]!, /^t\.yaml:5:3: data: unknown key 'lr'; 'lr' belongs at stages\.N\.lr; allowed: /);
});

test('union errors name the branch the user meant', () => {
  const text = `model:
  source: x
  head:
    - dens: { units: 10 }
    - dense: { units: 0 }
${BASE.split('\n').slice(2).join('\n')}stages:
  - { name: a, epochs: 2, optimizer: adm, scheduler: { type: step, stepsize: 2 } }
`;
  const got = issues(text);
  assert.ok(
    got.some((g) => /model\.head\[0\] must be a mapping with one of the keys dense.*did you mean 'dense'/.test(g)),
    got.join('\n'),
  );
  assert.ok(
    got.some((g) =>
      /^t\.yaml:5:23: model\.head\[1\]\.dense\.units must be an integer >= 1 or 'auto' \(got 0\)$/.test(g),
    ),
    got.join('\n'),
  );
  // the list comes from the optimizer table: adding a kind changes the message and this expectation alike
  const kinds = OPTIMIZERS.map((k) => `'${k.type}'`).join(', ');
  assert.ok(
    got.some((g) => g.includes(`stages[0].optimizer must be one of ${kinds} (got "adm") (did you mean 'adam'?)`)),
    got.join('\n'),
  );
  // a misspelt required key is one line: the unknown key and what it should be, not also "missing"
  assert.ok(
    got.some((g) => /stages\[0\]\.scheduler: unknown key 'stepsize' \(did you mean 'stepSize'\?\)/.test(g)),
    got.join('\n'),
  );
  assert.ok(!got.some((g) => /missing the required key 'stepSize'/.test(g)));
});

test('invalid YAML syntax gets the same file:line:col form', () => {
  const got = issues('model:\n  source: [a, b\nstages: 3\n');
  assert.equal(got.length >= 1, true);
  assert.match(got[0]!, /^t\.yaml:\d+:\d+: invalid YAML: /);
  assert.match(issues('a: 1\na: 2\n')[0]!, /^t\.yaml:2:1: invalid YAML: .*unique/i);
});

test('semantic checks: overlap, gap, order, start, minLr, warm-up, lr groups, empty', () => {
  const stages = (s: string) => `${BASE}stages:\n${s}`;
  assert.match(
    issues(stages('  - { name: a, epochs: [1, 5] }\n  - { name: b, epochs: [5, 8] }\n'))[0]!,
    /t\.yaml:7:24: stages\[1\] 'b': epochs 5–8 overlap 'a' \(epochs 1–5\); start at epoch 6/,
  );
  assert.match(
    issues(stages('  - { name: a, epochs: [1, 5] }\n  - { name: b, epochs: [8, 9] }\n'))[0]!,
    /gap: epochs 6–7 belong to no stage/,
  );
  assert.match(
    issues(stages('  - { name: a, epochs: [4, 5] }\n  - { name: b, epochs: [1, 3] }\n')).join('\n'),
    /stages out of order/,
  );
  assert.match(
    issues(stages('  - { name: a, epochs: [2, 5] }\n'))[0]!,
    /gap: epoch 1 belongs to no stage; the first stage must start at epoch 1/,
  );
  assert.match(issues(stages('  - { name: a, epochs: [5, 2] }\n'))[0]!, /ends before it starts/);
  assert.match(
    issues(stages('  - { name: a, epochs: 3, lr: 0.01, scheduler: { type: cosine, minLr: 0.1 } }\n'))[0]!,
    /minLr 0\.1 must be below the stage lr 0\.01/,
  );
  assert.match(
    issues(stages('  - { name: a, epochs: 3, scheduler: { type: cosine, warmup: 3 } }\n'))[0]!,
    /warm-up of 3 epochs is not shorter than the stage \(3 epochs\)/,
  );
  assert.match(
    issues(stages('  - { name: a, epochs: 3, lrGroups: [{ layers: [x], lr: 1, lrMultiplier: 2 }] }\n'))[0]!,
    /lrGroups\[0\] needs exactly one of lr or lrMultiplier/,
  );
  assert.match(issues(stages('  - { name: a, epochs: 1 }\n  - { name: a, epochs: 1 }\n'))[0]!, /name is already used/);
  assert.match(issues(stages('  - { name: a, epochs: 1, freeze: ["re:("] }\n'))[0]!, /invalid regular expression/);
  assert.match(issues(`${BASE}stages: []\n`)[0]!, /stages/);
  // batch warm-up is checked when the number of batches is knowable: samples is the training-set size
  // (after the validation split), so 640 samples at batch 64 are 10 batches
  const batchWarm = (w: number) =>
    `model: { source: x }\ndata: { source: y, samples: 640 }\nstages:\n  - { name: a, epochs: 1, scheduler: { type: constant, warmup: ${w}, stepPer: batch } }\n`;
  assert.match(issues(batchWarm(10))[0]!, /warm-up of 10 batches is not shorter than the stage \(10 batches\)/);
  // the regression: 9 of 10 batches was rejected as 9 of 8
  const loaded = parseSchedule(batchWarm(9));
  assert.equal(buildPlan(loaded.schedule, loaded.name).stepsPerEpoch, 10);
});

test('epoch counts continue after the previous stage; defaults carry over', () => {
  const loaded = parseSchedule(`${BASE}stages:
  - { name: a, epochs: 2, optimizer: sgd, lr: 0.1, weightDecay: 0.01 }
  - { name: b, epochs: 3 }
  - { name: c, epochs: [6, 6], optimizer: adamw }
`);
  const plan = buildPlan(loaded.schedule, loaded.name);
  assert.deepEqual(
    plan.stages.map((s) => [s.firstEpoch, s.lastEpoch]),
    [
      [1, 2],
      [3, 5],
      [6, 6],
    ],
  );
  assert.equal(plan.stages[1]!.optimizer.type, 'sgd');
  assert.equal(plan.stages[1]!.optimizer.momentum, 0.9);
  assert.equal(plan.stages[1]!.lr, 0.1);
  assert.equal(plan.stages[1]!.weightDecayMode, 'l2');
  assert.equal(plan.stages[2]!.weightDecayMode, 'decoupled');
  assert.equal(plan.totalEpochs, 6);
  assert.equal(plan.name, '<schedule>');
  assert.deepEqual(plan.model.head, [{ dense: { units: 'auto', activation: 'softmax' } }]);
});

test('kinds live in tables: the schema lists exactly their kinds, and an unknown kind is an error, not a fallback', async () => {
  const { OPTIMIZERS, optimizerKind } = await import('../src/schedule/optimizers/index.js');
  const { SCHEDULERS, schedulerKind } = await import('../src/schedule/schedulers/index.js');
  const { HEADS, headKind } = await import('../src/core/heads/index.js');
  const json = scheduleJsonSchema() as { $defs?: unknown };
  const text = JSON.stringify(json);
  for (const k of OPTIMIZERS) assert.ok(text.includes(`"const":"${k.type}"`), k.type);
  for (const k of SCHEDULERS) assert.ok(text.includes(`"const":"${k.type}"`), k.type);
  for (const k of HEADS) assert.ok(text.includes(`"title":"${k.key}"`), k.key);
  const known = OPTIMIZERS.map((k) => k.type).join(', ');
  assert.throws(
    () => optimizerKind('lion'),
    (e: Error) => e.message === `unknown optimizer 'lion' (known: ${known})`,
  );
  assert.throws(() => schedulerKind('warmRestarts'), /unknown scheduler 'warmRestarts'/);
  assert.throws(() => headKind({ conv2d: {} }), /unknown head layer 'conv2d'/);
});

test('schema and semantic problems come in one pass', () => {
  const text = `model: { source: x }\ndata: { source: y, seed: -2 }\nstages:\n  - { name: a, epochs: [3, 4] }\n  - { name: b, epochs: 1, optimizer: adamx }\n`;
  const found = issues(text);
  assert.equal(found.length, 3, found.join('\n'));
  assert.match(found[0]!, /^t\.yaml:2:\d+: data\.seed/);
  assert.match(found[1]!, /^t\.yaml:4:\d+: stages\[0\] 'a': gap: epochs 1–2 belong to no stage/);
  assert.match(found[2]!, /^t\.yaml:5:\d+: stages\[1\]\.optimizer must be one of/);
});

test('docs/schedule-reference.md is current: generated from the schema and kind tables (npm run schema)', async () => {
  const { REFERENCE_FILE, scheduleReference } = await import('../src/schedule/reference.js');
  const want = scheduleReference();
  assert.equal(readFileSync(join(ROOT, REFERENCE_FILE), 'utf8'), want, 'stale: run npm run schema');
  // every key of every stage and every kind's option is in it
  for (const key of ['stages[].lrDecay.factor', 'output.checkpoints.best', 'auto.rank', 'data.augment.views'])
    assert.ok(want.includes(`| \`${key}\` |`), key);
  for (const k of ['adamw', 'onecycle', 'globalAveragePooling', 'tensorboard'])
    assert.ok(want.includes(`### \`${k}\``), k);
});
