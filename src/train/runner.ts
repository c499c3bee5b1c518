// The stage runner: applies each stage's freezing, rebuilds optimizers over exactly the trainable
// variables, trains with a custom loop (model.fit cannot change the trainable set or lr groups mid-run),
// validates, checkpoints, and emits events. Mechanics (freeze, BN mode, optimizers) are kept apart from
// the policy (guard, early stopping) that decides when to stop.
import { count } from '../core/format.js';
import * as tf from '../tf.js';
import { groupLr, type Plan, type ResolvedStage, type StagePlan } from '../schedule/plan.js';
import { applyTrainable, listLayers, type LayerEntry } from '../model/layers.js';
import { sourceSize, type BatchSource } from '../data/dataset.js';
import { augmentFor, stageData, type StageData } from './feature-cache.js';
import { ModeController } from './mode.js';
import { constantInputConvs } from './first-conv.js';
import { rng, shuffleInPlace } from '../core/random.js';
import { buildGroups, disposeGroups, type GroupOptimizer } from './optim.js';
import type { EventBus, GradientLayer } from '../core/events.js';
import { makePolicies, type BestEpoch, type Policy, type PolicyAction } from './policies/index.js';
import type { CheckpointKind, RunState } from '../core/run-files.js';
import { faultPoint } from '../core/fault.js';
import { randomState, restoreRandomState } from '../core/random.js';
import { restoreGroups, snapshotGroups, variableKeys, type OptimizerSnapshot } from './optim-state.js';
import { accuracy, defaultReadback, lossFn, sumOfSquares, type EpochPartial, type Readback } from './step.js';
import { toTensors, trainEpoch } from './epoch.js';
import { GradNorms, maxChange, relativeChange, rmsNorm } from './telemetry.js';
import { lrSweep } from './lr-finder.js';
import type { LoraAdapter } from '../model/lora.js';
import { AdapterSet } from './adapters.js';
import { applySelection, forwardWritten, type StageSelection } from './selection.js';
import { nextSeed } from '../core/random.js';
import type { LrFindSettings } from '../schedule/lr-find.js';

export { lossFn };

export interface TrainData {
  train: BatchSource;
  val: BatchSource;
}

export interface RunOptions {
  plan: Plan;
  resolved: ResolvedStage[];
  model: tf.LayersModel;
  data: TrainData;
  bus: EventBus;
  /** Called to write checkpoints; the runner decides when. */
  checkpoint?: (kind: CheckpointKind, state: RunState, optimizers: OptimizerSnapshot) => Promise<string | undefined>;
  /** Restore weights of the best checkpoint (guard rollback). */
  restoreBest?: () => Promise<void>;
  shouldStop?: () => boolean;
  resume?: RunState;
  /** The optimizers' state saved with the resume checkpoint. */
  resumeOptimizers?: OptimizerSnapshot;
  runDir: string;
  /** How step numbers come back to the CPU (default: deferred on GPU backends, eager elsewhere). */
  readback?: Readback;
  /** The first GPU error since the last call, if the backend reports them. */
  deviceError?: () => string | undefined;
  /** freezeflow lr-find: stop once this stage's lr range test ran, before it trains. */
  stopAfterLrFind?: number;
  /** The run's adapters (attached here as stages add them; the session saves and merges them). */
  adapters?: AdapterSet;
  /**
   * Before each stage is set up, a resumed one too: may rewrite the plan's and `resolved`'s later stages in
   * place (stages: auto ranks its blocks here, once: it keeps its order in the state). Leaves the weights
   * and the random stream as it found them.
   */
  beforeStage?: (stageIndex: number, ctx: { mode: ModeController; state: RunState }) => Promise<void>;
}

export type { RunState };

/** The loss, a gradient or a weight became NaN or infinite: training cannot go on. */
export class NonFiniteLossError extends Error {
  constructor(
    message: string,
    /** The state after the last good epoch. */
    readonly state: RunState,
  ) {
    super(message);
  }
}

