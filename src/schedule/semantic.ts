// Checks the JSON Schema cannot express: how stages fit together in time and how lr settings agree.
import { normalizeScheduler, schedulerKind } from './schedulers/index.js';
import type { Schedule, StageInput } from './schema.js';
import { compilePattern } from './patterns.js';
import type { ScheduleIssue } from './issues.js';

export interface EpochRange {
  first: number;
  last: number;
}

/** Inclusive 1-based epoch range of every stage; a count continues after the previous stage. */
export function stageRanges(stages: readonly StageInput[]): EpochRange[] {
  const out: EpochRange[] = [];
  let prevLast = 0;
  for (const s of stages) {
    const r =
      typeof s.epochs === 'number'
        ? { first: prevLast + 1, last: prevLast + s.epochs }
        : { first: s.epochs[0], last: s.epochs[1] };
    out.push(r);
    prevLast = Math.max(prevLast, r.last);
  }
  return out;
}

const span = (r: EpochRange) => (r.first === r.last ? `epoch ${r.first}` : `epochs ${r.first}–${r.last}`);

/**
 * Training batches per epoch when the data settings make it knowable without loading data: `samples`
 * is the training-set size itself (taken after the validation split), so the split does not enter.
 */
export function knownStepsPerEpoch(schedule: Schedule): number | undefined {
  const samples = schedule.data.samples;
  if (samples === undefined) return undefined;
  return Math.ceil(samples / (schedule.data.batchSize ?? 64));
}

export function semanticIssues(schedule: Schedule): ScheduleIssue[] {
  const issues: ScheduleIssue[] = [];
  const { stages } = schedule;
  if (stages.length === 0) {
    issues.push({ path: ['stages'], message: 'stages is empty: add at least one stage' });
    return issues;
  }
  const pre = schedule.data.preprocess;
  if (typeof pre === 'object' && pre.mean.length !== pre.std.length) {
    issues.push({
      path: ['data', 'preprocess'],
      message: `data.preprocess: mean has ${pre.mean.length} value(s) but std has ${pre.std.length}; give one value or one per channel for both`,
    });
  }
  const aug = schedule.data.augment;
  if (aug?.views !== undefined && !(aug.flip || aug.rotate || (aug.crop ?? 1) < 1 || aug.brightness || aug.contrast)) {
    issues.push({
      path: ['data', 'augment', 'views'],
      message: `data.augment.views: ${aug.views} views of images that are not augmented are all the same; add flip, crop, rotate, brightness or contrast, or remove views`,
    });
  }
  const ranges = stageRanges(stages);
  const names = new Map<string, number>();
  let lr = 1e-3;
  stages.forEach((stage, i) => {
    const r = ranges[i]!;
    const at = ['stages', i] as const;
    const label = `stages[${i}] '${stage.name}'`;
    if (names.has(stage.name)) {
      issues.push({
        path: [...at, 'name'],
        message: `${label}: the name is already used by stages[${names.get(stage.name)}]; stage names must be unique`,
      });
    } else names.set(stage.name, i);
    if (stage.advance && stage.earlyStopping)
      issues.push({
        path: [...at, 'earlyStopping'],
        message: `${label}: give advance.onPlateau or earlyStopping (its older spelling), not both`,
      });
    if (r.first > r.last) {
      issues.push({
        path: [...at, 'epochs'],
        message: `${label}: epochs [${r.first}, ${r.last}] ends before it starts; write [first, last]`,
      });
    }
    if (i === 0 && r.first > 1) {
      issues.push({
        path: [...at, 'epochs'],
        message: `${label}: gap: ${span({ first: 1, last: r.first - 1 })} ${r.first === 2 ? 'belongs' : 'belong'} to no stage; the first stage must start at epoch 1`,
      });
    }
    if (i > 0) {
      const prev = ranges[i - 1]!;
      const prevName = stages[i - 1]!.name;
      if (r.first < prev.first) {
        issues.push({
          path: [...at, 'epochs'],
          message: `${label}: stages out of order: starts at epoch ${r.first}, before '${prevName}' (${span(prev)}); list stages in epoch order`,
        });
      } else if (r.first <= prev.last) {
        issues.push({
          path: [...at, 'epochs'],
          message: `${label}: ${span(r)} overlap '${prevName}' (${span(prev)}); start at epoch ${prev.last + 1}`,
        });
      } else if (r.first > prev.last + 1) {
        issues.push({
          path: [...at, 'epochs'],
          message: `${label}: gap: ${span({ first: prev.last + 1, last: r.first - 1 })} ${r.first - 1 === prev.last + 1 ? 'belongs' : 'belong'} to no stage; start at epoch ${prev.last + 1} or extend '${prevName}'`,
        });
      }
    }
    lr = typeof stage.lr === 'number' ? stage.lr : lr;
    if (stage.lrFind && stage.lr !== 'find')
      issues.push({ path: [...at, 'lrFind'], message: `${label}: lrFind only goes with lr: find` });
    if (stage.restoreBest && schedule.output?.checkpoints?.best === false)
      issues.push({
        path: [...at, 'restoreBest'],
        message: `${label}: restoreBest puts back checkpoints/best, which output.checkpoints.best: false turns off; remove one of them`,
      });
    if (stage.lrFind?.min !== undefined && stage.lrFind.max !== undefined && stage.lrFind.min >= stage.lrFind.max)
      issues.push({ path: [...at, 'lrFind', 'min'], message: `${label}: lrFind.min must be below lrFind.max` });
    const sched = stage.scheduler;
    if (sched)
      for (const [key, message] of schedulerKind(sched.type).check?.(normalizeScheduler(sched), lr) ?? [])
        issues.push({ path: [...at, 'scheduler', key], message: `${label}: ${message}` });
    if (sched && 'warmup' in sched && sched.warmup !== undefined && sched.warmup > 0) {
      const epochs = r.last - r.first + 1;
      const per = sched.stepPer ?? 'epoch';
      const steps = per === 'epoch' ? epochs : (knownStepsPerEpoch(schedule) ?? Infinity) * epochs;
      if (sched.warmup >= steps) {
        issues.push({
          path: [...at, 'scheduler', 'warmup'],
          message: `${label}: warm-up of ${sched.warmup} ${per === 'epoch' ? 'epochs' : 'batches'} is not shorter than the stage (${steps} ${per === 'epoch' ? 'epochs' : 'batches'})`,
        });
      }
    }
    (stage.lrGroups ?? []).forEach((g, j) => {
      if ((g.lr === undefined) === (g.lrMultiplier === undefined)) {
        issues.push({
          path: [...at, 'lrGroups', j],
          message: `${label}: lrGroups[${j}] needs exactly one of lr or lrMultiplier`,
        });
      }
    });
    for (const key of ['freeze', 'unfreeze'] as const) {
      const patterns = stage[key];
      (Array.isArray(patterns) ? patterns : []).forEach((p, j) => {
        try {
          compilePattern(p);
        } catch (err) {
          issues.push({ path: [...at, key, j], message: `${label}: ${(err as Error).message}` });
        }
      });
    }
  });
  const v = schedule.data.validation;
  if (v?.split !== undefined && v.folder !== undefined) {
    issues.push({ path: ['data', 'validation'], message: 'data.validation: give either split or folder, not both' });
  }
  return issues;
}
