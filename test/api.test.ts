// freezeflow as a consumer uses it: `import ... from 'freezeflow'` in a project of its own, with types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir, tinySchedule } from './helpers.js';

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
