// What freezeflow guarantees against bad input: nothing written outside a run directory, no folder it did
// not make touched, one run per folder at a time, and bad schedules refused with one line per problem,
// file:line:col, exit 2, nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';
import { makePhotos } from '../scripts/photos.js';

const STAGES = `  - { name: head, epochs: 1, lr: 1.0e-3 }\n`;

test('--out on an ordinary folder is refused and nothing in it changes', () => {
  const dir = tempDir();
  const f = writeSchedule(dir, tinySchedule(32, STAGES));
  const precious = join(dir, 'precious');
  mkdirSync(join(precious, 'model'), { recursive: true });
  writeFileSync(join(precious, 'model', 'keep.txt'), 'mine');
  writeFileSync(join(precious, 'metrics.csv'), 'my,own,data\n');
  const r = cli(['train', '-s', f, '--out', precious, '--quiet']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr.trim(), /^freezeflow: .*precious is not empty and is not a freezeflow run directory/);
  assert.equal(readFileSync(join(precious, 'model', 'keep.txt'), 'utf8'), 'mine');
  assert.equal(readFileSync(join(precious, 'metrics.csv'), 'utf8'), 'my,own,data\n');
  assert.deepEqual(readdirSync(precious).sort(), ['metrics.csv', 'model']);
});

test('an unfinished run directory is not trained over; --resume is named', () => {
  const dir = tempDir();
  const f = writeSchedule(dir, tinySchedule(32, STAGES));
  const out = join(dir, 'run');
  mkdirSync(out);
  writeFileSync(join(out, '.freezeflow-run'), '');
  const r = cli(['train', '-s', f, '--out', out, '--quiet']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /holds an unfinished run; continue it with --resume/);
});

test('two trainings on one --out: the second is refused while the first runs', async () => {
  const dir = tempDir();
  const f = writeSchedule(dir, tinySchedule(256, `  - { name: head, epochs: 30, lr: 1.0e-3 }\n`));
  const out = join(dir, 'run');
  const first = spawn(process.execPath, [join(ROOT, 'bin/freezeflow'), 'train', '-s', f, '--out', out, '--json']);
  await new Promise<void>((res) =>
    first.stdout.on('data', (d: Buffer) => (String(d).includes('epoch-end') ? res() : undefined)),
  );
  const second = cli(['train', '--resume', out, '--quiet']);
  assert.equal(second.code, 2);
  assert.match(second.stderr.trim(), /^freezeflow: .* is in use by PID \d+ on this host/);
  first.kill('SIGKILL');
  await new Promise((res) => first.on('close', res));
  // the holder died: its lock is stale and a resume takes it over
  const third = cli(['train', '--resume', out, '--quiet', '--samples', '32']);
  assert.doesNotMatch(third.stderr, /is in use/);
  assert.ok(!existsSync(join(out, 'run.lock')), 'the lock is released at the end');
});

test('bad schedules: names that would be paths, non-finite numbers, absurd sizes, YAML attacks → exit 2, file:line:col, nothing written', () => {
  const dir = tempDir();
  const out = join(dir, 'run');
  const cases: [string, RegExp][] = [
    [tinySchedule(32, `  - { name: x/../../victim, epochs: 1 }\n`), /:4:13: stages\[0\]\.name must not contain '\/'/],
    [tinySchedule(32, `  - { name: head, epochs: 1, lr: .inf }\n`), /:4:34: stages\[0\]\.lr must be a finite number/],
    [
      tinySchedule(32, `  - { name: head, epochs: 2000000000 }\n`),
      /:4:27: stages\[0\]\.epochs must be an integer >= 1 <= 100000/,
    ],
    [
      tinySchedule(32, STAGES).replace('batchSize: 32', 'batchSize: 32, seed: -3'),
      /data\.seed must be an integer >= 0/,
    ],
    [
      tinySchedule(32, STAGES).replace('batchSize: 32', 'batchSize: 32, augment: { flip: true, views: 0 }'),
      /:2:94: data\.augment\.views must be an integer >= 1 <= 64 \(got 0\)/,
    ],
    [
      tinySchedule(32, STAGES).replace('batchSize: 32', 'batchSize: 32, augment: { flip: true, views: 5000 }'),
      /data\.augment\.views must be an integer >= 1 <= 64 \(got 5000\)/,
    ],
    [
      tinySchedule(32, STAGES).replace('batchSize: 32', 'batchSize: 32, augment: { views: 4 }'),
      /:2:\d+: data\.augment\.views: 4 views of images that are not augmented are all the same; add flip/,
    ],
    [
      tinySchedule(32, `  - { name: head, epochs: 1, accumulate: 0 }\n`),
      /:4:42: stages\[0\]\.accumulate must be an integer >= 1 <= 1024 \(got 0\)/,
    ],
    [
      `training: { accumulate: -2 }\n${tinySchedule(32, STAGES)}`,
      /:1:25: training\.accumulate must be an integer >= 1 <= 1024 \(got -2\)/,
    ],
    [
      `training: { accumulate: 1000000 }\n${tinySchedule(32, STAGES)}`,
      /training\.accumulate must be an integer >= 1 <= 1024 \(got 1000000\)/,
    ],
    ['model: *nope\n', /:1:1: invalid YAML: Unresolved alias/],
    [
      'a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
      /invalid YAML: Excessive alias count/,
    ],
    ['model: { source: x\ndata: [\nstages: :\n', /^[^\n]*:\d+:\d+: invalid YAML: [^\n]*$/],
  ];
  for (const [yaml, expected] of cases) {
    const f = writeSchedule(dir, yaml, 'bad.yaml');
    const r = cli(['train', '-s', f, '--out', out]);
    assert.equal(r.code, 2, `${yaml}\n${r.stderr}`);
    assert.match(r.stderr.trim(), expected);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(out), 'nothing written');
  }
});