/** Any other failure inside training, with the state after the last completed epoch. */
export class TrainingFailure extends Error {
  constructor(
    message: string,
    readonly state: RunState,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** Paths of layers holding a NaN or infinite weight, in one read. Once per epoch, before any checkpoint. */
async function nonFiniteLayers(layers: readonly LayerEntry[]): Promise<string[]> {
  const withWeights = layers.filter((l) => l.hasWeights);
  if (withWeights.length === 0) return [];
  const flags = tf.tidy(() =>
    tf.stack(withWeights.map((l) => tf.all(tf.stack(l.layer.weights.map((w) => tf.all(tf.isFinite(w.read()))))))),
  );
  const ok = await flags.data();
  flags.dispose();
  return withWeights.filter((_, i) => !ok[i]).map((l) => l.path);
}

export async function evaluate(
  model: tf.LayersModel,
  mode: ModeController,
  d: BatchSource,
  batchSize = 256,
): Promise<{ loss: number; acc: number }> {
  mode.training = false;
  const n = sourceSize(d);
  if (n === 0) return { loss: NaN, acc: NaN };
  // sums stay on the device: one read for the whole pass
  let sums = tf.zeros([2]);
  for (let s = 0; s < n; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - s) }, (_, k) => s + k);
    const { x, y } = toTensors(d, idx, await d.batch(idx), d.classes.length);
    const next = tf.tidy(() => {
      const p = model.apply(x) as tf.Tensor;
      return tf.add(sums, tf.mul(tf.stack([lossFn(y, p), accuracy(y, p)]), idx.length));
    });
    tf.dispose([sums, x, y]);
    sums = next;
  }
  const [loss, acc] = await sums.data();
  sums.dispose();
  return { loss: loss! / n, acc: acc! / n };
}

/**
 * Gradient norms per layer on one batch (one read); warns about trainable layers that receive no
 * gradient. Only on report steps, so its read is not a per-batch stall.
 */
async function gradientReport(
  selection: ReadonlyMap<string, tf.Variable[]>,
  grads: tf.NamedTensorMap,
): Promise<{ layers: GradientLayer[]; warnings: string[] }> {
  const rows = [...selection].map(([path, vs]) => ({ path, gs: vs.flatMap((v) => grads[v.name] ?? []) }));
  const norms = tf.tidy(() => tf.stack(rows.map(({ gs }) => tf.sqrt(sumOfSquares(gs)))));
  const values = rows.length ? await norms.data() : new Float32Array(0);
  norms.dispose();
  const out: GradientLayer[] = rows.map(({ path }, i) => ({ path, norm: values[i]!, trainable: true }));
  const warnings = rows
    .filter(({ gs }, i) => gs.length === 0 || values[i] === 0)
    .map(({ path }) => `trainable layer '${path}' receives no gradient (cut off from the loss?)`);
  return { layers: out, warnings };
}

/** The frozen variables of each layer (StageSelection.frozen), as copies. */
async function snapshot(frozen: ReadonlyMap<string, tf.LayerVariable[]>): Promise<Map<string, Float32Array[]>> {
  const out = new Map<string, Float32Array[]>();
  for (const [path, ws] of frozen)
    out.set(path, await Promise.all(ws.map(async (w) => Float32Array.from(await w.read().data()))));
  return out;
}

async function sameWeights(
  frozen: ReadonlyMap<string, tf.LayerVariable[]>,
  snap: Map<string, Float32Array[]>,
): Promise<string[]> {
  const changed: string[] = [];
  for (const [path, ws] of frozen) {
    const before = snap.get(path);
    if (!before) continue;
    const now = await Promise.all(ws.map((w) => w.read().data() as Promise<Float32Array>));
    if (now.some((a, i) => !a.every((v, j) => Object.is(v, before[i]![j])))) changed.push(path);
  }
  return changed;
}

/** Run the plan. Returns the final state; throws NonFiniteLossError on NaN/Inf loss, gradients or weights. */
export async function runStages(
  opts: RunOptions,
): Promise<{ state: RunState; status: 'completed' | 'stopped' | 'interrupted' }> {
  const state: RunState = opts.resume ?? {
    stageIndex: 0,
    epoch: 0,
    trainable: [],
    bestValLoss: Infinity,
    bestValAcc: 0,
    bestEpoch: 0,
    lastValLoss: Infinity,
    policies: {},
  };
  try {
    return await new Run(opts, state).all();
  } catch (err) {
    if (err instanceof NonFiniteLossError) throw err;
    // a GPU error often surfaces as some later op failing with a message that says nothing; Dawn
    // delivers the error itself (and device loss) by callback, so give it a moment to arrive
    if (opts.deviceError) await new Promise((r) => setTimeout(r, 50));
    const gpu = opts.deviceError?.();
    const message = gpu ? `the GPU reported an error: ${gpu}` : err instanceof Error ? err.message : String(err);
    throw new TrainingFailure(message, state, err);
  }
}

