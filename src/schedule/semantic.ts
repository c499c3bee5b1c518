// Checks the JSON Schema cannot express: how stages fit together in time and how lr settings agree.
import { DEFAULT_LR } from './defaults.js';
import { normalizeScheduler, schedulerKind } from './schedulers/index.js';
import type { Schedule, StageInput } from './schema.js';
import { compilePattern } from './patterns.js';
import type { ScheduleIssue } from '../core/issues.js';

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
  const { stages } = schedule;
  if (stages.length === 0) return [{ path: ['stages'], message: 'stages is empty: add at least one stage' }];
  const ranges = stageRanges(stages);
  let lr = DEFAULT_LR; // what a stage without lr carries over, for the schedulers' checks
  const perStage = stages.flatMap((stage, i) => {
    lr = typeof stage.lr === 'number' ? stage.lr : lr;
    const label = `stages[${i}] '${stage.name}'`;
    return [...timeIssues(stages, ranges, i, label), ...stageIssues(schedule, stage, ranges[i]!, i, label, lr)];
  });
  return [...dataIssues(schedule), ...perStage, ...validationIssues(schedule), ...metricsIssues(schedule)];
}

/** The pixels and augmentation settings that contradict themselves. */
function dataIssues(schedule: Schedule): ScheduleIssue[] {
  const issues: ScheduleIssue[] = [];
  const pre = schedule.data.preprocess;
  if (typeof pre === 'object' && pre.mean.length !== pre.std.length)
    issues.push({
      path: ['data', 'preprocess'],
      message: `data.preprocess: mean has ${pre.mean.length} value(s) but std has ${pre.std.length}; give one value or one per channel for both`,
    });
  const aug = schedule.data.augment;
  if (aug?.views !== undefined && !(aug.flip || aug.rotate || (aug.crop ?? 1) < 1 || aug.brightness || aug.contrast))
    issues.push({
      path: ['data', 'augment', 'views'],
      message: `data.augment.views: ${aug.views} views of images that are not augmented are all the same; add flip, crop, rotate, brightness or contrast, or remove views`,
    });
  return issues;
}

/** Two entries for one metrics file would write it twice. */
function metricsIssues(schedule: Schedule): ScheduleIssue[] {
  const types = (schedule.output?.metrics ?? []).map((m) => (typeof m === 'string' ? m : m.type));
  return types.flatMap((t, i) =>
    types.indexOf(t) < i
      ? [{ path: ['output', 'metrics', i], message: `output.metrics[${i}]: ${t} is listed twice; keep one entry` }]
      : [],
  );
}

function validationIssues(schedule: Schedule): ScheduleIssue[] {
  const v = schedule.data.validation;
  return v?.split !== undefined && v.folder !== undefined
    ? [{ path: ['data', 'validation'], message: 'data.validation: give either split or folder, not both' }]
    : [];
}

/** Stage i's name and place in time: unique, in order, no overlap or gap with the stage before. */
function timeIssues(stages: readonly StageInput[], ranges: EpochRange[], i: number, label: string): ScheduleIssue[] {
  const issues: ScheduleIssue[] = [];
  const r = ranges[i]!;
  const at = ['stages', i, 'epochs'];
  const twin = stages.findIndex((s) => s.name === stages[i]!.name);
  if (twin < i)
    issues.push({
      path: ['stages', i, 'name'],
      message: `${label}: the name is already used by stages[${twin}]; stage names must be unique`,
    });
  if (r.first > r.last)
    issues.push({
      path: at,
      message: `${label}: epochs [${r.first}, ${r.last}] ends before it starts; write [first, last]`,
    });
  if (i === 0 && r.first > 1)
    issues.push({
      path: at,
      message: `${label}: gap: ${span({ first: 1, last: r.first - 1 })} ${r.first === 2 ? 'belongs' : 'belong'} to no stage; the first stage must start at epoch 1`,
    });
  if (i === 0) return issues;
  const prev = ranges[i - 1]!;
  const prevName = stages[i - 1]!.name;
  if (r.first < prev.first)
    issues.push({
      path: at,
      message: `${label}: stages out of order: starts at epoch ${r.first}, before '${prevName}' (${span(prev)}); list stages in epoch order`,
    });
  else if (r.first <= prev.last)
    issues.push({
      path: at,
      message: `${label}: ${span(r)} overlap '${prevName}' (${span(prev)}); start at epoch ${prev.last + 1}`,
    });
  else if (r.first > prev.last + 1)
    issues.push({
      path: at,
      message: `${label}: gap: ${span({ first: prev.last + 1, last: r.first - 1 })} ${r.first - 1 === prev.last + 1 ? 'belongs' : 'belong'} to no stage; start at epoch ${prev.last + 1} or extend '${prevName}'`,
    });
  return issues;
}

