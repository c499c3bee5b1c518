// The plan's types (no code): what schedule → plan produces, in a leaf module so the schedule modules that
// use them (blocks, select, auto) and plan.ts, which uses those modules, do not import each other.
import type { HeadLayerSpec, Schedule } from './schema.js';
import type { NormalizedScheduler } from './schedulers/index.js';
import type { NormalizedOptimizer } from './optimizers/index.js';
import type { NormalizedMetric } from './reporters/index.js';
import type { DataPlan } from '../core/data-plan.js';
import type { LayerInfo, WeightInfo } from '../core/layer-info.js';

export type { DataPlan, LayerInfo, WeightInfo };
import type { LrFindSettings } from './lr-find.js';

export interface AutoSettings {
  epochs: number;
  /** Blocks unfrozen at most (one stage each); undefined: as many as the budget allows. */
  maxDepth?: number;
  monitor: 'val_loss' | 'val_acc';
  patience: number;
  lrDecay: number;
  rank: 'gain' | 'rgn' | 'top-down';
}

export interface LrGroupPlan {
  patterns: string[];
  /** Absolute base lr of the group (multipliers already applied). */
  lr: number;
  /** The group's lrMultiplier, when its lr follows the stage's (an lr found at run time too). */
  multiplier?: number;
}

export interface StagePlan {
  index: number;
  name: string;
  firstEpoch: number;
  lastEpoch: number;
  epochs: number;
  freeze: string[];
  unfreeze: string[];
  /** `unfreeze: { lastBlocks: N }`: the backbone's last N blocks (src/schedule/blocks.ts). */
  unfreezeLastBlocks?: number;
  optimizer: NormalizedOptimizer;
  lr: number;
  weightDecay: number;
  weightDecayMode: 'decoupled' | 'l2';
  scheduler: NormalizedScheduler;
  lrGroups: LrGroupPlan[];
  /** No blocks: the model's own (modelBlocks: the backbone's blocks, then the head). */
  lrDecay?: { factor: number; blocks?: string[] };
  keepOptimizerState: boolean;
  /** At the stage's end, back to the best epoch's weights when the best epoch is not the stage's last. */
  restoreBest: boolean;
  /** Batches per optimizer step (gradient accumulation): the effective batch is batchSize × accumulate. */
  accumulate: number;
  /** lr: find — a range test at the stage's start sets `lr` (until then `lr` is the carried-over one). */
  lrFind?: LrFindSettings;
  /** End the stage when the monitored value stops improving; later stages move up (advance.onPlateau). */
  advance?: StageAdvance;
  /** Adapters this stage adds (they stay in later stages). */
  adapters: AdapterPlan[];
  /** Variable selectors as the stage gives them; unset ones carry over (resolvePlan). */
  train: { biases?: boolean; norms?: boolean };
}

export interface AdapterPlan {
  type: 'lora';
  patterns: string[];
  rank: number;
  alpha: number;
  dropout: number;
}

export interface StageAdvance {
  patience: number;
  minDelta: number;
  monitor: 'val_loss' | 'val_acc';
}

export interface Plan {
  name: string;
  model: { source: string; cutAt?: string; head: HeadLayerSpec[] };
  data: DataPlan;
  training: {
    loss: 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy';
    metrics: 'accuracy'[];
    batchNorm: 'frozen' | 'train';
    backend: NonNullable<NonNullable<Schedule['training']>['backend']>;
    gradientReport: number;
    cacheFeatures: boolean;
    telemetry: boolean;
  };
  stages: StagePlan[];
  totalEpochs: number;
  guard?: { patience: number; action: 'stop-unfreezing' | 'rollback' | 'stop'; minDelta: number };
  output: {
    dir?: string;
    checkpoints: { everyStage: boolean; everyEpochs?: number; best: BestCheckpoints | false };
    metrics: NormalizedMetric[];
    /** User reporters: module paths as written (relative to the schedule file) and their options. */
    reporters: { module: string; options: Record<string, unknown> }[];
  };
  /** Batches per epoch when knowable from the schedule alone (used to sketch per-batch curves). */
  stepsPerEpoch?: number;
  /** stages: auto — its settings; the stages are generated (schedule/auto.ts). */
  auto?: AutoSettings;
}

/** Which epoch is checkpoints/best, and how many of the best epochs checkpoints/top keeps. */
export interface BestCheckpoints {
  monitor: 'val_loss' | 'val_acc';
  keep: number;
}