/** What one stage trains with, set up at its start. */
interface StageRun {
  /** The stage's plan (with lr: find, the found lr in it once the sweep ran). */
  stage: StagePlan;
  si: number;
  trainable: Set<string>;
  trainableParams: number;
  selection: StageSelection;
  /** The frozen variables of every layer not trained whole, when the stage began. */
  frozenSnap: Map<string, Float32Array[]>;
  /** The trainable layers' weights when the stage began (or when a resume re-entered it): telemetry. */
  startWeights: Map<string, Float32Array[]>;
  since: 'stage-start' | 'resume';
  data?: StageData;
}

type EpochEnd = 'next' | 'end-stage' | 'stop' | 'interrupted';

/** The loop: stages, then epochs; what happens after each epoch is the policies' call. */
class Run {
  private readonly layers: LayerEntry[];
  private readonly mode: ModeController;
  private readonly readback: Readback;
  private readonly policies: Policy[];
  /** What the policies asked for, as actions: the lr factor (reduceOnPlateau), a stopped unfreezing, the best epoch. */
  private lrFactor = 1;
  private holdTrainable = false;
  private best: BestEpoch;
  private groups: GroupOptimizer[] = [];
  private readonly keys: Map<tf.Variable, string>;
  private readonly adapters: AdapterSet;
  /** A resume's random stream position, restored where the saved run stood when it was taken. */
  private pendingRandom?: number;

  constructor(
    private readonly opts: RunOptions,
    private readonly state: RunState,
  ) {
    this.layers = listLayers(opts.model);
    this.mode = new ModeController(this.layers, opts.plan.training.batchNorm);
    this.readback = opts.readback ?? defaultReadback();
    this.policies = makePolicies(opts.plan);
    this.best = {
      epoch: state.bestEpoch,
      valLoss: state.bestValLoss,
      valAcc: state.bestValAcc,
      top: state.topEpochs ?? [],
    };
    this.keys = variableKeys(this.layers);
    this.adapters = opts.adapters ?? new AdapterSet(this.layers);
    this.adapters.bind({ training: () => this.mode.training, seed: nextSeed });
    // a resume's adapters exist before its optimizers are restored (their state is keyed by them)
    this.addKeys(this.adapters.attachSaved());
    this.pendingRandom = opts.resume?.random;
    for (const p of this.policies) {
      const saved = state.policies?.[p.key];
      if (saved !== undefined) p.load(saved);
    }
  }

  async all(): Promise<{ state: RunState; status: 'completed' | 'stopped' | 'interrupted' }> {
    const { plan } = this.opts;
    let status: 'completed' | 'stopped' | 'interrupted' = 'completed';
    if (this.opts.resumeOptimizers) this.groups = await restoreGroups(this.opts.resumeOptimizers, this.keys);
    try {
      stages: for (let si = this.state.stageIndex; si < plan.stages.length; si++) {
        const sr = await this.startStage(si);
        if (si === this.opts.stopAfterLrFind) {
          status = 'stopped';
          break;
        }
        const span = this.span(sr.stage);
        for (let epoch = Math.max(span.first, this.state.epoch + 1); epoch <= this.span(sr.stage).last; epoch++) {
          const end = await this.epoch(sr, epoch);
          if (end === 'end-stage') break;
          if (end === 'stop' || end === 'interrupted') {
            status = end === 'stop' ? 'stopped' : 'interrupted';
            break stages;
          }
        }
        await this.restoreBestAtEnd(sr);
        this.state.stageIndex = si + 1;
        if (plan.output.checkpoints.everyStage) await this.checkpoint('stage');
        faultPoint('stage-end');
      }
    } finally {
      disposeGroups(this.groups);
    }
    return { state: this.state, status };
  }

