// Policies own their state: saved mid-run and loaded into fresh ones, they decide what the uninterrupted
// ones decide (what --resume relies on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan } from '../src/schedule/plan.js';
import { makePolicies, type Policy, type PolicyAction } from '../src/train/policies/index.js';

const plan = buildPlan(
  parseSchedule(`model: { source: x }
data: { source: y }
guard: { patience: 2, action: stop-unfreezing }
output: { checkpoints: { everyEpochs: 3 } }
stages:
  - { name: a, epochs: 3 }
  - name: b
    epochs: 9
    unfreeze: ['x*']
    lr: 0.1
    scheduler: { type: reduceOnPlateau, patience: 1, factor: 0.5, minLr: 0.001 }
    earlyStopping: { patience: 4, minDelta: 0.01 }
  - { name: c, epochs: 2, unfreeze: ['y*'] }
`).schedule,
  't',
);
// val losses: improve, then rise twice after the unfreeze (guard), plateau (lr cuts), then stall (early
// stop); in c they rise again, which a guard that forgot it had stopped unfreezing would act on
const LOSSES = [1.0, 0.9, 0.8, 0.85, 0.9, 0.7, 0.71, 0.72, 0.7, 0.705, 0.71, 0.72, 0.8, 0.9];

/** Runs epochs [from, to) through the policies; returns what they did and decided (as the runner sees it). */
function drive(p: Policy[], from: number, to: number, resumedAt?: number) {
  const log: string[] = [];
  let factor = 1;
  const take = (acts: PolicyAction[]) => {
    for (const a of acts) if (a.type === 'scale-lr') factor = a.factor;
    return acts;
  };
  for (let e = from; e < to; e++) {
    const si = e < 3 ? 0 : e < 12 ? 1 : 2;
    const stage = plan.stages[si]!;
    if (e === stage.firstEpoch - 1 || e === resumedAt) {
      factor = 1;
      take(p.flatMap((x) => x.startStage(stage, si, e === resumedAt && e !== stage.firstEpoch - 1)));
    }
    const o = { stage, stageIndex: si, epoch: e + 1, valLoss: LOSSES[e]!, valAcc: 1 - LOSSES[e]! };
    // the best epoch comes every epoch; what is logged is what the policies decided
    const acts = take(p.flatMap((x) => x.endEpoch(o))).filter((a) => a.type !== 'best' && a.type !== 'scale-lr');
    log.push(`${e + 1}: lr×${factor} ${acts.map((a) => (a.type === 'checkpoint' ? a.kind : a.type)).join(',')}`);
  }
  return log;
}

test('policies: save at any epoch, load into fresh ones, and the rest of the run decides the same', () => {
  const whole = drive(makePolicies(plan), 0, LOSSES.length);
  // the run itself: best checkpoints, every 3rd epoch, the guard after two rises, lr halved, early stop
  assert.ok(whole.some((l) => l.includes('stop-unfreezing')));
  assert.ok(whole.some((l) => l.includes('advance')));
  assert.ok(whole.some((l) => l.includes('lr×0.5')));
  assert.equal(whole.filter((l) => l.includes('stop-unfreezing')).length, 1, 'unfreezing stays stopped in stage c');
  for (let cut = 1; cut < LOSSES.length; cut++) {
    const first = makePolicies(plan);
    const before = drive(first, 0, cut);
    const saved = JSON.parse(JSON.stringify(first.map((x) => [x.key, x.save()])));
    const second = makePolicies(plan);
    for (const [key, s] of saved as [string, unknown][]) second.find((x) => x.key === key)!.load(s);
    const after = drive(second, cut, LOSSES.length, cut);
    assert.deepEqual([...before, ...after], whole, `resumed after epoch ${cut}`);
  }
});

test('checkpoints by val_acc, keep 3: checkpoints/best and top/ follow a sort of every epoch so far (ties: the earlier)', async () => {
  const { CheckpointTiming } = await import('../src/train/policies/index.js');
  const output = { everyStage: true, best: { monitor: 'val_acc' as const, keep: 3 } };
  // accuracies with ties and a NaN epoch, seeded
  let a = 7;
  const accs = Array.from({ length: 40 }, (_, i) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return i === 11 ? NaN : Math.round((a / 2147483648) * 20) / 20;
  });
  let policy = new CheckpointTiming(output);
  const stage = plan.stages[0]!;
  for (let e = 0; e < accs.length; e++) {
    if (e === 20) {
      const fresh = new CheckpointTiming(output); // a resume half-way
      fresh.load(JSON.parse(JSON.stringify(policy.save())));
      policy = fresh;
    }
    const acts = policy.endEpoch({ stage, stageIndex: 0, epoch: e + 1, valLoss: 1, valAcc: accs[e]! });
    const seen = accs
      .slice(0, e + 1)
      .map((v, i) => ({ epoch: i + 1, value: v }))
      .filter((x) => !Number.isNaN(x.value));
    const sorted = [...seen].sort((x, y) => y.value - x.value || x.epoch - y.epoch);
    assert.deepEqual(policy.top, sorted.slice(0, 3), `epoch ${e + 1}`);
    const entered = sorted.slice(0, 3).some((x) => x.epoch === e + 1);
    assert.equal(
      acts.some((x) => x.type === 'checkpoint' && x.kind === 'top'),
      entered,
      `top at epoch ${e + 1}`,
    );
    assert.equal(policy.best.epoch, sorted[0]!.epoch, `best at epoch ${e + 1}`);
    assert.equal(
      acts.some((x) => x.type === 'checkpoint' && x.kind === 'best'),
      sorted[0]!.epoch === e + 1,
    );
  }
});
