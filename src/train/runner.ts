// The stage runner: applies each stage's freezing, rebuilds optimizers over exactly the trainable
// variables, trains with a custom loop (model.fit cannot change the trainable set or lr groups mid-run),
// validates, checkpoints, and emits events. Mechanics (freeze, BN mode, optimizers) are kept apart from
// the policy (guard, early stopping) that decides when to stop.
import * as tf from '@tensorflow/tfjs';
import type { Plan, ResolvedStage, StagePlan } from '../schedule/plan.js';
import { applyTrainable, isBatchNorm, listLayers, type LayerEntry } from '../model/layers.js';
import { memorySource, sourceSize, type BatchSource } from '../data/dataset.js';
import { splitForCaching } from '../model/split.js';
import { foldBatchNorm } from '../model/fold.js';
import { isAugmenting } from '../data/augment.js';
import { rng, shuffleInPlace } from '../data/random.js';
import { buildGroups, disposeGroups, type GroupOptimizer, type ParamGroup } from './optim.js';
import type { EventBus, GradientLayer } from '../core/events.js';
import { Patience, UnfreezeGuard } from './policy.js';
import { accuracy, defaultReadback, lossFn, sumOfSquares, type Readback } from './step.js';
import { toTensors, trainEpoch } from './epoch.js';

export { lossFn };

