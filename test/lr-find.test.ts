// lr: find and freezeflow lr-find: the curve arithmetic on curves with known answers, the default task's
// head stage (the pick within 10× of the example's lr), and a sweep that leaves no trace: a run with
// lr: find equals, bit for bit, a run given the found lr, and a resume does not sweep again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { SmoothedLoss, suggestLr, sweepLr, LR_FIND_DEFAULTS, type LrPoint } from '../src/schedule/lr-find.js';
import { cli, ndjson, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan, groupLr } from '../src/schedule/plan.js';

const curve = (f: (x: number) => number, n = 100): LrPoint[] =>
  Array.from({ length: n }, (_, i) => {
    const lr = sweepLr({ ...LR_FIND_DEFAULTS, steps: n }, i);
    return { lr, loss: f(Math.log10(lr)) };
  });

test('lr-find arithmetic: the sweep, the smoothing, and both rules on curves whose answer is known', () => {
  assert.equal(sweepLr(LR_FIND_DEFAULTS, 0), 1e-7);
  assert.ok(Math.abs(sweepLr(LR_FIND_DEFAULTS, 99) - 10) < 1e-12);
  // a constant loss stays exactly that once the bias is corrected; a jump past 4× the best stops
  const s = new SmoothedLoss();
  for (let i = 0; i < 20; i++) assert.equal(s.add(2), false);
  assert.ok(Math.abs(s.value - 2) < 1e-12);
  let stopped = false;
  for (let i = 0; i < 200 && !stopped; i++) stopped = s.add(100);
  assert.ok(stopped, 'a diverging loss stops the sweep');
  assert.equal(new SmoothedLoss().add(NaN), true, 'NaN stops at once');
  // a sigmoid drop centred at 1e-4, then a blow-up past 1: steepest descent is the centre
  const drop = curve((x) => 2 - 1.5 / (1 + Math.exp(-3 * (x + 4))) + (x > 0 ? 10 * x : 0));
  const steep = suggestLr(drop, 'steepest')!;
  assert.ok(Math.abs(Math.log10(steep) + 4) < 0.2, `steepest ${steep}`);
  // valley: inside the falling stretch, before its bottom, and well before the blow-up
  const valley = suggestLr(drop, 'valley')!;
  assert.ok(valley > 1e-6 && valley < 1e-1, `valley ${valley}`);
  // too short a curve: no pick
  assert.equal(suggestLr(drop.slice(0, 3), 'valley'), undefined);
});