  /**
   * restoreBest: a stage that ended away from the best epoch hands the next stage the best epoch's weights
   * (checkpoints/best). Before the stage's checkpoint, so a resume from it starts where this run goes on;
   * a resume from an earlier checkpoint ends the stage again and restores again.
   */
  private async restoreBestAtEnd(sr: StageRun): Promise<void> {
    const best = this.best;
    if (!sr.stage.restoreBest || best.epoch === 0 || best.epoch === this.state.epoch || !this.opts.restoreBest) return;
    await this.opts.restoreBest();
    const monitor = this.opts.plan.output.checkpoints.best
      ? this.opts.plan.output.checkpoints.best.monitor
      : 'val_loss';
    this.opts.bus.emit({
      type: 'restore-best',
      stageIndex: sr.si,
      stage: sr.stage.name,
      epoch: this.state.epoch,
      bestEpoch: best.epoch,
      monitor,
      value: monitor === 'val_acc' ? best.valAcc : best.valLoss,
    });
  }

  /** The best epoch and every policy's state into the run state (what checkpoints and summaries read). */
  private sync(): void {
    const best = this.best;
    Object.assign(this.state, { bestValLoss: best.valLoss, bestValAcc: best.valAcc, bestEpoch: best.epoch });
    if (best.top.length > 0) this.state.topEpochs = best.top;
    this.state.policies = Object.fromEntries(this.policies.map((p) => [p.key, p.save()]));
  }

  private async checkpoint(kind: CheckpointKind): Promise<void> {
    this.sync();
    this.state.random = randomState();
    await this.opts.checkpoint?.(kind, this.state, await snapshotGroups(this.groups, this.keys));
  }

  private async startStage(si: number): Promise<StageRun> {
    const { plan, resolved, model, bus } = this.opts;
    await this.opts.beforeStage?.(si, { mode: this.mode, state: this.state });
    const stage = plan.stages[si]!;
    const r = resolved[si]!;
    const span = this.span(stage);
    // re-entered by --resume: a checkpoint inside the stage, or one inside its first epoch (partial)
    const resumed =
      si === this.opts.resume?.stageIndex && (this.state.epoch >= span.first || this.state.partial !== undefined);
    // the policies first: what they carry (a stopped unfreezing, a resumed lr factor) shapes the stage
    this.lrFactor = 1;
    this.absorb(this.policies.flatMap((p) => p.startStage(stage, si, resumed)));
    // after unfreezing stopped, later stages keep the trainable set but use their own lr and optimizer
    const held = this.holdTrainable && si > 0;
    const trainable = held ? new Set(this.state.trainable) : r.trainable;
    applyTrainable(model, trainable);
    // stage set-up draws from the stream (BatchNorm folding builds layers): a checkpoint taken between
    // stages comes before those draws, one taken inside a stage after them
    if (!resumed) this.restoreRandom();
    // a new adapter's A is drawn from the stream here, where a resume between stages draws it too
    this.addKeys(this.adapters.sync(r.adapters));
    const selection = applySelection(this.layers, r, trainable, this.adapters, plan.training.batchNorm);
    this.mode.unfuse(constantInputConvs(model, new Set([...trainable, ...selection.active])));
    this.state.stageIndex = si;
    this.state.trainable = [...trainable];
    // a stage re-entered by --resume keeps the optimizers (and state) it had when it was saved
    this.groups = buildGroups(stage, selection.groups, this.groups, stage.keepOptimizerState || resumed);
    const layers = this.layers;
    const frozenBn = layers.filter((l) => l.isBatchNorm && !trainable.has(l.path)).length;
    const trainableParams = selection.groups.reduce((n, g) => n + g.vars.reduce((k, v) => k + v.size, 0), 0);
    const announce = () =>
      bus.emit({
        type: 'stage-start',
        stageIndex: si,
        stage: stage.name,
        firstEpoch: span.first,
        lastEpoch: span.last,
        trainable: [...trainable],
        trainableParams,
        groups: this.groups.map((g) => ({ id: g.id, lr: g.baseLr, variables: g.vars.length, kept: g.kept })),
        frozenBatchNorm: plan.training.batchNorm === 'frozen' ? frozenBn : 0,
        skippedUnfreeze: held ? true : undefined,
        layers: layers.filter((l) => trainable.has(l.path) && l.trainableParams > 0).length,
        adapters: r.adapters.filter((a) => a.trains).length || undefined,
        variables: [...r.variables.values()].reduce((n, ws) => n + ws.length, 0) || undefined,
      });
    // with lr: find the stage is announced once its lr is known
    if (!stage.lrFind) announce();
    if (stage.train.biases && ![...r.variables.values()].some((ws) => ws.some((w) => w.name === 'bias')))
      bus.emit({
        type: 'warning',
        message: `stage '${stage.name}': train.biases picks nothing — no frozen layer has a bias (in conv + BatchNorm networks BatchNorm's β is the bias: train.norms trains it)`,
      });
    const runs = Math.max(span.first, this.state.epoch + 1) <= span.last;
    const sr: StageRun = {
      stage,
      si,
      trainable,
      trainableParams,
      selection,
      frozenSnap: await snapshot(selection.frozen),
      startWeights: plan.training.telemetry ? await this.rowWeights(selection) : new Map(),
      since: resumed ? 'resume' : 'stage-start',
      // the feature cache ends below the first layer where anything trains
      data: runs
        ? await stageData(this.opts, layers, new Set([...trainable, ...selection.active]), this.mode, si)
        : undefined,
    };
    this.restoreRandom();
    if (stage.lrFind) {
      if (runs) await this.findLr(sr);
      announce();
    }
    return sr;
  }