/** Layers whose behaviour depends on the training flag. */
const MODE_LAYERS = new Set([
  'BatchNormalization',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/**
 * tfjs decides train/inference per call and does not pass `training` into nested models; BatchNorm
 * never reads `trainable` and updates its moving statistics whenever training=true. So freezeflow sets
 * the mode of every mode-dependent layer itself: training only in a training step, and frozen BatchNorm
 * layers always in inference mode (Keras semantics) unless the schedule trains BN.
 */
export class ModeController {
  training = false;
  constructor(
    layers: readonly LayerEntry[],
    private readonly bnPolicy: 'frozen' | 'train',
  ) {
    for (const { layer } of layers) {
      if (!MODE_LAYERS.has(layer.getClassName())) continue;
      const target = layer as unknown as { call: CallFn };
      const original = target.call.bind(layer) as CallFn;
      target.call = (inputs, kwargs) => {
        const bnFrozen = isBatchNorm(layer) && !layer.trainable && this.bnPolicy === 'frozen';
        return original(inputs, { ...kwargs, training: this.training && !bnFrozen });
      };
    }
  }
}

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
  checkpoint?: (kind: 'stage' | 'epoch' | 'best' | 'interrupt', state: RunState) => Promise<string | undefined>;
  /** Restore weights of the best checkpoint (guard rollback). */
  restoreBest?: () => Promise<void>;
  shouldStop?: () => boolean;
  resume?: RunState;
  runDir: string;
  /** How step numbers come back to the CPU (default: deferred on GPU backends, eager elsewhere). */
  readback?: Readback;
  /** The first GPU error since the last call, if the backend reports them. */
  deviceError?: () => string | undefined;
}

export interface RunState {
  stageIndex: number;
  /** Last completed epoch (global, 1-based); 0 before the first. */
  epoch: number;
  trainable: string[];
  bestValLoss: number;
  bestValAcc: number;
  bestEpoch: number;
  plateauFactor: number;
  unfreezeStopped: boolean;
  lastValLoss: number;
}

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

/** The stage's param groups in model order (of each group's first layer); variables in model order. */
function paramGroups(layers: readonly LayerEntry[], r: ResolvedStage): ParamGroup[] {
  const byId = new Map<string, ParamGroup>();
  for (const l of layers) {
    if (!r.trainable.has(l.path)) continue;
    const vars = l.layer.trainableWeights.map((w) => w.read() as tf.Variable);
    if (vars.length === 0) continue;
    // after the guard fired, layers the stage's plan did not expect train in the stage's own group
    const id = r.layerGroup.get(l.path) ?? 'stage';
    const g = byId.get(id) ?? { id, baseLr: r.layerLr.get(l.path) ?? r.stage.lr, vars: [] };
    g.vars.push(...vars);
    byId.set(id, g);
  }
  return [...byId.values()];
}

/**
 * Gradient norms per layer on one batch (one read); warns about trainable layers that receive no
 * gradient. Only on report steps, so its read is not a per-batch stall.
 */
async function gradientReport(
  layers: readonly LayerEntry[],
  trainable: ReadonlySet<string>,
  grads: tf.NamedTensorMap,
): Promise<{ layers: GradientLayer[]; warnings: string[] }> {
  const rows = layers
    .filter((l) => trainable.has(l.path) && l.layer.trainableWeights.length > 0)
    .map((l) => ({ l, gs: l.layer.trainableWeights.flatMap((w) => grads[(w.read() as tf.Variable).name] ?? []) }));
  const norms = tf.tidy(() => tf.stack(rows.map(({ gs }) => tf.sqrt(sumOfSquares(gs)))));
  const values = rows.length ? await norms.data() : new Float32Array(0);
  norms.dispose();
  const out: GradientLayer[] = rows.map(({ l }, i) => ({ path: l.path, norm: values[i]!, trainable: true }));
  const warnings = rows
    .filter(({ gs }, i) => gs.length === 0 || values[i] === 0)
    .map(({ l }) => `trainable layer '${l.path}' receives no gradient (cut off from the loss?)`);
  return { layers: out, warnings };
}

async function snapshot(
  layers: readonly LayerEntry[],
  frozen: (l: LayerEntry) => boolean,
): Promise<Map<string, Float32Array[]>> {
  const m = new Map<string, Float32Array[]>();
  for (const l of layers)
    if (frozen(l) && l.hasWeights)
      m.set(l.path, await Promise.all(l.layer.weights.map((w) => w.read().data() as Promise<Float32Array>)));
  return m;
}

async function sameWeights(layers: readonly LayerEntry[], snap: Map<string, Float32Array[]>): Promise<string[]> {
  const changed: string[] = [];
  for (const l of layers) {
    const before = snap.get(l.path);
    if (!before) continue;
    const now = await Promise.all(l.layer.weights.map((w) => w.read().data() as Promise<Float32Array>));
    if (now.some((a, i) => !a.every((v, j) => Object.is(v, before[i]![j])))) changed.push(l.path);
  }
  return changed;
}

/** Variables no step of this stage can change: weights of frozen layers (and their BN statistics). */
function stableVariables(
  layers: readonly LayerEntry[],
  trainable: ReadonlySet<string>,
  bnPolicy: string,
): Set<tf.Variable> {
  const out = new Set<tf.Variable>();
  for (const l of layers) {
    if (trainable.has(l.path) || (l.isBatchNorm && bnPolicy === 'train')) continue;
    for (const w of l.layer.weights) out.add(w.read() as tf.Variable);
  }
  return out;
}

/** Top-level layers that must run in the training step: trainable now, or training-mode dependent. */
function activeTopLevel(layers: readonly LayerEntry[], trainable: ReadonlySet<string>, bnPolicy: string): Set<string> {
  const out = new Set<string>();
  for (const l of layers) {
    const cls = l.layer.getClassName();
    const modeActive = MODE_LAYERS.has(cls) && (cls !== 'BatchNormalization' || bnPolicy === 'train');
    if (trainable.has(l.path) || modeActive) out.add(l.path.split('/')[0]!);
  }
  return out;
}

/** Run `model` (in inference mode) over a whole source, into one Float32Array. */
async function computeFeatures(
  model: tf.LayersModel,
  mode: ModeController,
  d: BatchSource,
  perSample: number,
): Promise<Float32Array> {
  mode.training = false;
  const n = sourceSize(d);
  const out = new Float32Array(n * perSample);
  for (let s = 0; s < n; s += 128) {
    const idx = Array.from({ length: Math.min(128, n - s) }, (_, k) => s + k);
    const x = tf.tensor(await d.batch(idx), [idx.length, ...d.shape]);
    const f = tf.tidy(() => model.apply(x) as tf.Tensor);
    out.set((await f.data()) as Float32Array, s * perSample);
    tf.dispose([x, f]);
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

interface StageData {
  model: tf.LayersModel;
  train: BatchSource;
  val: BatchSource;
}

/**
 * Feature caching: when everything up to some layer is frozen and runs the same in training, its outputs
 * are computed once for the stage and only the rest of the model trains (same weights, same numbers).
 */
async function stageData(
  opts: RunOptions,
  layers: readonly LayerEntry[],
  trainable: ReadonlySet<string>,
  mode: ModeController,
  si: number,
): Promise<StageData> {
  const { plan, model, data, bus } = opts;
  const plain = { model, train: data.train, val: data.val };
  const off = (reason: string) => {
    bus.emit({ type: 'feature-cache', stageIndex: si, used: false, reason });
    return plain;
  };
  if (!plan.training.cacheFeatures) return plain;
  if (isAugmenting(plan.data.augment)) return off('the data is augmented');
  const active = activeTopLevel(layers, trainable, plan.training.batchNorm);
  const first = model.layers.find((l) => l.getClassName() !== 'InputLayer');
  if (first && active.has(first.name))
    return off(`the first layer ('${first.name}') trains: nothing before it to cache`);
  const split = splitForCaching(model, active);
  if (!split) return off('no frozen prefix ends in a single tensor before the first trainable layer');
  const per = split.featureShape.reduce((a, b) => a * b, 1);
  const mb = ((sourceSize(data.train) + sourceSize(data.val)) * per * 4) / 2 ** 20;
  if (mb > plan.data.cacheMB)
    return off(`the features would take ${mb.toFixed(0)} MB, over data.cacheMB (${plan.data.cacheMB})`);
  const t0 = Date.now();
  const asSource = (d: BatchSource, x: Float32Array): BatchSource =>
    memorySource({ classes: d.classes, x, y: d.labels, shape: split.featureShape });
  // the prefix only runs forward in inference mode: BatchNorm folded into the convs does a third less work
  const folded = foldBatchNorm(split.prefix);
  let train: BatchSource;
  let val: BatchSource;
  try {
    train = asSource(data.train, await computeFeatures(folded.model, mode, data.train, per));
    val = asSource(data.val, await computeFeatures(folded.model, mode, data.val, per));
  } finally {
    folded.dispose();
  }
  bus.emit({
    type: 'feature-cache',
    stageIndex: si,
    used: true,
    at: split.at,
    featureShape: split.featureShape,
    megabytes: mb,
    foldedBatchNorm: folded.folded,
    seconds: (Date.now() - t0) / 1000,
  });
  return { model: split.suffix, train, val };
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
    plateauFactor: 1,
    unfreezeStopped: false,
    lastValLoss: Infinity,
  };
  try {
    return await runFrom(opts, state);
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

async function runFrom(
  opts: RunOptions,
  state: RunState,
): Promise<{ state: RunState; status: 'completed' | 'stopped' | 'interrupted' }> {
  const { plan, resolved, model, data, bus } = opts;
  const layers = listLayers(model);
  const mode = new ModeController(layers, plan.training.batchNorm);
  const nTrain = sourceSize(data.train);
  const batchSize = plan.data.batchSize;
  const readback = opts.readback ?? defaultReadback();
  let groups: GroupOptimizer[] = [];
  let status: 'completed' | 'stopped' | 'interrupted' = 'completed';
  let guard: UnfreezeGuard | undefined;

  stages: for (let si = state.stageIndex; si < plan.stages.length; si++) {
    const stage: StagePlan = plan.stages[si]!;
    const r = resolved[si]!;
    // After the guard fired, later stages keep the trainable set but use their own lr and optimizer.
    const trainable = state.unfreezeStopped && si > 0 ? new Set(state.trainable) : r.trainable;
    applyTrainable(model, trainable);
    state.stageIndex = si;
    state.trainable = [...trainable];
    if (si !== opts.resume?.stageIndex || state.epoch < stage.firstEpoch) state.plateauFactor = 1;
    groups = buildGroups(stage, paramGroups(layers, { ...r, trainable }), groups, stage.keepOptimizerState);
    const frozenBn = layers.filter((l) => l.isBatchNorm && !trainable.has(l.path)).length;
    const trainableParams = layers.filter((l) => trainable.has(l.path)).reduce((n, l) => n + l.trainableParams, 0);
    bus.emit({
      type: 'stage-start',
      stageIndex: si,
      stage: stage.name,
      firstEpoch: stage.firstEpoch,
      lastEpoch: stage.lastEpoch,
      trainable: [...trainable],
      trainableParams,
      groups: groups.map((g) => ({ id: g.id, lr: g.baseLr, variables: g.vars.length, kept: g.kept })),
      frozenBatchNorm: plan.training.batchNorm === 'frozen' ? frozenBn : 0,
      skippedUnfreeze: state.unfreezeStopped && si > 0 ? true : undefined,
    });
    if (plan.guard && stage.unfreeze.length > 0 && si > 0 && !state.unfreezeStopped) {
      guard = new UnfreezeGuard(plan.guard.patience, plan.guard.minDelta, state.lastValLoss);
    }
    const frozenSnap = await snapshot(layers, (l) => !trainable.has(l.path));
    const stable = stableVariables(layers, trainable, plan.training.batchNorm);
    const plateau = stage.scheduler.type === 'reduceOnPlateau' ? new Patience(stage.scheduler.patience + 1) : undefined;
    const early = stage.earlyStopping
      ? new Patience(stage.earlyStopping.patience, stage.earlyStopping.minDelta)
      : undefined;
    const firstEpoch = Math.max(stage.firstEpoch, state.epoch + 1);
    const sd = firstEpoch <= stage.lastEpoch ? await stageData(opts, layers, trainable, mode, si) : undefined;
    for (let epoch = firstEpoch; epoch <= stage.lastEpoch; epoch++) {
      const order = Array.from({ length: nTrain }, (_, i) => i);
      if (plan.data.shuffle) shuffleInPlace(order, rng(plan.data.seed * 1000 + epoch));
      const t0 = Date.now();
      const r = await trainEpoch({
        stage,
        stageIndex: si,
        epoch,
        e0: epoch - stage.firstEpoch,
        model: sd!.model,
        mode,
        train: sd!.train,
        order,
        batchSize,
        augment: isAugmenting(plan.data.augment) ? { spec: plan.data.augment, seed: plan.data.seed, epoch } : undefined,
        groups,
        plateauFactor: state.plateauFactor,
        readback,
        stable,
        emit: (e) => bus.emit(e),
        reportEvery: plan.training.gradientReport,
        report: async (step, grads) => {
          const rep = await gradientReport(layers, trainable, grads);
          bus.emit({ type: 'gradient-report', stageIndex: si, stage: stage.name, step, ...rep });
        },
        afterFirstStep:
          epoch === stage.firstEpoch
            ? async () => {
                for (const c of await sameWeights(layers, frozenSnap))
                  bus.emit({
                    type: 'warning',
                    message: `frozen layer '${c}' changed during a step of stage '${stage.name}'`,
                  });
              }
            : undefined,
        shouldStop: opts.shouldStop,
        deviceError: opts.deviceError,
      });
      if (r.failure) throw new NonFiniteLossError(r.failure, state);
      if (r.interrupted) {
        // Resume restarts this epoch: record the previous one as the last completed.
        state.epoch = epoch - 1;
        await opts.checkpoint?.('interrupt', state);
        status = 'interrupted';
        break stages;
      }
      const { lr } = r;
      const bad = await nonFiniteLayers(layers);
      if (bad.length > 0)
        throw new NonFiniteLossError(
          `weights of '${bad[0]}'${bad.length > 1 ? ` and ${bad.length - 1} more layer(s)` : ''} became NaN or infinite in stage '${stage.name}', epoch ${epoch}; the last good checkpoint is kept (try a lower lr)`,
          state,
        );
      const v = await evaluate(sd!.model, mode, sd!.val);
      const seconds = (Date.now() - t0) / 1000;
      state.epoch = epoch;
      state.lastValLoss = v.loss;
      bus.emit({
        type: 'epoch-end',
        stage: stage.name,
        stageIndex: si,
        epoch,
        lr,
        // what each lr group really used at the end of the epoch (the stage curve × the group's base lr)
        groupLrs: groups.map((g) => g.baseLr * r.factor),
        trainableParams,
        loss: r.loss,
        acc: r.acc,
        valLoss: v.loss,
        valAcc: v.acc,
        seconds,
        samplesPerSec: r.samples / seconds,
      });
      if (v.loss < state.bestValLoss) {
        state.bestValLoss = v.loss;
        state.bestValAcc = v.acc;
        state.bestEpoch = epoch;
        if (plan.output.checkpoints.best) await opts.checkpoint?.('best', state);
      }
      const every = plan.output.checkpoints.everyEpochs;
      if (every && epoch % every === 0) await opts.checkpoint?.('epoch', state);
      if (plateau && stage.scheduler.type === 'reduceOnPlateau' && plateau.observe(v.loss)) {
        // patience+1 stale epochs: reduce (PyTorch ReduceLROnPlateau semantics), then count afresh
        state.plateauFactor = Math.max(state.plateauFactor * stage.scheduler.factor, stage.scheduler.minLr / stage.lr);
        plateau.reset();
      }
      if (plan.guard && guard?.observe(v.loss)) {
        const reason = `val loss rose ${guard.risingEpochs} epochs in a row after unfreezing in stage '${stage.name}'`;
        bus.emit({ type: 'guard', action: plan.guard.action, epoch, reason });
        guard = undefined;
        if (plan.guard.action === 'stop-unfreezing') state.unfreezeStopped = true;
        else {
          if (plan.guard.action === 'rollback') await opts.restoreBest?.();
          status = 'stopped';
          break stages;
        }
      }
      if (early?.observe(v.loss)) {
        bus.emit({
          type: 'early-stop',
          stageIndex: si,
          stage: stage.name,
          epoch,
          reason: `no val-loss improvement for ${early.staleEpochs} epochs`,
        });
        break;
      }
    }
    if (plan.output.checkpoints.everyStage) {
      state.stageIndex = si + 1;
      await opts.checkpoint?.('stage', state);
    }
    state.stageIndex = si + 1;
  }
  disposeGroups(groups);
  return { state, status };
}