/** One stage's own settings: lr finder, restoreBest, scheduler, warm-up, lr groups, patterns. */
function stageIssues(
  schedule: Schedule,
  stage: StageInput,
  r: EpochRange,
  i: number,
  label: string,
  lr: number,
): ScheduleIssue[] {
  const at = ['stages', i] as const;
  const issue = (path: (string | number)[], message: string): ScheduleIssue => ({
    path: [...at, ...path],
    message: `${label}: ${message}`,
  });
  const issues: ScheduleIssue[] = [];
  if (stage.advance && stage.earlyStopping)
    issues.push(issue(['earlyStopping'], 'give advance.onPlateau or earlyStopping (its older spelling), not both'));
  if (stage.lrFind && stage.lr !== 'find') issues.push(issue(['lrFind'], 'lrFind only goes with lr: find'));
  if (stage.restoreBest && schedule.output?.checkpoints?.best === false)
    issues.push(
      issue(
        ['restoreBest'],
        'restoreBest puts back checkpoints/best, which output.checkpoints.best: false turns off; remove one of them',
      ),
    );
  if (stage.lrFind?.min !== undefined && stage.lrFind.max !== undefined && stage.lrFind.min >= stage.lrFind.max)
    issues.push(issue(['lrFind', 'min'], 'lrFind.min must be below lrFind.max'));
  issues.push(...schedulerIssues(schedule, stage, r, lr).map(([path, message]) => issue(path, message)));
  (stage.lrGroups ?? []).forEach((g, j) => {
    if ((g.lr === undefined) === (g.lrMultiplier === undefined))
      issues.push(issue(['lrGroups', j], `lrGroups[${j}] needs exactly one of lr or lrMultiplier`));
  });
  for (const key of ['freeze', 'unfreeze'] as const) {
    const patterns = stage[key];
    (Array.isArray(patterns) ? patterns : []).forEach((p, j) => {
      try {
        compilePattern(p);
      } catch (err) {
        issues.push(issue([key, j], (err as Error).message));
      }
    });
  }
  return issues;
}

/** The scheduler kind's own checks, and a warm-up no shorter than the stage. */
function schedulerIssues(
  schedule: Schedule,
  stage: StageInput,
  r: EpochRange,
  lr: number,
): [(string | number)[], string][] {
  const sched = stage.scheduler;
  if (!sched) return [];
  const out = (schedulerKind(sched.type).check?.(normalizeScheduler(sched), lr) ?? []).map(
    ([key, message]): [(string | number)[], string] => [['scheduler', key], message],
  );
  if ('warmup' in sched && sched.warmup !== undefined && sched.warmup > 0) {
    const epochs = r.last - r.first + 1;
    const per = sched.stepPer ?? 'epoch';
    const steps = per === 'epoch' ? epochs : (knownStepsPerEpoch(schedule) ?? Infinity) * epochs;
    const unit = per === 'epoch' ? 'epochs' : 'batches';
    if (sched.warmup >= steps)
      out.push([
        ['scheduler', 'warmup'],
        `warm-up of ${sched.warmup} ${unit} is not shorter than the stage (${steps} ${unit})`,
      ]);
  }
  return out;
}
