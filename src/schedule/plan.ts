// Schedule → Plan: every default filled in, epochs as ranges, lr curves computable. No tensors here.
import { backboneBlocks, modelBlocks } from './blocks.js';
import type { HeadLayerSpec, OptimizerInput, Schedule, StageInput } from './schema.js';
import { lrAt, normalizeScheduler } from './schedulers/index.js';
import { normalizeOptimizer, optimizerKind, type NormalizedOptimizer } from './optimizers/index.js';

export type { NormalizedOptimizer };
import { defaultMetrics, normalizeMetric } from './reporters/index.js';
import { DEFAULT_LR, DEFAULT_OPTIMIZER, DEFAULT_WEIGHT_DECAY } from './defaults.js';

import { knownStepsPerEpoch, stageRanges, type EpochRange } from './semantic.js';
import { compilePattern, type LayerPattern } from './patterns.js';
import { editDistance } from '../core/issues.js';
import { normalizePreprocess } from '../core/preprocess.js';
import { LR_FIND_DEFAULTS } from './lr-find.js';
import { adapterStates, variableSelection, weightsSize, type AdapterState, type WeightInfo } from './select.js';
import { autoBlocks, autoSettings, expandAuto, orderedBlocks } from './auto.js';
import type { LayerInfo, Plan, StageAdvance, StagePlan, BestCheckpoints } from './plan-types.js';

export type {
  AdapterPlan,
  AutoSettings,
  BestCheckpoints,
  LayerInfo,
  LrGroupPlan,
  Plan,
  StageAdvance,
  StagePlan,
} from './plan-types.js';

/** advance.onPlateau, or the older earlyStopping (val loss). */
function stageAdvance(s: StageInput): StageAdvance | undefined {
  const a = s.advance?.onPlateau ?? s.earlyStopping;
  if (!a) return undefined;
  const monitor = (s.advance?.onPlateau.monitor ?? 'val_loss') as StageAdvance['monitor'];
  return { patience: a.patience, minDelta: a.minDelta ?? 0, monitor };
}

const bestCheckpoints = (b: boolean | Partial<BestCheckpoints> | undefined): BestCheckpoints | false =>
  b === false
    ? false
    : { monitor: (b === true ? undefined : b?.monitor) ?? 'val_loss', keep: (b === true ? undefined : b?.keep) ?? 1 };

export const DEFAULT_LORA_RANK = 8;
export const DEFAULT_HEAD: HeadLayerSpec[] = [{ dense: { units: 'auto', activation: 'softmax' } }];

/** What a stage that leaves them out takes from the stage before (fastai-style: the short schedule is common). */
interface CarriedOver {
  optimizer: OptimizerInput;
  lr: number;
  weightDecay: number;
  mode?: 'decoupled' | 'l2';
}

/** One stage with every default filled in; `carried` is updated to what the next stage carries over. */
function stagePlan(s: StageInput, index: number, r: EpochRange, carried: CarriedOver, schedule: Schedule): StagePlan {
  carried.optimizer = s.optimizer ?? carried.optimizer;
  carried.lr = typeof s.lr === 'number' ? s.lr : carried.lr;
  carried.weightDecay = s.weightDecay ?? carried.weightDecay;
  carried.mode = s.weightDecayMode ?? (s.optimizer !== undefined ? undefined : carried.mode);
  const opt = normalizeOptimizer(carried.optimizer);
  const lr = carried.lr;
  return {
    index,
    name: s.name,
    firstEpoch: r.first,
    lastEpoch: r.last,
    epochs: r.last - r.first + 1,
    freeze: s.freeze ?? [],
    unfreeze: Array.isArray(s.unfreeze) ? s.unfreeze : [],
    ...(s.unfreeze && !Array.isArray(s.unfreeze) ? { unfreezeLastBlocks: s.unfreeze.lastBlocks } : {}),
    optimizer: opt,
    lr,
    weightDecay: carried.weightDecay,
    weightDecayMode: carried.mode ?? optimizerKind(opt.type).decay,
    scheduler: normalizeScheduler(s.scheduler),
    lrGroups: (s.lrGroups ?? []).map((g) =>
      g.lr !== undefined
        ? { patterns: g.layers, lr: g.lr }
        : { patterns: g.layers, lr: lr * (g.lrMultiplier ?? 1), multiplier: g.lrMultiplier ?? 1 },
    ),
    ...(s.lr === 'find' ? { lrFind: { ...LR_FIND_DEFAULTS, ...s.lrFind } } : {}),
    lrDecay: s.lrDecay
      ? { factor: s.lrDecay.factor, ...(s.lrDecay.blocks ? { blocks: s.lrDecay.blocks } : {}) }
      : undefined,
    keepOptimizerState: s.keepOptimizerState ?? false,
    restoreBest: s.restoreBest ?? false,
    accumulate: s.accumulate ?? schedule.training?.accumulate ?? 1,
    advance: stageAdvance(s),
    adapters: (s.adapters ?? []).map((a) => ({
      type: a.type,
      patterns: a.layers,
      rank: a.rank ?? DEFAULT_LORA_RANK,
      alpha: a.alpha ?? a.rank ?? DEFAULT_LORA_RANK,
      dropout: a.dropout ?? 0,
    })),
    train: { ...s.train },
  };
}