test('bad models: a shard longer than its manifest, a NaN weight, a server that never answers → one line naming it', async () => {
  const dir = tempDir();
  const copy = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    for (const f of ['model.json', 'weights.bin'])
      writeFileSync(join(d, f), readFileSync(join(ROOT, 'models/resnet-mini', f)));
    return d;
  };
  const long = copy('long');
  writeFileSync(join(long, 'weights.bin'), Buffer.concat([readFileSync(join(long, 'weights.bin')), Buffer.alloc(8)]));
  const r1 = cli(['inspect', join(long, 'model.json')]);
  assert.equal(r1.code, 1);
  assert.match(
    r1.stderr.trim(),
    /^freezeflow: weight shard\(s\) \.\/weights\.bin of .* are too long: \d+ bytes, the manifest needs \d+/,
  );
  const nan = copy('nan');
  const w = readFileSync(join(nan, 'weights.bin'));
  w.writeFloatLE(NaN, 4 * 7);
  writeFileSync(join(nan, 'weights.bin'), w);
  const r2 = cli(['inspect', join(nan, 'model.json')]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr.trim(), /^freezeflow: .*model\.json: weight 'stem_conv\/kernel' holds NaN \(index 7\)/);
  // a server that accepts the connection and never answers
  const { createServer } = await import('node:net');
  const server = createServer(() => undefined);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  const started = Date.now();
  const r3 = await new Promise<{ code: number | null; stderr: string }>((res) => {
    const p = spawn(
      process.execPath,
      [join(ROOT, 'bin/freezeflow'), 'inspect', `http://127.0.0.1:${port}/model.json`],
      {
        env: { ...process.env, FREEZEFLOW_HTTP_TIMEOUT_MS: '300' },
      },
    );
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    p.on('close', (code) => res({ code, stderr }));
  });
  server.close();
  assert.equal(r3.code, 1);
  assert.match(
    r3.stderr.trim(),
    /^freezeflow: cannot fetch http:\/\/127\.0\.0\.1:\d+\/model\.json: no answer within 0\.3 s \(tried twice/,
  );
  assert.ok(Date.now() - started < 20_000, 'it gave up instead of hanging');
});

/** A 2.5 MB tmpfs to fill up (needs root; CI runs as root). */
function smallDisk(): string | undefined {
  const at = tempDir('ff-full-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2500k', 'tmpfs', at]);
  return r.status === 0 ? at : undefined;
}

test('a full disk: one line naming the run, no half-written files, the last complete checkpoint resumes', (t) => {
  const disk = process.getuid?.() === 0 ? smallDisk() : undefined;
  if (!disk) return t.skip('mounting a small tmpfs needs root');
  try {
    const f = writeSchedule(
      tempDir(),
      tinySchedule(
        64,
        `  - { name: head, epochs: 1, lr: 1.0e-3 }\n  - { name: all, epochs: 2, unfreeze: ['*'], lr: 1.0e-4 }\n`,
      ),
    );
    const out = join(disk, 'run');
    const r = cli(['train', '-s', f, '--out', out, '--quiet', '--backend', 'wasm']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr.trim(),
      /^freezeflow: the disk holding .*run is full; free some space, then 'freezeflow train --resume /,
    );
    const all = readdirSync(join(out, 'checkpoints'));
    assert.deepEqual(
      all.filter((n) => /\.(tmp|old)-\d+$/.test(n)),
      [],
      'no half-written checkpoint left',
    );
    assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status, 'failed');
    assert.equal(spawnSync('mount', ['-o', 'remount,size=20m', disk]).status, 0);
    const resumed = cli(['train', '--resume', out, '--quiet', '--backend', 'wasm']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status, 'completed');
  } finally {
    spawnSync('umount', [disk]);
  }
});

const TM = join(ROOT, '../shared/models/tm-nail-biting/model.json');

test(
  'out of wasm memory (MobileNetV2, every layer, batch 160): one line that says so and how to fix it, exit 1',
  { skip: !existsSync(TM) && 'shared model not present' },
  async () => {
    const dir = tempDir();
    // batch 80 fits since the backward pass frees gradients as it goes (1.9 GB at 32): 216 training photos
    await makePhotos(join(dir, 'photos'), 60, 3);
    const f = writeSchedule(
      dir,
      `model: { source: ${TM} }
data: { source: photos, preprocess: symmetric, validation: { split: 0.1 }, batchSize: 160 }
stages:
  - { name: all, epochs: 1, unfreeze: ['*'], lr: 1.0e-5 }
`,
    );
    for (const threads of ['1', '2']) {
      const r = cli([
        'train',
        '-s',
        f,
        '--out',
        join(dir, `run${threads}`),
        '--quiet',
        '--backend',
        'wasm',
        '--threads',
        threads,
      ]);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Warning: maxDynamic/.test(l));
      assert.equal(lines.length, 1, `one line (emscripten's own "Aborted()" dropped):\n${r.stderr}`);
      assert.match(
        lines[0]!,
        /^freezeflow: the wasm backend ran out of memory .*lower data\.batchSize \(now 160\) and set training\.accumulate/,
      );
    }
  },
);
