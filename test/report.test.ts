import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { lineChart, renderReport, runCharts } from '../src/report/html.js';
import { aggregate, formatCompare, type CellResult } from '../src/cli/compare.js';
import type { RunEvent } from '../src/core/events.js';
import { cli, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

function syntheticRun(): RunEvent[] {
  const ev: RunEvent[] = [];
  const stage = (stageIndex: number, name: string, first: number, last: number, lrs: number[]) =>
    ev.push({
      type: 'stage-start',
      stageIndex,
      stage: name,
      firstEpoch: first,
      lastEpoch: last,
      trainable: ['head/dense_1'],
      trainableParams: 100 * (stageIndex + 1),
      groups: lrs.map((lr, k) => ({ id: k === 0 ? 'stage' : `lrGroups[${k - 1}]`, lr, variables: 2, kept: false })),
      frozenBatchNorm: 0,
    });
  const epoch = (e: number, si: number, lr: number, groupLrs: number[]) =>
    ev.push({
      type: 'epoch-end',
      stage: si === 0 ? 'head' : 'all',
      stageIndex: si,
      epoch: e,
      lr,
      groupLrs,
      trainableParams: 100 * (si + 1),
      loss: 1 / e,
      acc: 0.5 + e / 20,
      valLoss: 1.1 / e,
      valAcc: 0.5 + e / 25,
      seconds: 1,
      samplesPerSec: 10,
    });
  stage(0, 'head', 1, 2, [1e-3]);
  epoch(1, 0, 1e-3, [1e-3]);
  epoch(2, 0, 1e-3, [1e-3]);
  stage(1, 'all', 3, 5, [1e-4, 1e-5]);
  epoch(3, 1, 1e-4, [1e-4, 1e-5]);
  epoch(4, 1, 5e-5, [5e-5, 5e-6]);
  ev.push({ type: 'guard', action: 'stop-unfreezing', epoch: 4, reason: 'val loss rose' });
  epoch(5, 1, 1e-5, [1e-5, 1e-6]);
  return ev;
}

test('charts: one point per epoch and series, stage and guard markers, lr per group on a log axis', () => {
  const c = runCharts(syntheticRun());
  assert.match(c.loss, /data-points="10"/, 'train and val loss, 5 epochs each');
  assert.equal(count(c.loss, /class="pt"/g), 10);
  assert.equal(count(c.loss, /class="stage-marker"/g), 2);
  assert.equal(count(c.loss, /class="guard-marker"/g), 1);
  assert.match(c.lr, /data-points="8"/, 'head: 2 epochs × 1 group; all: 3 epochs × 2 groups');
  assert.match(c.lr, /all lrGroups\[0\] \(2 vars\)/, 'lr series are named by their group');
  // a log axis puts 1e-6 … 1e-3 evenly: the tick labels span the decades
  assert.match(c.lr, />1e-6</);
  assert.match(c.params, /H[\d.]+V/, 'trainable parameters as a step curve');
  const one = lineChart('t', 'T', [{ name: 'a', points: [[1, 2]] }], []);
  assert.match(one, /data-points="1"/, 'a single point still draws');
  const page = renderReport(syntheticRun(), { schedule: 'demo' });
  assert.match(page, /^<!doctype html>/);
  assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no scripts, no network');
  assert.match(page, /guard \(stop-unfreezing\) at epoch 4/);
});

test('train writes report.html; report regenerates it and renders a PNG', () => {
  const dir = tempDir();
  const f = writeSchedule(
    dir,
    tinySchedule(
      64,
      `  - { name: head, epochs: 2, lr: 1.0e-3 }
  - { name: last, epochs: 1, unfreeze: ['layer3*'], lr: 1.0e-4 }
`,
    ),
    's.yaml',
  );
  const out = join(dir, 'run');
  assert.equal(cli(['train', '-s', f, '--out', out, '--quiet']).code, 0);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /data-chart="loss" data-points="6"/);
  assert.equal(count(html, /class="stage-marker" data-label="last"/g), 4, 'the stage boundary on all four charts');
  const png = join(dir, 'charts', 'new', 'curves.png'); // a folder that is not there yet is made
  const r = cli(['report', out, '--png', png]);
  assert.equal(r.code, 0, r.stderr);
  return sharp(png)
    .metadata()
    .then((m) => {
      assert.equal(m.format, 'png');
      assert.equal(m.width, 2 * 720, 'rendered at 144 dpi');
      assert.equal(m.height, 2 * 4 * 270, 'four charts stacked');
      assert.equal(cli(['report', dir]).code, 1, 'not a run directory: one-line error');
    });
});

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);

