// stages: auto (pure): the settings, the budget split, the stages for a block order, and the ranking rule.
// An auto run is ordinary stages generated here — a linear probe, then one unfreezing stage per block —
// so the runner has no auto mode, and the stages it ran write down as a plain schedule that re-runs the
// same code path (chosen-schedule.yaml).
import type { AutoInput, GuardInput, ScheduleInput, Schedule, StageInput } from './schema.js';
import type { ScheduleIssue } from '../core/issues.js';
import type { AutoSettings, LayerInfo } from './plan-types.js';
import { backboneBlocks, type Block } from './blocks.js';
import { compilePattern } from './patterns.js';

export type { AutoSettings };

export const AUTO_DEFAULTS = { epochs: 20, patience: 2, lrDecay: 1 } as const;
/** A linear probe of one epoch and one unfreezing stage long enough to see a plateau. */
export const AUTO_MIN_EPOCHS = 3;
/** Epochs an unfreezing stage needs at least: one to move, `patience` to tell a plateau (patience 2). */
const MIN_STAGE_EPOCHS = 3;
/** Blocks whose ‖g‖/‖w‖ all lie within this ratio of each other rank as flat. */
export const FLAT_RATIO = 1.25;
/** The probe stage's name; unfreezing stages are named after their block. */
export const PROBE_STAGE = 'linear-probe';

export function autoSettings(schedule: Pick<ScheduleInput, 'auto' | 'output'>): AutoSettings {
  const a: AutoInput = schedule.auto ?? {};
  const best = schedule.output?.checkpoints?.best;
  const bestMonitor = typeof best === 'object' ? best.monitor : undefined;
  return {
    epochs: a.epochs ?? AUTO_DEFAULTS.epochs,
    ...(a.maxDepth !== undefined ? { maxDepth: a.maxDepth } : {}),
    monitor: a.monitor ?? bestMonitor ?? 'val_loss',
    patience: a.patience ?? AUTO_DEFAULTS.patience,
    lrDecay: a.lrDecay ?? AUTO_DEFAULTS.lrDecay,
    rank: a.rank ?? 'gain',
  };
}

/**
 * The budget split: the probe a fifth (at least 1 epoch; it trains on cached features, so it is cheap),
 * the rest evenly over as many unfreezing stages as blocks, maxDepth and the budget allow (later stages
 * get the remainder). With `blocks` unknown (no model yet) only maxDepth and the budget count.
 */
export function autoBudgets(s: AutoSettings, blocks = Infinity): { probe: number; stages: number[] } {
  const probe = Math.max(1, Math.round(s.epochs / 5));
  const rest = s.epochs - probe;
  const k = Math.max(1, Math.min(s.maxDepth ?? Infinity, blocks, Math.floor(rest / MIN_STAGE_EPOCHS)));
  const each = Math.max(1, Math.floor(rest / k));
  return { probe, stages: Array.from({ length: k }, (_, i) => each + (i >= k - (rest % k) ? 1 : 0)) };
}

/** A block as a stage unfreezes it: a name for the stage and patterns that match exactly its layers. */
export interface AutoBlock {
  name: string;
  patterns: string[];
}

const stageName = (block: string) => `unfreeze-${block.split('/').pop()}`;

/**
 * The stages of an auto run: the linear probe (head only, lr from the range test), then stage k unfreezing
 * order[k−1] (the earlier ones stay unfrozen) with an lr from a range test (decayed per block from the head
 * down when auto.lrDecay < 1), ending on a plateau and handing on its best weights. Without an
 * order (before the probe ranks the blocks) the stages unfreeze top-down: `lastBlocks: k`.
 */
export function autoStages(s: AutoSettings, budgets: { probe: number; stages: number[] }, order?: AutoBlock[]) {
  const advance = { onPlateau: { patience: s.patience, monitor: s.monitor } };
  const probe: StageInput = { name: PROBE_STAGE, epochs: budgets.probe, optimizer: 'adam', lr: 'find', advance };
  const unfreezing = budgets.stages.map((epochs, i): StageInput => ({
    name: order ? stageName(order[i]!.name) : `unfreeze-${i + 1}`,
    epochs,
    unfreeze: order ? order[i]!.patterns : { lastBlocks: i + 1 },
    optimizer: 'adamw',
    lr: 'find',
    weightDecay: 1e-4,
    ...(s.lrDecay < 1 ? { lrDecay: { factor: s.lrDecay } } : {}),
    advance,
    restoreBest: true,
  }));
  return [probe, ...unfreezing];
}

/** Val loss rising `patience` epochs in a row after an unfreeze: back to the best weights, and stop. */
export const autoGuard = (s: AutoSettings): GuardInput => ({ patience: s.patience, action: 'rollback' });

/** The schedule with `stages: auto` written out as its (top-down, until ranked) stages; others as they are. */
export function expandAuto(input: ScheduleInput, order?: AutoBlock[]): Schedule {
  if (input.stages !== 'auto') return input as Schedule;
  const s = autoSettings(input);
  const budgets = autoBudgets(s, order?.length);
  const stages = autoStages(s, budgets, order);
  return { ...input, stages, auto: input.auto ?? {}, guard: input.guard ?? autoGuard(s) };
}