function dataPlan(d: Schedule['data']): Plan['data'] {
  return {
    source: d.source,
    samples: d.samples,
    validationSplit: d.validation?.folder ? 0 : (d.validation?.split ?? 0.2),
    validationFolder: d.validation?.folder,
    batchSize: d.batchSize ?? 64,
    seed: d.seed ?? 42,
    shuffle: d.shuffle ?? true,
    imageSize: d.imageSize,
    resize: d.resize ?? 'cover',
    preprocess: normalizePreprocess(d.preprocess),
    cacheMB: d.cacheMB ?? 1024,
    augment: {
      flip: d.augment?.flip ?? false,
      rotate: d.augment?.rotate ?? 0,
      crop: d.augment?.crop ?? 1,
      brightness: d.augment?.brightness ?? 0,
      contrast: d.augment?.contrast ?? 0,
      views: d.augment?.views,
    },
  };
}

function trainingPlan(t: NonNullable<Schedule['training']>): Plan['training'] {
  return {
    loss: t.loss ?? 'categoricalCrossentropy',
    metrics: t.metrics ?? ['accuracy'],
    batchNorm: t.batchNorm ?? 'frozen',
    backend: t.backend ?? 'auto',
    gradientReport: t.gradientReport ?? 0,
    cacheFeatures: t.cacheFeatures ?? true,
    telemetry: t.telemetry ?? true,
  };
}

function outputPlan(o: Schedule['output']): Plan['output'] {
  const ck = o?.checkpoints ?? {};
  return {
    dir: o?.dir,
    checkpoints: { everyStage: ck.everyStage ?? true, everyEpochs: ck.everyEpochs, best: bestCheckpoints(ck.best) },
    metrics: o?.metrics?.map(normalizeMetric) ?? defaultMetrics(),
    reporters: (o?.reporters ?? []).map((r) => ({ module: r.module, options: r.options ?? {} })),
  };
}

/**
 * Fill in defaults. Optimizer, lr, weight decay and its mode carry over from the previous stage when a
 * stage leaves them out (fastai-style: the short schedule is the common one); the scheduler does not.
 */
export function buildPlan(schedule: Schedule, name: string): Plan {
  const ranges = stageRanges(schedule.stages);
  const carried: CarriedOver = { optimizer: DEFAULT_OPTIMIZER, lr: DEFAULT_LR, weightDecay: DEFAULT_WEIGHT_DECAY };
  const stages = schedule.stages.map((s, index) => stagePlan(s, index, ranges[index]!, carried, schedule));
  const g = schedule.guard;
  return {
    name,
    model: { source: schedule.model.source, cutAt: schedule.model.cutAt, head: schedule.model.head ?? DEFAULT_HEAD },
    data: dataPlan(schedule.data),
    training: trainingPlan(schedule.training ?? {}),
    stages,
    totalEpochs: Math.max(...stages.map((s) => s.lastEpoch)),
    guard: g ? { patience: g.patience ?? 2, action: g.action, minDelta: g.minDelta ?? 0 } : undefined,
    output: outputPlan(schedule.output),
    stepsPerEpoch: knownStepsPerEpoch(schedule),
    ...(schedule.auto ? { auto: autoSettings(schedule) } : {}),
  };
}

