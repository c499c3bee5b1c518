import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { renderReport, runCharts } from '../src/report/html.js';
import { lineChart } from '../src/report/chart.js';
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
  const epoch = (e: number, si: number, lr: number, lrs: number[]) =>
    ev.push({
      type: 'epoch-end',
      stage: si === 0 ? 'head' : 'all',
      stageIndex: si,
      epoch: e,
      lr,
      groups: lrs.map((l, k) => ({ id: k === 0 ? 'stage' : `lrGroups[${k - 1}]`, lr: l })),
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
  // events written before epoch-end carried group ids (lrs by position) chart the same
  const older = syntheticRun().map((e) =>
    e.type === 'epoch-end' ? { ...e, groups: undefined, groupLrs: e.groups.map((g) => g.lr) } : e,
  ) as unknown as RunEvent[];
  assert.equal(runCharts(older).lr, c.lr);
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
      const heights = [...html.matchAll(/<svg[^>]*class="chart"[^>]*height="(\d+)"/g)].map((h) => Number(h[1]));
      assert.equal(heights.length, 4);
      assert.equal(m.height, 2 * heights.reduce((a, b) => a + b, 0), 'four charts stacked, none overlapping');
      assert.equal(cli(['report', dir]).code, 1, 'not a run directory: one-line error');
    });
});

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);

/** Headless Chromium with `args` (a page to dump or to screenshot). */
const chromium = (args: string[]) =>
  spawnSync(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });

test(
  'report.html in a real browser: charts render with the right points and markers (screenshot)',
  { skip: !CHROMIUM && 'no Chromium (apt-get install chromium)' },
  async () => {
    const dir = tempDir();
    const page = join(dir, 'report.html');
    writeFileSync(page, renderReport(syntheticRun(), { schedule: 'browser' }));
    const dom = chromium(['--dump-dom', `file://${page}`]);
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
    const s = chromium([`--screenshot=${shot}`, '--window-size=1500,1400', `file://${page}`]);
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

/**
 * Measures the page as Chromium lays it out at `width` px, by a script added to a copy of it (the report
 * itself has none): every <details> opened, then what is clipped by its SVG, legend entries that collide
 * with marker labels or each other, heat-map row labels that overlap, page overflow, and the tick labels.
 */
const LAYOUT_PROBE = `<script>
document.querySelectorAll('details').forEach((d) => (d.open = true));
const bad = [];
// boxes closer than 3 px read as one label ('allguard: …'): they count as touching
const hit = (a, b) => a.left < b.right + 3 && b.left < a.right + 3 && a.top < b.bottom && b.top < a.bottom;
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  const name = svg.id || svg.getAttribute('class');
  for (const t of svg.querySelectorAll('text')) {
    const b = t.getBoundingClientRect();
    if (b.left < box.left - 1 || b.right > box.right + 1 || b.top < box.top - 1 || b.bottom > box.bottom + 1)
      bad.push('clipped in ' + name + ': ' + t.textContent);
  }
  const boxes = (sel) => [...svg.querySelectorAll(sel)].map((t) => [t.textContent, t.getBoundingClientRect()]);
  const legend = boxes('text.legend'), marks = boxes('text.marker-label'), rows = boxes('text.row-label');
  for (const [i, [a, ra]] of legend.entries()) {
    for (const [b, rb] of marks) if (hit(ra, rb)) bad.push('legend ' + a + ' under marker ' + b + ' in ' + name);
    for (const [b, rb] of legend.slice(i + 1)) if (hit(ra, rb)) bad.push('legend ' + a + ' on ' + b);
  }
  for (const [i, [a, ra]] of marks.entries())
    for (const [b, rb] of marks.slice(i + 1)) if (hit(ra, rb)) bad.push('marker ' + a + ' on ' + b + ' in ' + name);
  for (let i = 1; i < rows.length; i++) if (hit(rows[i - 1][1], rows[i][1])) bad.push('row labels overlap: ' + rows[i][0]);
}
if (document.documentElement.scrollWidth > innerWidth) bad.push('page wider than the window');
for (const tr of document.querySelectorAll('tr'))
  if ([...tr.children].every((c) => c.tagName === 'TH' && !c.textContent.trim())) bad.push('an empty header row');
const ticks = (id) => [...document.querySelectorAll('#' + id + ' text.y-tick')].map((t) => t.textContent);
const charts = [...document.querySelectorAll('svg.chart')].map((s) => Math.round(s.getBoundingClientRect().width));
const result = { bad, loss: ticks('loss'), accuracy: ticks('accuracy'), params: ticks('params'), charts,
  heatRows: [...document.querySelectorAll('svg.heatmap')].map((s) => +s.dataset.rows),
  height: document.documentElement.scrollHeight };
document.body.insertAdjacentHTML('beforeend', '<pre id="probe">' + JSON.stringify(result) + '</pre>');
</script>`;

interface Layout {
  bad: string[];
  loss: string[];
  accuracy: string[];
  params: string[];
  charts: number[];
  heatRows: number[];
  height: number;
}

/** The probe's findings for a report page, and a full-page screenshot of it kept under `shot`. */
function layoutOf(page: string, shot: string, width = 1400): Layout {
  const probed = page.replace('.html', '.probe.html');
  writeFileSync(probed, readFileSync(page, 'utf8').replace('</body>', `${LAYOUT_PROBE}</body>`));
  const dom = chromium([`--window-size=${width},1000`, '--dump-dom', `file://${probed}`]);
  assert.equal(dom.status, 0, dom.stderr);
  // the last match: the script's own text names the element too
  const json = [...dom.stdout.matchAll(/<pre id="probe">(.*?)<\/pre>/gs)].at(-1)?.[1];
  assert.ok(json, 'the probe ran');
  const layout = JSON.parse(json.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')) as Layout;
  mkdirSync(dirname(shot), { recursive: true });
  const height = Math.min(layout.height, 16_000);
  const s = chromium([`--screenshot=${shot}`, `--window-size=${width},${height}`, `file://${page}`]);
  assert.equal(s.status, 0, s.stderr);
  return layout;
}

/** Where the browser tests leave their screenshots (CI keeps the folder as the run's artefacts). */
const ARTIFACTS = process.env['FREEZEFLOW_ARTIFACTS'] ?? join(ROOT, 'test-artifacts');

function assertReadable(l: Layout, what: string): void {
  assert.deepEqual(l.bad, [], `${what}: ${l.bad.slice(0, 5).join('; ')}`);
  const round = (t: string) => /^-?\d+(\.\d{1,2})?( %|k|M)?$|^\de-?\d+$/.test(t);
  for (const axis of ['loss', 'accuracy', 'params'] as const)
    assert.ok(l[axis].every(round), `${what}: ${axis} ticks are round numbers: ${l[axis].join(', ')}`);
  assert.ok(
    l.accuracy.every((t) => t.endsWith(' %')),
    `${what}: accuracy in percent: ${l.accuracy.join(', ')}`,
  );
  assert.ok(
    l.params.some((t) => /k$/.test(t)),
    `${what}: parameter counts as 412k: ${l.params.join(', ')}`,
  );
  // two charts a row at 1400 px, each using its half of the page (not a fixed 720 px)
  assert.ok(
    l.charts.every((w) => w > 600),
    `${what}: chart widths ${l.charts.join(', ')}`,
  );
}

test(
  'report.html at 1400 px in Chromium, main job and a Teachable Machine-sized model: nothing clipped or covered, round ticks, blocks (screenshots)',
  { skip: !CHROMIUM && 'no Chromium (apt-get install chromium)' },
  async () => {
    const dir = tempDir();
    // the main job's schedule, on fewer digits
    const run = join(dir, 'main');
    const r = cli(['train', '-s', 'schedules/progressive.yaml', '--samples', '192', '--out', run, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const main = layoutOf(join(run, 'report.html'), join(ARTIFACTS, 'report-main-job-1400.png'));
    assertReadable(main, 'main job');
    // the heat maps: a row per block (stem, layer1–3, head), every layer behind <details>
    assert.deepEqual(
      main.heatRows.filter((_, i) => i % 2 === 0),
      [5, 5],
    );
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    assert.match(html, /<summary>layer3 <span class="n">\(\d+\)<\/span><\/summary>/, 'gradient table by block');

    const tm = join(ROOT, '../shared/models/tm-nail-biting/model.json');
    if (!existsSync(tm)) return;
    // the TM MobileNetV2's 150 real layer paths, in a run's events written as a three-stage run writes them
    const { listLayers } = await import('../src/model/layers.js');
    const { loadModel } = await import('../src/model/io.js');
    const tf = await import('../src/tf.js');
    await tf.setBackend('cpu');
    const paths = listLayers(await loadModel(tm))
      .filter((l) => !l.isContainer && l.trainableParams > 0)
      .map((l) => l.path);
    const page = join(dir, 'tm', 'report.html');
    mkdirSync(dirname(page));
    writeFileSync(page, renderReport(tmRun(paths), { schedule: 'photos-mobilenet' }));
    const big = layoutOf(page, join(ARTIFACTS, 'report-teachable-machine-1400.png'));
    assertReadable(big, 'Teachable Machine');
    const blocks = big.heatRows[0]!;
    assert.ok(blocks >= 18 && blocks <= 22, `${blocks} block rows for ${paths.length} layers`);
    assert.equal(big.heatRows[1], paths.length, 'every layer in the map behind <details>');
  },
);

/** A three-stage run over `paths` (15 epochs; stages unfreeze the last 3 blocks, then everything). */
function tmRun(paths: string[]): RunEvent[] {
  const ev: RunEvent[] = [];
  const stages = [
    ['head', 1, 5, paths.filter((p) => p.startsWith('sequential_3'))],
    ['last-blocks', 6, 10, paths.filter((p) => /block_1[56]|Conv_1|sequential_3/.test(p))],
    ['all', 11, 15, paths],
  ] as const;
  stages.forEach(([stage, first, last, on], stageIndex) => {
    const params = on.length * 2_750;
    ev.push({
      type: 'stage-start',
      stageIndex,
      stage,
      firstEpoch: first,
      lastEpoch: last,
      trainable: [...on],
      trainableParams: params,
      groups: [{ id: 'stage', lr: 10 ** -(3 + stageIndex), variables: on.length, kept: false }],
      frozenBatchNorm: 0,
    });
    ev.push({
      type: 'gradient-report',
      stageIndex,
      stage,
      step: 0,
      layers: on.map((path, i) => ({ path, norm: 10 ** (-3 + (i % 7) / 3), trainable: true })),
      warnings: [],
    });
    for (let epoch = first; epoch <= last; epoch++) {
      ev.push({
        type: 'layer-telemetry',
        stageIndex,
        stage,
        epoch,
        since: 'stage-start',
        layers: paths.map((path, i) =>
          on.includes(path)
            ? { path, trainable: true, gradNorm: 10 ** (-4 + (i % 11) / 4), change: 1e-3 * (epoch - first + 1) }
            : { path, trainable: false, change: 0 },
        ),
      });
      ev.push({
        type: 'epoch-end',
        stage,
        stageIndex,
        epoch,
        lr: 10 ** -(3 + stageIndex),
        groups: [{ id: 'stage', lr: 10 ** -(3 + stageIndex) }],
        trainableParams: params,
        loss: 0.9 / epoch,
        acc: 0.6 + epoch / 40,
        valLoss: 1 / epoch,
        valAcc: 0.55 + epoch / 40,
        seconds: 12,
        samplesPerSec: 25,
      });
    }
  });
  return ev;
}