  /**
   * lr: find: the range test (once: a resume takes the lr it found), then the stage and its param groups
   * use that lr; groups derived from it (lrMultiplier, lrDecay) keep their ratios, absolute ones stay.
   */
  private async findLr(sr: StageRun): Promise<void> {
    const planned = sr.stage;
    const key = String(sr.si);
    let found = this.state.foundLr?.[key];
    if (found === undefined) {
      const sweep = await lrSweep({
        stage: planned as StagePlan & { lrFind: LrFindSettings },
        model: sr.data!.model,
        mode: this.mode,
        train: sr.data!.train,
        layers: this.layers,
        groups: this.groups,
        batchSize: this.opts.plan.data.batchSize,
        seed: this.opts.plan.data.seed,
        decayBlocks: this.opts.resolved[sr.si]!.decayBlocks,
        // the sweep sees the stage's first epochs as training will (augmented, or the cached views)
        augment: (epoch) => augmentFor(this.opts.plan, this.span(planned).first + epoch),
      });
      found = sweep.suggestion ?? planned.lr;
      this.opts.bus.emit({
        type: 'lr-find',
        stageIndex: sr.si,
        stage: planned.name,
        rule: planned.lrFind!.rule,
        lr: found,
        fallback: sweep.suggestion === undefined ? true : undefined,
        points: sweep.points,
      });
      this.state.foundLr = { ...this.state.foundLr, [key]: found };
    }
    // the plan's own rule, so a found lr trains exactly like the same lr written down
    const { decayBlocks } = this.opts.resolved[sr.si]!;
    for (const g of this.groups) g.baseLr = groupLr(planned, g.id, found, decayBlocks);
    sr.stage = {
      ...planned,
      lr: found,
      lrGroups: planned.lrGroups.map((g) => (g.multiplier !== undefined ? { ...g, lr: found * g.multiplier } : g)),
    };
  }

  /**
   * The epochs a stage really has: its planned range, moved up by the epochs that earlier stages left
   * unused when they ended on a plateau (advance.onPlateau); its own end moves up when it does.
   */
  private span(stage: StagePlan): { first: number; last: number } {
    const shift = this.state.shift ?? 0;
    return { first: stage.firstEpoch - shift, last: stage.lastEpoch - shift };
  }

  /** Optimizer-state keys of adapter variables: stable across processes, like the layers' own. */
  private addKeys(added: readonly LoraAdapter[]): void {
    for (const ad of added) {
      this.keys.set(ad.a, `${ad.path}/lora:0`);
      this.keys.set(ad.b, `${ad.path}/lora:1`);
    }
  }

  private restoreRandom(): void {
    if (this.pendingRandom !== undefined) restoreRandomState(this.pendingRandom);
    this.pendingRandom = undefined;
  }