/**
 * An auto plan's stages for the model's blocks, in place: in `order` (block names, the gradient probe's)
 * or top-down. The budget split follows the number of blocks; the plan object stays the one the run holds.
 */
export function replanAuto(plan: Plan, schedule: Schedule, layers: readonly LayerInfo[], order?: string[]): void {
  const { blocks } = autoBlocks(layers);
  const names = order ?? blocks.map((b) => b.name).reverse();
  const next = buildPlan(expandAuto({ ...schedule, stages: 'auto' }, orderedBlocks(blocks, names, layers)), plan.name);
  plan.stages.splice(0, plan.stages.length, ...next.stages);
  plan.totalEpochs = next.totalEpochs;
}

/**
 * A param group's base lr when the stage's lr is `lr` (the written one, or what lr: find picked): one rule
 * for the plan and the runner, so a found lr trains exactly as the same number written down would.
 * Absolute lrGroups keep their own lr; `decayBlocks` is the number of lrDecay blocks (ResolvedStage).
 */
export function groupLr(stage: StagePlan, id: string, lr: number, decayBlocks: number): number {
  if (id === 'stage') return lr;
  const j = /^lrGroups\[(\d+)\]$/.exec(id);
  const g = j ? stage.lrGroups[Number(j[1])] : undefined;
  if (g) return g.multiplier !== undefined ? lr * g.multiplier : g.lr;
  const k = /^lrDecay\.blocks\[(\d+)\]$/.exec(id);
  if (k && stage.lrDecay) return lr * stage.lrDecay.factor ** (decayBlocks - 1 - Number(k[1]));
  throw new Error(`no param group '${id}' in stage '${stage.name}'`);
}

/** Total scheduler steps of a stage. */
export function stageSteps(stage: StagePlan, stepsPerEpoch: number): number {
  return stage.scheduler.stepPer === 'batch' ? stage.epochs * stepsPerEpoch : stage.epochs;
}

/** lr multiplier the scheduler applies at (epoch-in-stage, batch-in-epoch), relative to the base lr. */
export function scheduleFactor(stage: StagePlan, epochInStage: number, batch: number, stepsPerEpoch: number): number {
  const t = stage.scheduler.stepPer === 'batch' ? epochInStage * stepsPerEpoch + batch : epochInStage;
  // Evaluated at the stage's own lr because minLr is absolute; lr groups then keep their ratio to it.
  return lrAt(stage.scheduler, stage.lr, t, stageSteps(stage, stepsPerEpoch)) / stage.lr;
}

/** The base lr of the stage at every epoch start (for sketches and reports). */
export function epochLrs(stage: StagePlan, stepsPerEpoch: number): number[] {
  return Array.from({ length: stage.epochs }, (_, e) => stage.lr * scheduleFactor(stage, e, 0, stepsPerEpoch));
}

// ---- resolving patterns against real layers ---------------------------------------------------------

export interface ResolvedStage {
  stage: StagePlan;
  trainable: Set<string>;
  /** Base lr of every trainable layer (lr groups and decay applied). */
  layerLr: Map<string, number>;
  /**
   * The param group of every trainable layer, named by where its lr comes from: 'stage',
   * 'lrDecay.blocks[k]' or 'lrGroups[j]'. Optimizers are per group, and reused only by the same name.
   */
  layerGroup: Map<string, string>;
  trainableParams: number;
  /** Variables that train in layers not trainable as a whole (train.biases / train.norms). */
  variables: Map<string, WeightInfo[]>;
  /** Every adapter present in this stage (added by it or earlier), training or not. */
  adapters: AdapterState[];
  /** How many blocks lrDecay spreads over (0 without lrDecay): groupLr's exponent. */
  decayBlocks: number;
}