test(
  'report.html in a real browser: charts render with the right points and markers (screenshot)',
  { skip: !CHROMIUM && 'no Chromium (apt-get install chromium)' },
  async () => {
    const dir = tempDir();
    const page = join(dir, 'report.html');
    writeFileSync(page, renderReport(syntheticRun(), { schedule: 'browser' }));
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars'];
    const dom = spawnSync(CHROMIUM!, [...flags, '--dump-dom', `file://${page}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(dom.status, 0, dom.stderr);
    // the DOM the browser built (not our string): four SVG charts, 10 loss points, 2 stage markers each
    assert.equal(count(dom.stdout, /<svg[^>]*class="chart"/g), 4);
    const loss = dom.stdout.slice(
      dom.stdout.indexOf('id="loss"'),
      dom.stdout.indexOf('</svg>', dom.stdout.indexOf('id="loss"')),
    );
    assert.equal(count(loss, /class="pt"/g), 10);
    assert.equal(count(loss, /class="stage-marker"/g), 2);
    const shot = join(dir, 'shot.png');
    const s = spawnSync(CHROMIUM!, [...flags, `--screenshot=${shot}`, '--window-size=1500,1400', `file://${page}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(s.status, 0, s.stderr);
    const stats = await sharp(shot).stats();
    // not a blank page: the charts' coloured lines are there
    assert.ok(
      stats.channels.some((c) => c.stdev > 10),
      'the screenshot has content',
    );
    const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
    let blue = 0; // the train-loss colour #1f77b4
    for (let i = 0; i < data.length; i += info.channels)
      if (Math.abs(data[i]! - 0x1f) < 30 && Math.abs(data[i + 1]! - 0x77) < 30 && Math.abs(data[i + 2]! - 0xb4) < 30)
        blue++;
    assert.ok(blue > 200, `train-loss line drawn (${blue} px)`);
  },
);

test('compare: mean ± sd over seeds, best strategy per size, failed runs left out', () => {
  const cell = (schedule: string, samples: number, seed: number, acc: number, status = 'completed'): CellResult => ({
    schedule,
    samples,
    seed,
    status,
    bestValAcc: acc,
    bestValLoss: 1 - acc,
    epochs: 10,
    seconds: 5,
    gap: 0.1,
  });
  const rows = aggregate([
    cell('a', 200, 1, 0.8),
    cell('a', 200, 2, 0.9),
    cell('b', 200, 1, 0.86),
    cell('b', 200, 2, 0.8, 'failed'),
    cell('a', 1000, 1, 0.9),
    cell('b', 1000, 1, 0.95),
  ]);
  const a200 = rows.find((r) => r.schedule === 'a' && r.samples === 200)!;
  assert.ok(Math.abs(a200.bestValAcc.mean - 0.85) < 1e-12);
  assert.ok(Math.abs(a200.bestValAcc.sd - Math.sqrt(0.005)) < 1e-12, 'sample standard deviation');
  const b200 = rows.find((r) => r.schedule === 'b' && r.samples === 200)!;
  assert.equal(b200.runs, 1, 'the failed run is not averaged in');
  assert.deepEqual(
    rows.filter((r) => r.best).map((r) => `${r.schedule}@${r.samples}`),
    ['b@200', 'b@1000'],
  );
  assert.match(formatCompare(rows), /200 +b +86\.00 ± 0\.00.*← best/);
  const dry = cli([
    'compare',
    '--schedules',
    'schedules/compare/full-freeze.yaml',
    'schedules/compare/selective.yaml',
    '--samples',
    '200,1000',
    '--seeds',
    '2',
    '--dry-run',
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  const cmds = dry.stdout.trim().split('\n');
  assert.equal(cmds.length, 8, '2 schedules × 2 sizes × 2 seeds');
  assert.ok(cmds.every((c) => /bin\/freezeflow train -s .* --seed [12] --samples (200|1000)$/.test(c)));
  // with --jobs, each command gets the share of the cores compare itself would give it
  const shared = cli(['compare', '--schedules', 'schedules/compare/full-freeze.yaml', '-j', '2', '--dry-run'], {
    env: { FREEZEFLOW_THREADS: '' },
  });
  const share = Math.max(1, Math.floor(availableParallelism() / 2));
  assert.match(shared.stdout.trim(), new RegExp(`--threads ${share}$`));
  const pinned = cli(['compare', '--schedules', 'schedules/compare/full-freeze.yaml', '-j', '2', '--dry-run'], {
    env: { FREEZEFLOW_THREADS: '3' },
  });
  assert.match(pinned.stdout.trim(), /--threads 3$/, 'FREEZEFLOW_THREADS is each run’s own');
  // the commands run as printed from any folder and survive a shell: spaces and quotes in paths stay whole
  const odd = join(tempDir(), "it's a dir");
  mkdirSync(odd);
  const f = join(odd, 'my schedule.yaml');
  copyFileSync(join(ROOT, 'schedules/compare/full-freeze.yaml'), f);
  const line = cli(['compare', '--schedules', f, '--dry-run', '--out', join(odd, 'runs')]).stdout.trim();
  const argv = spawnSync('bash', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n');
  assert.equal(argv[0], process.execPath);
  assert.equal(argv[argv.indexOf('-s') + 1], f);
  assert.equal(cli(['compare', '--schedules', 'schedules/compare/full-freeze.yaml', '--samples', '0']).code, 2);
});

test('compare end to end: two schedules, one small size, table, compare.json and compare.html', () => {
  const out = join(tempDir(), 'cmp');
  const r = cli([
    'compare',
    '--schedules',
    'schedules/compare/full-freeze.yaml',
    'schedules/compare/progressive.yaml',
    '--samples',
    '64',
    '--jobs',
    '2',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.rows.length, 2);
  assert.equal(res.rows.filter((x: { best: boolean }) => x.best).length, 1);
  for (const run of res.runs) {
    assert.equal(run.status, 'completed');
    assert.equal(run.trainSamples, 64);
    assert.equal(run.epochs, 10);
  }
  assert.ok(existsSync(join(out, 'compare.html')));
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')).rows, res.rows);
});
