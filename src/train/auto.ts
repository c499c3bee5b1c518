// stages: auto at run time: the gradient probe that ranks the blocks once the linear probe has trained the
// head (surgical fine-tuning's relative gradient norm), and the hook that writes the ranked stages into
// the plan before the first unfreezing stage. Everything else an auto run does is ordinary stages.
import * as tf from '../tf.js';
import type { Block } from '../schedule/blocks.js';
import { autoBlocks, rankBlocks, type BlockGradient } from '../schedule/auto.js';
import { replanAuto, resolvePlan, type Plan, type ResolvedStage } from '../schedule/plan.js';
import type { RanStage } from '../schedule/resolved.js';
import type { Schedule } from '../schedule/schema.js';
import type { BatchSource } from '../data/dataset.js';
import { rng, randomState, restoreRandomState, shuffleInPlace } from '../core/random.js';
import type { EventBus } from '../core/events.js';
import { commonParent } from '../core/blocks.js';
import { stageOutcome, type StageOutcome } from '../core/stage-outcome.js';
import type { RunState } from '../core/run-files.js';
import { weightLists } from '../core/tfjs-internals.js';
import type { LayerEntry } from '../model/layers.js';
import { toTensors } from './epoch.js';
import { holdWeights, putBack } from './lr-finder.js';
import type { ModeController } from './mode.js';
import { disposeStep, forwardBackward, sumOfSquares } from './step.js';

/** Batches the probe averages over: enough to steady the norms, few enough to cost a handful of steps. */
export const PROBE_BATCHES = 8;

/** The probe's batch count for n training samples: PROBE_BATCHES, or one pass over fewer. */
const probeBatches = (n: number, batchSize: number) => Math.min(PROBE_BATCHES, Math.ceil(n / batchSize));

export interface ProbeContext {
  model: tf.LayersModel;
  mode: ModeController;
  layers: readonly LayerEntry[];
  blocks: readonly Block[];
  train: BatchSource;
  batchSize: number;
  seed: number;
}

/** Each block's weights that could train (not BatchNorm statistics). */
function blockWeights(c: ProbeContext): tf.LayerVariable[][] {
  const byPath = new Map(c.layers.map((l) => [l.path, l]));
  return c.blocks.map((b) => b.layers.flatMap((p) => weightLists(byPath.get(p)!.layer).trainable));
}

/** ‖·‖₂ and ‖·‖₁ of each group of tensors, in one read. */
async function blockNorms(groups: readonly tf.Tensor[][]): Promise<{ l2: number; l1: number }[]> {
  const t = tf.tidy(() =>
    tf.stack(
      groups.map((g) =>
        g.length ? tf.stack([tf.sqrt(sumOfSquares(g)), tf.addN(g.map((x) => tf.sum(tf.abs(x))))]) : tf.zeros([2]),
      ),
    ),
  );
  const v = await t.data();
  t.dispose();
  return groups.map((_, i) => ({ l2: v[2 * i]!, l1: v[2 * i + 1]! }));
}

/**
 * Mean over PROBE_BATCHES fixed batches of each block's ‖g‖₁ and ‖g‖/‖w‖, every block's weights differentiated
 * (frozen BatchNorm stays in inference mode). Nothing is applied; the weights, the variables' trainable
 * flags and the random stream are put back exactly, so the run goes on as if the probe had not run.
 */
export async function blockGradients(c: ProbeContext): Promise<BlockGradient[]> {
  const random = randomState();
  const held = holdWeights(c.layers);
  const weights = blockWeights(c);
  const groups = weights.map((ws) => ws.map((w) => w.read() as tf.Variable));
  const vars = groups.flat();
  // both flags: tfjs-layers marks a layer's weights trainable when its variables are differentiated
  const flags = weights.flat().map((w, i) => [w.trainable, vars[i]!.trainable] as const);
  const n = c.train.labels.length;
  const order = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    rng(c.seed * 1000 + 0x2f),
  );
  const batches = probeBatches(n, c.batchSize);
  const [sums, l1] = [new Float64Array(groups.length), new Float64Array(groups.length)];
  try {
    for (const v of vars) v.trainable = true;
    for (let b = 0; b < batches; b++) {
      const idx = order.slice(b * c.batchSize, (b + 1) * c.batchSize);
      const { x, y } = toTensors(c.train, idx, await c.train.batch(idx), c.train.classes.length);
      const t = forwardBackward(c.model, c.mode, x, y, vars);
      try {
        const got = await blockNorms(groups.map((vs) => vs.map((v) => t.grads[v.name]!)));
        got.forEach((g, i) => ((sums[i]! += g.l2), (l1[i]! += g.l1)));
      } finally {
        disposeStep(t);
        tf.dispose([x, y]);
      }
    }
    const w = await blockNorms(groups);
    return c.blocks.map((b, i) => ({ name: b.name, gain: l1[i]! / batches, rgn: sums[i]! / batches / w[i]!.l2 }));
  } finally {
    weights.flat().forEach((w, i) => {
      w.trainable = flags[i]![0];
      vars[i]!.trainable = flags[i]![1];
    });
    putBack(held);
    restoreRandomState(random);
  }
}