/** What the schema cannot say about auto: the budget's minimum, settings without auto, best weights kept. */
export function autoIssues(input: ScheduleInput): ScheduleIssue[] {
  const out: ScheduleIssue[] = [];
  if (input.stages !== 'auto') {
    if (input.auto !== undefined && Array.isArray(input.stages))
      out.push({
        path: ['auto'],
        message: 'auto: sets up stages: auto, but this schedule writes its stages; write stages: auto or remove auto:',
      });
    return out;
  }
  const epochs = autoSettings(input).epochs;
  if (epochs < AUTO_MIN_EPOCHS)
    out.push({
      path: input.auto?.epochs !== undefined ? ['auto', 'epochs'] : ['stages'],
      message: `auto.epochs is ${epochs}, too few for a linear probe and one unfreezing stage: give at least ${AUTO_MIN_EPOCHS}`,
    });
  if (input.output?.checkpoints?.best === false)
    out.push({
      path: ['output', 'checkpoints', 'best'],
      message:
        'stages: auto keeps each stage’s best weights (restoreBest) and needs checkpoints/best: remove best: false',
    });
  return out;
}

export interface BlockGradient {
  name: string;
  /** Mean over the probe's batches of ‖g‖₁: the loss a first sign-like (Adam) step of lr 1 would remove. */
  gain: number;
  /** Mean over the probe's batches of ‖g‖/‖w‖ over the block's trainable weights (Auto-RGN). */
  rgn: number;
}

export interface Ranking {
  order: string[];
  flat: boolean;
  reason: string;
}

const METRIC = { gain: '‖g‖₁', rgn: '‖g‖/‖w‖' } as const;

/**
 * Blocks by the chosen measure, largest first: 'gain' (‖g‖₁ — under Adam a first step moves every weight
 * by about lr, so it removes about lr·‖g‖₁ of loss) or 'rgn' (‖g‖/‖w‖, surgical fine-tuning's Auto-RGN).
 * When the values lie within FLAT_RATIO of each other no block stands out and the order falls back to
 * top-down (fastai's); 'top-down' asks for that order outright.
 */
export function rankBlocks(blocks: readonly BlockGradient[], by: AutoSettings['rank'] = 'gain'): Ranking {
  const topDown = [...blocks].reverse().map((b) => b.name);
  if (by === 'top-down') return { order: topDown, flat: false, reason: 'top-down, as auto.rank says' };
  const value = (b: BlockGradient) => b[by];
  const finite = blocks.filter((b) => Number.isFinite(value(b)) && value(b) > 0);
  if (finite.length < blocks.length || finite.length === 0)
    return { order: topDown, flat: true, reason: 'a block had no usable gradient: top-down' };
  const max = Math.max(...finite.map(value));
  const min = Math.min(...finite.map(value));
  if (max < FLAT_RATIO * min)
    return {
      order: topDown,
      flat: true,
      reason: `${METRIC[by]} of every block within ${Math.round((FLAT_RATIO - 1) * 100)} % of each other (${(max / min).toFixed(2)}×): no block stands out, top-down`,
    };
  // stable: equal values keep the top-down order
  const byDepth = new Map(topDown.map((n, i) => [n, i]));
  const order = [...finite]
    .sort((a, b) => value(b) - value(a) || byDepth.get(a.name)! - byDepth.get(b.name)!)
    .map((b) => b.name);
  return { order, flat: false, reason: `by ${METRIC[by]}, largest first (${(max / min).toFixed(1)}× between blocks)` };
}

const paramsOf = (l: LayerInfo) => l.trainableParams + l.nonTrainableParams;

/**
 * The blocks auto ranks and unfreezes: the body's blocks by name (schedule/blocks.ts), or, where the
 * names give fewer than two, each layer with weights as its own block (`byLayers` says so).
 */
export function autoBlocks(layers: readonly LayerInfo[]): { blocks: Block[]; byLayers?: string } {
  const blocks = backboneBlocks(layers);
  if (blocks.length >= 2) return { blocks };
  const weighted = layers.filter((l) => !l.isHead && paramsOf(l) > 0);
  return {
    blocks: weighted.map((l) => ({ name: l.path, layers: [l.path], params: paramsOf(l) })),
    byLayers: `the layer names give ${blocks.length === 1 ? 'one block' : 'no blocks'}: each of the ${weighted.length} layers with weights is a block`,
  };
}

/**
 * Patterns that unfreeze exactly a block's layers with weights: its name as a glob ('layer3_*') where that
 * matches them and no other, else the layer paths themselves. Readable in chosen-schedule.yaml, and exact.
 */
export function blockPatterns(block: Block, layers: readonly LayerInfo[]): string[] {
  const own = new Set(block.layers);
  const weighted = layers.filter((l) => paramsOf(l) > 0);
  const leaf = block.name.split('/').pop()!;
  for (const glob of [`${leaf}_*`, `${leaf}.*`, `${leaf}*`]) {
    const p = compilePattern(glob);
    const hits = weighted.filter((l) => p.test(l.path));
    const mine = weighted.filter((l) => own.has(l.path));
    if (hits.length === mine.length && hits.every((l) => own.has(l.path))) return [glob];
  }
  return block.layers;
}

/** A block order by names (the probe's, or one saved in a checkpoint) as the stages' blocks. */
export function orderedBlocks(blocks: readonly Block[], names: readonly string[], layers: readonly LayerInfo[]) {
  const byName = new Map(blocks.map((b) => [b.name, b]));
  return names.flatMap((n): AutoBlock[] => {
    const b = byName.get(n);
    return b ? [{ name: n, patterns: blockPatterns(b, layers) }] : [];
  });
}