test('freezeflow lr-find on the default task: the head stage pick is within 10× of the example schedule’s lr', () => {
  const dir = tempDir('ff-lrfind-');
  const r = cli(['lr-find', '-s', 'schedules/progressive.yaml', '--out', join(dir, 'run'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.stage, 'head');
  assert.ok(out.lr >= 1e-4 && out.lr <= 1e-2, `picked ${out.lr}, the schedule uses 1e-3`);
  assert.ok(out.points.length >= 20);
  const chart = readFileSync(join(dir, 'run/lr-find.html'), 'utf8');
  assert.match(chart, /lr range test, stage head/);
  // the x axis in lrs, not exponents
  assert.match(chart, />1e-5<\/text>/);
  assert.match(chart, />lr \(log scale\)<\/text>/);
  assert.doesNotMatch(chart, />-5<\/text>/);
  // --apply writes the pick into the file, 2 significant digits, comments kept; the sweep writes no TensorBoard curves
  const copy = join(dir, 'mine.yaml');
  copyFileSync(join(ROOT, 'schedules/progressive.yaml'), copy);
  const text = cli(['lr-find', '-s', copy, '--out', join(dir, 'run2'), '--apply']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /┤/);
  const said = /^sweep finished: picked (\S+) \(valley\) for stage head; curve in /m.exec(text.stdout);
  assert.ok(said, text.stdout);
  const applied = parse(readFileSync(copy, 'utf8')).stages[0].lr;
  assert.equal(applied, Number(applied.toPrecision(2)), 'two significant digits');
  assert.ok(Math.abs(applied - Number(said[1])) <= 0.05 * applied, `${applied} is what it said, ${said[1]}`);
  const after = readFileSync(copy, 'utf8');
  assert.match(after, /# pretrained backbone shipped with freezeflow/, 'comments kept');
  const original = parse(readFileSync(join(ROOT, 'schedules/progressive.yaml'), 'utf8'));
  original.stages[0].lr = applied;
  assert.deepEqual(parse(after), original, 'only the head stage lr changed');
  for (const comment of readFileSync(join(ROOT, 'schedules/progressive.yaml'), 'utf8').match(/#.*$/gm)!)
    assert.ok(after.includes(comment.trim()), `comment kept: ${comment}`);
  assert.ok(!existsSync(join(dir, 'run2', 'tensorboard')), 'a sweep writes no TensorBoard run');
  assert.equal(cli(['lr-find', '-s', 'schedules/progressive.yaml', '--stage', 'nope']).code, 2);
});

test('lr: find leaves no trace: the run equals one given the found lr, bit for bit; a resume does not sweep again', () => {
  const dir = tempDir('ff-lrfind-');
  const stages = (lr: string) =>
    `  - { name: head, epochs: 1, lr: 1.0e-3 }\n  - name: last\n    epochs: 2\n    unfreeze: ['layer3*']\n    lr: ${lr}\n    lrGroups: [{ layers: ['head'], lrMultiplier: 3 }]\n`;
  // a checkpoint every epoch, so the kill below lands after one taken inside the found stage
  const schedule = (lr: string) =>
    tinySchedule(64, stages(lr)).replace('stages:', 'output: { checkpoints: { everyEpochs: 1 } }\nstages:');
  const train = (f: string, out: string, env: Record<string, string> = {}) =>
    cli(['train', '-s', f, '--out', out, '--json', '--backend', 'wasm', '--threads', '1'], { env });
  const found = train(writeSchedule(dir, schedule('find'), 'find.yaml'), join(dir, 'find'));
  assert.equal(found.code, 0, found.stderr);
  const events = ndjson(found.stdout);
  const sweep = events.find((e) => e.type === 'lr-find');
  assert.equal(sweep.stage, 'last');
  const start = events.filter((e) => e.type === 'stage-start')[1];
  assert.deepEqual(
    start.groups.map((g: { lr: number }) => g.lr),
    [sweep.lr, sweep.lr * 3].slice(0, start.groups.length).sort((a, b) => a - b),
  );
  const given = train(writeSchedule(dir, schedule(String(sweep.lr)), 'given.yaml'), join(dir, 'given'));
  assert.equal(given.code, 0, given.stderr);
  const weights = (d: string) => readFileSync(join(dir, d, 'model/weights.bin'));
  assert.ok(
    weights('find').equals(weights('given')),
    'the sweep left the weights, BN statistics and random stream as they were',
  );
  // killed inside the found stage: the resume takes the found lr from the checkpoint
  const file = join(dir, 'find.yaml');
  assert.equal(train(file, join(dir, 'killed'), { FREEZEFLOW_FAULT: 'batch:5' }).code, null);
  const resumed = cli(['train', '--resume', join(dir, 'killed'), '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(ndjson(resumed.stdout).filter((e) => e.type === 'lr-find').length, 0, 'no second sweep');
  assert.ok(weights('killed').equals(weights('find')));
});

test('during the sweep an absolute group lr stays put; derived groups keep their ratio to the stage lr', () => {
  // lrGroups[0] has its own lr, lrGroups[1] a multiplier; lrDecay blocks are derived too
  const loaded = parseSchedule(
    tinySchedule(
      64,
      `  - { name: s, epochs: 1, lr: find, lrGroups: [{ layers: [stem*], lr: 2.0e-5 }, { layers: [head], lrMultiplier: 10 }], lrDecay: { factor: 0.5 } }\n`,
    ),
  );
  const stage = buildPlan(loaded.schedule, 't').stages[0]!;
  // the sweep and the stage after it ask the plan's one rule (groupLr), at the swept lr
  const at = (id: string) => groupLr(stage, id, 0.5, 3);
  assert.equal(at('stage'), 0.5);
  assert.equal(at('lrGroups[0]'), 2e-5);
  assert.equal(at('lrGroups[1]'), 0.5 * 10);
  assert.equal(at('lrDecay.blocks[0]'), 0.5 * 0.25);
  assert.throws(() => at('lrGroups[7]'), /no param group 'lrGroups\[7\]'/);
});