  /** Gradient norms per report row for the current param groups' variables, continuing a partial epoch's. */
  private gradNorms(sr: StageRun, from?: EpochPartial): GradNorms {
    const paths = this.groups.flatMap((g) => g.vars).map((v) => sr.selection.rowOf.get(v) ?? '?');
    const rows = [...new Set(paths)];
    return new GradNorms(
      rows,
      paths.map((p) => rows.indexOf(p)),
      from?.gradNorms,
    );
  }

  /** Each report row's variables, as copies (telemetry's movement). */
  private async rowWeights(sel: StageSelection): Promise<Map<string, Float32Array[]>> {
    const out = new Map<string, Float32Array[]>();
    for (const [label, vs] of sel.rows)
      out.set(label, await Promise.all(vs.map(async (v) => Float32Array.from(await v.data()))));
    return out;
  }

  /** The epoch's telemetry event, in model order: gradient norms and movement per row, frozen layers' drift. */
  private async telemetry(sr: StageRun, epoch: number, grads: GradNorms, totals?: { steps: number; sums: number[] }) {
    const sel = sr.selection;
    const now = await this.rowWeights(sel);
    const frozenNow = await snapshot(sel.frozen);
    const layers = this.layers.flatMap((l) => {
      if (!sel.active.has(l.path)) {
        const before = sr.frozenSnap.get(l.path);
        const w = frozenNow.get(l.path);
        return before && w ? [{ path: l.path, trainable: false, change: maxChange(before, w) }] : [];
      }
      return (sel.layerRows.get(l.path) ?? []).flatMap((row) => {
        const start = sr.startWeights.get(row);
        const w = now.get(row);
        if (!start || !w) return [];
        const i = grads.layers.indexOf(row);
        const gradNorm = totals && totals.steps > 0 && i >= 0 ? rmsNorm(totals.sums[i]!, totals.steps) : undefined;
        return [
          {
            path: row,
            trainable: true,
            ...(gradNorm !== undefined ? { gradNorm } : {}),
            change: relativeChange(start, w),
          },
        ];
      });
    });
    this.opts.bus.emit({
      type: 'layer-telemetry',
      stageIndex: sr.si,
      stage: sr.stage.name,
      epoch,
      since: sr.since,
      layers,
    });
  }

  private trainEpoch(sr: StageRun, epoch: number, from: EpochPartial | undefined, gradNorms?: GradNorms) {
    const { plan, bus } = this.opts;
    const { stage, si } = sr;
    const order = Array.from({ length: sourceSize(this.opts.data.train) }, (_, i) => i);
    if (plan.data.shuffle) shuffleInPlace(order, rng(plan.data.seed * 1000 + epoch));
    const first = this.span(stage).first;
    return trainEpoch({
      at: { stage, stageIndex: si, epoch, e0: epoch - first },
      net: {
        model: sr.data!.model,
        mode: this.mode,
        groups: this.groups,
        plateauFactor: this.lrFactor,
        stable: sr.selection.stable,
        written: forwardWritten(sr.data!.model),
      },
      data: { train: sr.data!.train, order, batchSize: plan.data.batchSize, augment: augmentFor(plan, epoch) },
      device: { readback: this.readback, deviceError: this.opts.deviceError, gradNorms },
      hooks: {
        emit: (e) => bus.emit(e),
        reportEvery: plan.training.gradientReport,
        report: async (step, grads) => {
          const rep = await gradientReport(sr.selection.rows, grads);
          bus.emit({ type: 'gradient-report', stageIndex: si, stage: stage.name, step, ...rep });
        },
        afterFirstStep: epoch === first ? () => this.checkFrozen(sr) : undefined,
        shouldStop: this.opts.shouldStop,
      },
      from,
    });
  }

  private async checkFrozen(sr: StageRun): Promise<void> {
    for (const c of await sameWeights(sr.selection.frozen, sr.frozenSnap))
      this.opts.bus.emit({
        type: 'warning',
        message: `frozen layer '${c}' changed during a step of stage '${sr.stage.name}'`,
      });
  }

