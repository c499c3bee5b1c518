// Reporters of the user's own (output.reporters): a module's default export gets every event, its async
// close is awaited, a failing one is switched off with a warning while the run goes on, and a wrong module
// is a one-line schedule error before any run folder exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBus, type RunEvent } from '../src/core/events.js';
import { cli, tempDir, tinySchedule, writeSchedule } from './helpers.js';

const dir = tempDir('ff-reporters-');
writeFileSync(
  join(dir, 'collect.mjs'),
  `import { writeFileSync } from 'node:fs';
export default (options, context) => {
  const seen = [];
  return {
    onEvent(event) { seen.push(event.type); },
    async close() {
      await new Promise((r) => setTimeout(r, 30)); // a buffered sink flushing
      writeFileSync(options.file, JSON.stringify({ seen, context, tag: options.tag }));
    },
  };
};
`,
);
writeFileSync(
  join(dir, 'broken.mjs'),
  `export default () => ({ async onEvent(event) { if (event.type === 'epoch-end') throw new Error('sink down'); } });\n`,
);
writeFileSync(join(dir, 'shapeless.mjs'), `export const reporter = 1;\n`);

const schedule = (reporters: string) =>
  `${tinySchedule(64, '  - { name: head, epochs: 2, lr: 3.0e-3 }\n')}output:\n  reporters:\n${reporters}`;

test('a reporter module gets every event, its options and the run folder; a failing one is switched off, the run goes on', () => {
  const out = join(dir, 'run');
  const file = writeSchedule(
    dir,
    schedule(
      `    - { module: ./collect.mjs, options: { file: ${join(dir, 'seen.json')}, tag: blue } }\n    - { module: ./broken.mjs }\n`,
    ),
  );
  const r = cli(['train', '-s', file, '--out', out, '--backend', 'wasm', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /the \.\/broken\.mjs reporter failed and is switched off: sink down/);
  const got = JSON.parse(readFileSync(join(dir, 'seen.json'), 'utf8')) as {
    seen: string[];
    context: { runDir: string; schedule: string; resumed: boolean };
    tag: string;
  };
  assert.equal(got.tag, 'blue');
  assert.equal(got.context.runDir, out);
  assert.equal(got.context.resumed, false);
  assert.equal(got.seen[0], 'run-start');
  assert.equal(got.seen.at(-1), 'run-end');
  assert.equal(got.seen.filter((t) => t === 'epoch-end').length, 2);
  assert.ok(got.seen.includes('warning'), 'the broken reporter’s warning reached the others');
  assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /module: \.\/collect\.mjs/);
});

test('a module that is missing or has no default export: one line at its key, exit 2, no run folder', () => {
  for (const [name, message] of [
    ['./nope.mjs', /output\.reporters\.0\.module: cannot import '\.\/nope\.mjs': no such module/],
    [
      './shapeless.mjs',
      /'\.\/shapeless\.mjs' has no default export function; write export default \(options, context\)/,
    ],
  ] as const) {
    const out = join(dir, `bad-${name.slice(2, 6)}`);
    const file = writeSchedule(dir, schedule(`    - { module: ${name} }\n`), 'bad.yaml');
    const r = cli(['train', '-s', file, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /bad\.yaml:\d+:\d+: /);
    assert.match(lines[0]!, message);
    assert.ok(!existsSync(out), 'nothing was created');
  }
});

test('the bus awaits every reporter’s close and its pending work; a rejected promise is a warning, not a crash', async () => {
  const bus = new EventBus();
  const order: string[] = [];
  bus.add('slow', {
    onEvent: async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('slow event done');
    },
    close: async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('slow closed');
    },
  });
  bus.add('rejects', { onEvent: () => Promise.reject(new Error('no network')) });
  bus.add('terminal', {
    onEvent: (e) => void order.push(e.type === 'warning' ? e.message : e.type),
    close: () => void order.push('terminal closed'),
  });
  const end: RunEvent = { type: 'warning', message: 'hello' };
  bus.emit(end);
  await bus.close();
  assert.deepEqual(order, [
    'hello',
    'the rejects reporter failed and is switched off: no network',
    'slow event done', // the first event …
    'slow event done', // … and the warning: both finished before its close
    'slow closed',
    'terminal closed',
  ]);
});