export class PatternError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** "; closest layers: a, b, c" for a pattern that matched nothing (empty when there are no layers). */
export function nearestNames(pattern: string, paths: readonly string[]): string {
  const core = pattern.replace(/^re:/, '').replace(/[*?[\]^$\\.()+{}|]/g, '');
  const scored = paths
    .map((p) => ({
      p,
      d: Math.min(
        // compare with whole segments and with their prefixes around the pattern's length (typos that
        // drop or add a letter still find the right layer family)
        ...p
          .split('/')
          .flatMap((seg) => [seg, ...[-1, 0, 1].map((k) => seg.slice(0, core.length + k))])
          .map((s) => editDistance(core, s)),
      ),
    }))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ p }) => p);
  return scored.length > 0 ? `; closest layers: ${scored.join(', ')}` : '';
}

function matchOrThrow(
  pattern: string,
  layers: readonly LayerInfo[],
  where: (string | number)[],
  label: string,
): LayerInfo[] {
  let compiled: LayerPattern;
  try {
    compiled = compilePattern(pattern);
  } catch (err) {
    throw new PatternError(where, `${label}: ${(err as Error).message}`);
  }
  const hits = layers.filter((l) => compiled.test(l.path));
  if (hits.length === 0) {
    throw new PatternError(
      where,
      `${label}: pattern '${pattern}' matches no layer${nearestNames(
        pattern,
        layers.map((l) => l.path),
      )}`,
    );
  }
  return hits;
}

/**
 * Which layers are trainable in each stage and at what lr. Starts from fastai's default (pretrained body
 * frozen, new head trainable), then applies each stage's freeze, then unfreeze, to the previous state.
 * Every pattern must match at least one layer: a pattern that matches nothing is the most common silent
 * bug in hand-written freeze code, so it is an error naming the closest layers.
 */
export function resolvePlan(plan: Plan, layers: readonly LayerInfo[]): ResolvedStage[] {
  const trainable = new Set(layers.filter((l) => l.isHead).map((l) => l.path));
  const errors: PatternError[] = [];
  const out: ResolvedStage[] = [];
  const adapters = new Map<string, AdapterState>();
  const flags = { biases: false, norms: false };
  for (const stage of plan.stages) {
    const label = `stages[${stage.index}] '${stage.name}'`;
    const tryMatch = (pattern: string, where: (string | number)[]): LayerInfo[] => {
      try {
        return matchOrThrow(pattern, layers, where, label);
      } catch (err) {
        if (err instanceof PatternError) errors.push(err);
        else throw err;
        return [];
      }
    };
    const fail = (where: (string | number)[], message: string) =>
      errors.push(new PatternError(where, `${label}: ${message}`));
    stage.freeze.forEach((p, j) =>
      tryMatch(p, ['stages', stage.index, 'freeze', j]).forEach((l) => {
        trainable.delete(l.path);
        const a = adapters.get(l.path);
        if (a) adapters.set(l.path, { ...a, trains: false });
      }),
    );
    const unfrozen = new Set<string>();
    stage.unfreeze.forEach((p, j) =>
      tryMatch(p, ['stages', stage.index, 'unfreeze', j]).forEach((l) => unfrozen.add(l.path)),
    );
    if (stage.unfreezeLastBlocks !== undefined) {
      const blocks = backboneBlocks(layers);
      if (stage.unfreezeLastBlocks > blocks.length)
        fail(
          ['stages', stage.index, 'unfreeze', 'lastBlocks'],
          `lastBlocks is ${stage.unfreezeLastBlocks} but the backbone has ${blocks.length} blocks (${blocks.map((b) => b.name).join(', ')})`,
        );
      for (const b of blocks.slice(-stage.unfreezeLastBlocks)) b.layers.forEach((l) => unfrozen.add(l));
    }
    for (const path of unfrozen) {
      trainable.add(path);
      const a = adapters.get(path);
      if (a) adapters.set(path, { ...a, trains: true });
    }
    addAdapters(stage, adapters, unfrozen, tryMatch, fail);
    flags.biases = stage.train.biases ?? flags.biases;
    flags.norms = stage.train.norms ?? flags.norms;
    const now = new Set(trainable);
    if (plan.training.batchNorm === 'train') layers.filter((l) => l.isBatchNorm).forEach((l) => now.add(l.path));
    const variables = variableSelection(layers, now, flags);
    const present = [...adapters.values()];
    const active = new Set([...now, ...variables.keys(), ...present.filter((a) => a.trains).map((a) => a.path)]);
    const { layerLr, layerGroup, decayBlocks } = stageLrs(stage, layers, active, tryMatch);
    const trainableParams =
      layers.filter((l) => now.has(l.path)).reduce((n, l) => n + l.trainableParams, 0) +
      [...variables.values()].reduce((n, ws) => n + weightsSize(ws), 0) +
      present.filter((a) => a.trains).reduce((n, a) => n + a.params, 0);
    out.push({
      stage,
      trainable: now,
      layerLr,
      layerGroup,
      trainableParams,
      variables,
      adapters: present,
      decayBlocks,
    });
  }
  if (errors.length > 0) throw new AggregatePatternError(errors);
  return out;
}