  private async epoch(sr: StageRun, epoch: number): Promise<EpochEnd> {
    const { stage, si } = sr;
    const t0 = Date.now();
    const from = epoch === this.state.epoch + 1 ? this.state.partial : undefined;
    this.state.partial = undefined;
    const grads = this.opts.plan.training.telemetry ? this.gradNorms(sr, from) : undefined;
    const r = await this.trainEpoch(sr, epoch, from, grads).finally(() => grads?.dispose());
    if (r.failure) throw new NonFiniteLossError(r.failure, this.state);
    if (r.interrupted) {
      // the epoch stays open: a resume continues it at the next batch, with its sums so far
      this.state.epoch = epoch - 1;
      this.state.partial = r.partial;
      await this.checkpoint('interrupt');
      return 'interrupted';
    }
    const bad = await nonFiniteLayers(this.layers);
    if (bad.length > 0)
      throw new NonFiniteLossError(
        `weights of '${bad[0]}'${bad.length > 1 ? ` and ${count(bad.length - 1, 'more layer')}` : ''} became NaN or infinite in stage '${stage.name}', epoch ${epoch}; the last good checkpoint is kept (try a lower lr)`,
        this.state,
      );
    const v = await evaluate(sr.data!.model, this.mode, sr.data!.val);
    const seconds = (Date.now() - t0) / 1000;
    this.state.epoch = epoch;
    this.state.lastValLoss = v.loss;
    // the policies judge the epoch first, so the event can carry the best epoch so far (progress shows it)
    const outcome = { stage, stageIndex: si, epoch, valLoss: v.loss, valAcc: v.acc };
    const actions = this.policies.flatMap((p) => p.endEpoch(outcome));
    this.absorb(actions);
    this.sync();
    this.opts.bus.emit({
      type: 'epoch-end',
      stage: stage.name,
      stageIndex: si,
      epoch,
      lr: stage.lr * r.factor,
      // what each lr group really used at the end of the epoch (the stage curve × the group's base lr)
      groups: this.groups.map((g) => ({ id: g.id, lr: g.baseLr * r.factor })),
      trainableParams: sr.trainableParams,
      loss: r.loss,
      acc: r.acc,
      valLoss: v.loss,
      valAcc: v.acc,
      seconds,
      samplesPerSec: r.samples / seconds,
      best: { epoch: this.state.bestEpoch, valLoss: this.state.bestValLoss, valAcc: this.state.bestValAcc },
    });
    if (grads) await this.telemetry(sr, epoch, grads, r.gradNorms);
    return this.act(actions, sr, epoch);
  }

  /** The actions that set state (the best epoch, the lr factor, a stopped unfreezing), taken at once. */
  private absorb(actions: readonly PolicyAction[]): void {
    for (const a of actions) {
      if (a.type === 'best') this.best = { epoch: a.epoch, valLoss: a.valLoss, valAcc: a.valAcc, top: a.top };
      else if (a.type === 'scale-lr') this.lrFactor = a.factor;
      else if (a.type === 'stop-unfreezing') this.holdTrainable = true;
    }
  }

  /** Carry out what the policies asked for, in their order. */
  private async act(actions: PolicyAction[], sr: StageRun, epoch: number): Promise<EpochEnd> {
    const { bus } = this.opts;
    const advance = actions.find((a) => a.type === 'advance');
    if (advance) {
      // before any checkpoint of this epoch: one taken now already ends the stage here, so a resume
      // from it moves on as this run does
      const unused = this.span(sr.stage).last - epoch;
      this.state.shift = (this.state.shift ?? 0) + unused;
      this.sync();
      bus.emit({
        type: 'early-stop',
        stageIndex: sr.si,
        stage: sr.stage.name,
        epoch,
        reason: advance.reason,
        unusedEpochs: unused,
      });
    }
    for (const a of actions) {
      if (a.type === 'checkpoint') await this.checkpoint(a.kind);
      else if (a.type === 'advance') return 'end-stage';
      else if ((a.type === 'stop-unfreezing' || a.type === 'rollback' || a.type === 'stop') && a.reason) {
        bus.emit({ type: 'guard', action: a.type, epoch, reason: a.reason });
        if (a.type === 'rollback') await this.opts.restoreBest?.();
        if (a.type !== 'stop-unfreezing') return 'stop';
      }
    }
    return 'next';
  }
}