export interface AutoRun {
  plan: Plan;
  schedule: Schedule;
  resolved: ResolvedStage[];
  layers: readonly LayerEntry[];
  model: tf.LayersModel;
  train: BatchSource;
  bus: EventBus;
}

/**
 * The runner's beforeStage for stages: auto. Before the first unfreezing stage (once: a resumed run keeps
 * the order in its state), rank the blocks, write the stages in that order into the plan, and say so.
 */
export function autoBeforeStage(a: AutoRun) {
  return async (si: number, ctx: { mode: ModeController; state: RunState }): Promise<void> => {
    if (si !== 1 || ctx.state.auto) return;
    const { blocks, byLayers } = autoBlocks(a.layers);
    const probe = { ...a, ...ctx, blocks, batchSize: a.plan.data.batchSize, seed: a.plan.data.seed };
    const measured = await blockGradients(probe);
    const ranking = rankBlocks(measured, a.plan.auto!.rank);
    replanAuto(a.plan, a.schedule, a.layers, ranking.order);
    a.resolved.splice(0, a.resolved.length, ...resolvePlan(a.plan, a.layers));
    ctx.state.auto = { order: ranking.order };
    a.bus.emit({
      type: 'auto-probe',
      blocks: measured.map((m, i) => ({ ...m, params: blocks[i]!.params })),
      rank: a.plan.auto!.rank,
      order: ranking.order,
      stages: a.plan.stages.length - 1,
      flat: ranking.flat,
      reason: ranking.reason,
      batches: probeBatches(a.train.labels.length, a.plan.data.batchSize),
      ...(byLayers ? { byLayers } : {}),
    });
  };
}

type Event = Parameters<EventBus['emit']>[0];
const fmt = (x: number) => Number(x.toPrecision(3)).toString();

/** Why a stage ended, in chosen-schedule.yaml's words. */
function ending(o: StageOutcome): string {
  if (o.end.by === 'guard') return `the guard (${o.end.action}) at epoch ${o.last}: ${o.end.reason}`;
  if (o.end.by === 'plateau') return `a plateau at epoch ${o.end.epoch} (${o.end.reason})`;
  return `its budget at epoch ${o.last}`;
}

const decay = (plan: Plan) =>
  plan.auto && plan.auto.lrDecay < 1 ? `; each block below the head ×${plan.auto.lrDecay}` : '';

/** How a stage came to be, from the probe's event: the probe stage, or a block and its rank. */
function origin(plan: Plan, si: number, probe?: Extract<Event, { type: 'auto-probe' }>): string {
  if (si === 0) return 'linear probe: the new head alone (on cached features where the body allows)';
  const name = probe?.order[si - 1];
  const block = probe?.blocks.find((b) => b.name === name);
  const rank = probe?.flat
    ? 'top-down (the ranking was flat)'
    : `ranked ${si} of ${probe?.blocks.length ?? '?'} (${probe?.rank})`;
  const values = block ? `, ‖g‖₁ ${fmt(block.gain)}, ‖g‖/‖w‖ ${fmt(block.rgn)}` : '';
  return `unfreezes block ${name ?? plan.stages[si]!.name}: ${rank}${values}${decay(plan)}`;
}

/** The stages an auto run ran, with the epochs, found lr and a note each (chosen-schedule.yaml). */
export function ranStages(plan: Plan, events: readonly Event[], state: RunState): RanStage[] {
  const probe = events.find((e) => e.type === 'auto-probe');
  return plan.stages.flatMap((stage, si): RanStage[] => {
    const o = stageOutcome(events, si);
    if (!o) return [];
    const lr = state.foundLr?.[String(si)] ?? stage.lr;
    const back = o.restoredTo !== undefined ? `; restoreBest put back epoch ${o.restoredTo}` : '';
    const why = probe?.type === 'auto-probe' ? probe : undefined;
    const note = ` ${origin(plan, si, why)}\n lr ${fmt(lr)} from the range test; ended on ${ending(o)}${back}`;
    return [{ index: si, first: o.first, last: o.last, lr, note }];
  });
}

/** The file's header: what it is, and the probe's ranking. */
export function chosenHeader(events: readonly Event[]): string {
  const probe = events.find((e) => e.type === 'auto-probe');
  const lines = [
    ' The stages `stages: auto` chose in this run, written down: training this file reproduces the run',
    ' (same data, seed, backend and threads give the same weights). lr: find and advance are replaced by',
    ' the lr each range test found and the epochs each stage ran.',
  ];
  if (probe?.type === 'auto-probe') {
    lines.push(` Gradient probe (${probe.batches} batches): ${probe.reason}.`);
    if (probe.byLayers) lines.push(` ${probe.byLayers}.`);
    const parent = commonParent(probe.blocks.map((b) => b.name));
    if (parent) lines.push(` Blocks under ${parent}:`);
    const names = probe.blocks.map((b) => b.name.slice(parent.length));
    const width = Math.max(...names.map((n) => n.length)) + 2;
    probe.blocks.forEach((b, i) =>
      lines.push(`   ${names[i]!.padEnd(width)}‖g‖₁ ${fmt(b.gain).padEnd(10)} ‖g‖/‖w‖ ${fmt(b.rgn)}`),
    );
  }
  return lines.join('\n');
}