type Matcher = (pattern: string, where: (string | number)[]) => LayerInfo[];

/** The stage's adapters onto the layers they match; each refusal is an error at its pattern. */
function addAdapters(
  stage: StagePlan,
  adapters: Map<string, AdapterState>,
  unfrozen: ReadonlySet<string>,
  tryMatch: Matcher,
  fail: (where: (string | number)[], message: string) => void,
): void {
  stage.adapters.forEach((a, j) => {
    a.patterns.forEach((p, k) => {
      const where = ['stages', stage.index, 'adapters', j, 'layers', k];
      const hits = tryMatch(p, where);
      if (hits.length === 0) return;
      const { states, refusals } = adapterStates(a, stage, hits);
      for (const why of refusals) fail(where, `adapters[${j}] pattern '${p}': ${why}`);
      const both = states.filter((st) => unfrozen.has(st.path)).map((st) => `'${st.path}'`);
      if (both.length > 0)
        fail(
          where,
          `adapters[${j}] pattern '${p}': ${both.slice(0, 3).join(', ')}${both.length > 3 ? ` and ${both.length - 3} more` : ''} also unfrozen in this stage; adapt a layer or unfreeze it, not both`,
        );
      for (const st of states) {
        const had = adapters.get(st.path);
        if (had)
          fail(
            where,
            `adapters[${j}] pattern '${p}': '${st.path}' already has an adapter (from stages[${had.stage}]); one adapter per layer`,
          );
        else adapters.set(st.path, st);
      }
    });
  });
}

/** Base lr and param group of every layer that trains something (lr groups and decay applied). */
function stageLrs(
  stage: StagePlan,
  layers: readonly LayerInfo[],
  active: ReadonlySet<string>,
  tryMatch: Matcher,
): { layerLr: Map<string, number>; layerGroup: Map<string, string>; decayBlocks: number } {
  const layerLr = new Map<string, number>();
  const layerGroup = new Map<string, string>();
  const assign = (path: string, lr: number, group: string) => (layerLr.set(path, lr), layerGroup.set(path, group));
  for (const l of layers) if (active.has(l.path)) assign(l.path, stage.lr, 'stage');
  let decayBlocks = 0;
  if (stage.lrDecay) {
    const blocks: (string | string[])[] = stage.lrDecay.blocks ?? modelBlocks(layers).map((b) => b.layers);
    decayBlocks = blocks.length;
    const byPath = new Map(layers.map((l) => [l.path, l]));
    const assigned = new Set<string>();
    blocks.forEach((b, k) => {
      const hits =
        typeof b === 'string'
          ? tryMatch(b, ['stages', stage.index, 'lrDecay', 'blocks', k])
          : b.map((p) => byPath.get(p)!);
      for (const l of hits) {
        if (assigned.has(l.path) || !active.has(l.path)) continue;
        assigned.add(l.path);
        const id = `lrDecay.blocks[${k}]`;
        assign(l.path, groupLr(stage, id, stage.lr, blocks.length), id);
      }
    });
  }
  // Groups are applied last-to-first so that the first group listed wins where groups overlap.
  [...stage.lrGroups].reverse().forEach((g, rj) => {
    const j = stage.lrGroups.length - 1 - rj;
    const hits = g.patterns.flatMap((p, k) => tryMatch(p, ['stages', stage.index, 'lrGroups', j, 'layers', k]));
    for (const l of hits) if (active.has(l.path)) assign(l.path, g.lr, `lrGroups[${j}]`);
  });
  return { layerLr, layerGroup, decayBlocks };
}

export class AggregatePatternError extends Error {
  constructor(readonly errors: PatternError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}
