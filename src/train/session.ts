// One training run from request to result: schedule → plan → backend, model, data → run directory and
// reporters → the runner → final model, summary, report. The CLI maps flags to a TrainRequest and the
// result to an exit code; nothing here writes to the terminal except through the progress reporter.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '../tf.js';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import { EventBus, type Reporter, type RunEvent } from '../core/events.js';
import { writeAtomic, writeDirAtomic } from '../core/files.js';
import { epochRow, readSummary, type EpochRow } from '../core/summary.js';
import { readRunEvents, RUN_FILES, writeDataSplit, type RunRecord, type RunState } from '../core/run-files.js';
import { packageVersion } from '../core/paths.js';
import { chosenYaml, resolvedYaml } from '../schedule/resolved.js';
import { autoBeforeStage, chosenHeader, ranStages } from './auto.js';
import { readScheduleFile, resolveLoaded, type LoadedSchedule } from '../schedule/load.js';
import { buildPlan, type Plan, type ResolvedStage } from '../schedule/plan.js';
import { located } from './located.js';
import { initBackend, wasmHeapFull, type BackendChoice, type BackendReport } from '../backend/index.js';
import { BACKENDS, type KernelsBuild } from '../backend/names.js';
import { takeDeviceError } from '../backend/webgpu.js';
import { defaultThreads, xnnpackPool } from '../backend/wasm-threads.js';
import { BUILTIN_SHAPE } from '../data/mnist.js';
import { seedStream } from '../core/random.js';
import { sourceSize } from '../data/dataset.js';
import { describeData, openData, type OpenedData } from '../data/open.js';
import { buildFineTuneModel } from './finetune-model.js';
import { loadModel, saveModel } from '../model/io.js';
import { listLayers } from '../model/layers.js';
import { AdapterSet, trainedWeights } from './adapters.js';
import { readAdapters } from '../model/adapter-files.js';
import { modelPreprocess } from './trained.js';
import { choosePreprocess } from '../core/preprocess.js';
import { fileReporter } from './file-reporters.js';
import { summaryReporter } from '../report/reporters/summary.js';
import { writeReport } from '../report/write.js';
import { importReporter, makeReporter, type ReporterFactory } from '../report/reporters/module.js';
import { NonFiniteLossError, runStages, TrainingFailure } from './runner.js';
import { RunDirectory } from './run-dir.js';

export interface TrainRequest {
  /** The schedule file (optional with `resume`: the run's own copy). */
  schedule?: string;
  /** A run directory to continue from its last checkpoint. */
  resume?: string;
  out?: string;
  backend?: BackendChoice;
  threads?: number;
  strict?: boolean;
  /** Overrides of data.samples / data.seed, applied before the plan is built. */
  samples?: number;
  seed?: number;
  /** `KEY=VALUE` overrides of any schedule key (--set), applied before validation. */
  set?: string[];
  /** freezeflow lr-find: end the run once this stage (with lr: find) has swept, before it trains. */
  lrFindStage?: string;
}

export type RunStatus = 'completed' | 'stopped' | 'interrupted' | 'failed';

export interface TrainResult {
  status: RunStatus;
  runDir: string;
  /** One line saying what went wrong (failed runs). */
  error?: string;
}

interface Prepared {
  loaded: LoadedSchedule;
  plan: Plan;
  /** Where relative paths in the schedule resolve from. */
  baseFile: string;
  resumed?: RunDirectory;
  /** The resumed run's state at its checkpoint (absent for a new run, or one that starts over). */
  resumeState?: RunState;
  overrides: RunRecord['overrides'] & { backend?: BackendChoice };
  /** lr-find: the index of the stage after whose sweep the run ends. */
  stopAfterLrFind?: number;
}

/** Schedule, overrides (a resumed run keeps those it started with) and plan. */
function prepare(req: TrainRequest): Prepared {
  const resumed = req.resume ? RunDirectory.resume(req.resume) : undefined;
  const file = req.schedule ?? (resumed ? resumed.file('schedule') : undefined);
  if (!file) throw new UserError('give --schedule FILE (or --resume RUN_DIR)', EXIT_USAGE);
  const before = resumed?.record?.overrides;
  const set = req.set ?? before?.set;
  const loaded = readScheduleFile(file, set);
  const num = (v: unknown) => (v === undefined ? undefined : Number(v)); // older run.json kept strings
  const overrides = {
    samples: req.samples ?? num(before?.samples),
    seed: req.seed ?? num(before?.seed),
    // a run resumes on the backend and thread count it was started with, unless told otherwise
    backend: req.backend ?? BACKENDS.find((b) => b === before?.backend),
    threads: req.threads ?? before?.threads,
    ...(set?.length ? { set } : {}),
  };
  if (overrides.samples !== undefined) loaded.schedule.data.samples = overrides.samples;
  if (overrides.seed !== undefined) loaded.schedule.data.seed = overrides.seed;
  const plan = buildPlan(loaded.schedule, loaded.name);
  const baseFile = req.schedule ?? resumed?.record?.scheduleFile ?? loaded.file;
  const stopAfterLrFind =
    req.lrFindStage === undefined ? undefined : plan.stages.findIndex((s) => s.name === req.lrFindStage);
  return { loaded, plan, baseFile, resumed, resumeState: resumed?.resumeFrom?.state, overrides, stopAfterLrFind };
}

interface Opened {
  /** Where the pixels' preprocessing came from, and a warning when the schedule contradicts the model. */
  preprocess: { from: 'schedule' | 'model' | 'default'; record?: string; warning?: string };
  backend: BackendReport;
  model: tf.LayersModel;
  data: OpenedData;
  resolved: ResolvedStage[];
  /** A resume on other SIMD kernels than the run's start (kernelsChanged). */
  kernelsWarning?: string;
}

/** Backend, seeds, model (fresh or from the checkpoint) and data. */
async function open(req: TrainRequest, p: Prepared): Promise<Opened> {
  const { plan, baseFile, loaded, resumeState } = p;
  const described = await located(loaded, () => describeData(plan, baseFile));
  const pixels = described.builtin ? BUILTIN_SHAPE[0] * BUILTIN_SHAPE[1] : undefined;
  const threads = p.overrides.threads ?? defaultThreads(pixels);
  const pool = xnnpackPool(threads, pixels);
  const backend = await initBackend(p.overrides.backend ?? plan.training.backend, { threads, pool });
  // the same seed, backend and thread count give the same run (head initialisation, dropout masks)
  seedStream(plan.data.seed + (resumeState ? 7919 * resumeState.epoch : 0));
  const model = resumeState
    ? await loadModel(join(p.resumed!.file('checkpoints'), 'last', 'model.json'))
    : await located(loaded, () => buildFineTuneModel(plan, baseFile, described.classes.length));
  const preprocess = await settlePreprocess(p);
  const data = await openData(plan, described, model.inputs[0]!.shape.slice(1), { strict: req.strict });
  const resolved = resolveLoaded(loaded, plan, listLayers(model), resumeState?.auto?.order);
  return { preprocess, backend, model, data, resolved };
}

/**
 * data.preprocess that the schedule leaves out follows the model's own record (TM metadata, an import,
 * a run's freezeflow.json; a resumed run its checkpoint's). Decided before config.yaml is written, so
 * the resolved config says the pixels the run really used.
 */
async function settlePreprocess(p: Prepared): Promise<Opened['preprocess']> {
  const { plan, resumeState } = p;
  const record = resumeState
    ? await modelPreprocess(join(p.resumed!.file('checkpoints'), 'last', 'model.json'), process.cwd())
    : await modelPreprocess(plan.model.source, dirname(resolve(p.baseFile)));
  const given = p.loaded.schedule.data.preprocess !== undefined;
  const chosen = choosePreprocess(given ? plan.data.preprocess : undefined, record);
  plan.data.preprocess = chosen.preprocess;
  return { from: chosen.from, record: record?.from, warning: chosen.warning };
}

/**
 * The epochs of the earlier processes of a resumed run: from events.ndjson, written as each epoch ends
 * (summary.json is written only when a process ends, so a killed one left none); else the last summary.
 */
/** events.ndjson holds the run's events (the report reads them back from it). */
const writesEvents = (plan: Plan): boolean => plan.output.metrics.some((m) => m.type === 'ndjson');

function earlierHistory(runDir: string): EpochRow[] | undefined {
  if (existsSync(join(runDir, RUN_FILES.events)))
    return readRunEvents(runDir).flatMap((e) => (e.type === 'epoch-end' ? [epochRow(e)] : []));
  return readSummary(runDir)?.history;
}

/** The user's reporter modules (output.reporters), imported and checked before the run folder exists. */
async function userReporters(p: Prepared): Promise<ReporterFactory[]> {
  const base = dirname(resolve(p.baseFile));
  return located(p.loaded, () => Promise.all(p.plan.output.reporters.map((r, i) => importReporter(r.module, base, i))));
}

/** File reporters the schedule asks for, the summary, the user's own, and the terminal (last). */
function reporters(bus: EventBus, p: Prepared, dir: RunDirectory, progress: Reporter, own: ReporterFactory[]): void {
  const append = p.resumed !== undefined;
  for (const m of p.plan.output.metrics) bus.add(m.type, fileReporter(m, { runDir: dir.path, append }));
  bus.add(
    'summary',
    summaryReporter({
      runDir: dir.path,
      schedule: p.plan.name,
      data: { source: p.plan.data.source, seed: p.plan.data.seed, samples: p.plan.data.samples },
      // read at the run's end: stages: auto writes its stages once the probe has ranked the blocks
      get stages() {
        return p.plan.stages.map((s) => ({ name: s.name, first: s.firstEpoch, last: s.lastEpoch }));
      },
      history: append ? earlierHistory(dir.path) : undefined,
    }),
  );
  const context = { runDir: dir.path, schedule: p.plan.name, resumed: append };
  p.plan.output.reporters.forEach(({ module, options }, i) =>
    bus.add(module, makeReporter(module, own[i]!, options, context)),
  );
  bus.add('progress', progress);
}

/** One line for an unexpected failure inside training, with the fix where we know it. */
function explainFailure(err: unknown, backend: string, batchSize: number, runDir: string): string {
  const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  const cause = err instanceof TrainingFailure && err.cause instanceof Error ? err.cause : err;
  if (process.env['FREEZEFLOW_DEBUG'] && cause instanceof Error) process.stderr.write(`${cause.stack}\n`);
  const io = cause as NodeJS.ErrnoException;
  if (io.code === 'ENOSPC' || io.code === 'EDQUOT')
    return `the disk holding ${runDir} is full${io.path ? ` (writing ${io.path})` : ''}; free some space, then 'freezeflow train --resume ${runDir}' — the last complete checkpoint is intact and half-written files were removed`;
  // any wasm trap once the heap has filled (a pool thread's call through a pointer malloc never set)
  const trapWhenFull = cause instanceof WebAssembly.RuntimeError && wasmHeapFull();
  if (
    trapWhenFull ||
    /memory access out of bounds|out of memory|Array buffer allocation failed|Invalid typed array length|binding size|maxBufferSize|^Aborted\(\)/i.test(
      msg,
    )
  )
    return `the ${backend} backend ran out of memory (${/^Aborted\(\)/.test(msg) ? 'the wasm module aborted' : msg}); lower data.batchSize (now ${batchSize}) and set training.accumulate to keep the effective batch, or unfreeze fewer layers — the checkpoints written so far are kept, and 'freezeflow train --resume RUN_DIR -s EDITED.yaml' continues from the last one`;
  return `training failed: ${msg} — the checkpoints written so far are kept (FREEZEFLOW_DEBUG=1 shows the stack)`;
}

function runStart(p: Prepared, o: Opened, dir: RunDirectory): RunEvent {
  const { plan, resumeState } = p;
  const { backend, data } = o;
  return {
    type: 'run-start',
    name: plan.name,
    backend: backend.name,
    skippedBackends: backend.skipped,
    ...(backend.threads !== undefined ? { threads: backend.threads } : {}),
    ...(backend.threadsNote ? { threadsNote: backend.threadsNote } : {}),
    ...(backend.pool ? { pool: backend.pool } : {}),
    runDir: dir.path,
    totalEpochs: plan.totalEpochs,
    stepsPerEpoch: Math.ceil(sourceSize(data.train) / plan.data.batchSize),
    trainSamples: sourceSize(data.train),
    valSamples: sourceSize(data.val),
    classes: data.classes,
    skippedFiles: data.skipped,
    input: data.input,
    ...(o.preprocess.from === 'model' ? { preprocessFrom: o.preprocess.record } : {}),
    resumedFrom: resumeState
      ? { stage: resumeState.stageIndex, epoch: resumeState.epoch }
      : p.resumed
        ? { stage: 0, epoch: 0 }
        : undefined,
  };
}

/** Run the stages; any failure becomes an error line with the state of the last good epoch. */
async function train(
  p: Prepared,
  o: Opened,
  dir: RunDirectory,
  bus: EventBus,
  signal: AbortSignal,
  adapters: AdapterSet,
) {
  const { plan } = p;
  const meta = {
    labels: o.data.classes,
    stageNames: plan.stages.map((s) => s.name),
    scheduleFile: p.loaded.file,
    model: { schedule: plan.name, input: o.data.input },
  };
  try {
    const r = await runStages({
      plan,
      resolved: o.resolved,
      model: o.model,
      data: o.data,
      bus,
      checkpoint: async (kind, state, optimizers) => {
        // model.json holds the merged, plain model (predict and any tfjs app load it); adapters.* hold A, B, W
        const more = adapters.size > 0 ? await adapters.files(true) : {};
        const at = await adapters.withMerged(() => dir.checkpoint(o.model, kind, state, optimizers, meta, more));
        bus.emit({ type: 'checkpoint', kind, dir: at, epoch: state.epoch });
        return at;
      },
      restoreBest: async () => adapters.restore(readAdapters(await dir.restoreBest(o.model))),
      adapters,
      shouldStop: () => signal.aborted,
      resume: dir.resumeFrom?.state,
      resumeOptimizers: dir.resumeOptimizers(),
      runDir: dir.path,
      readback: o.backend.name === 'tensorflow-gpu' ? 'deferred' : undefined,
      deviceError: o.backend.name === 'webgpu' ? takeDeviceError : undefined,
      stopAfterLrFind: p.stopAfterLrFind,
      beforeStage: plan.auto
        ? autoBeforeStage({
            plan,
            schedule: p.loaded.schedule,
            resolved: o.resolved,
            layers: listLayers(o.model),
            model: o.model,
            train: o.data.train,
            bus,
          })
        : undefined,
    });
    return { status: r.status as RunStatus, state: r.state };
  } catch (err) {
    // Any failure still ends with a summary and the checkpoints already written (never lost work).
    if (err instanceof NonFiniteLossError) return { status: 'failed' as const, state: err.state, error: err.message };
    const error = explainFailure(err, o.backend.name, plan.data.batchSize, dir.path);
    return { status: 'failed' as const, state: err instanceof TrainingFailure ? err.state : undefined, error };
  }
}

export async function trainSession(
  req: TrainRequest,
  io: { progress: Reporter; signal: AbortSignal },
): Promise<TrainResult> {
  const p = prepare(req);
  // --out is the run's folder (relative to the working directory); output.dir, like every path in a
  // schedule relative to the schedule's folder, holds one version_N folder per run
  const versions = p.plan.output.dir && resolve(dirname(p.baseFile), p.plan.output.dir);
  const out = p.resumed ? '' : RunDirectory.check(req.out, p.plan.name, versions);
  const own = await userReporters(p);
  const o = await open(req, p);
  const dir =
    p.resumed ??
    RunDirectory.create(out, p.loaded.text, {
      scheduleFile: resolve(p.loaded.file),
      overrides: p.overrides,
    });
  const changed = p.resumed ? kernelsChanged(dir.path, o.backend) : undefined;
  writeRunConfig(dir.path, p.plan, o.backend);
  try {
    return await trainIn(p, changed ? { ...o, kernelsWarning: changed } : o, dir, io, own);
  } finally {
    dir.lock.release();
  }
}

/** The fully resolved schedule as YAML (--print-config): what config.yaml of a run started so holds. */
export async function resolvedConfig(req: TrainRequest): Promise<string> {
  const p = prepare(req);
  await settlePreprocess(p); // the pixels the run would use, the model's record included
  return resolvedYaml(p.plan);
}

/** config.yaml (the resolved schedule, --set values included) and environment.json (what it ran on). */
function writeRunConfig(runDir: string, plan: Plan, backend: BackendReport): void {
  const header = `# the fully resolved schedule of this run: every default written out; it loads again with -s\n`;
  writeAtomic(join(runDir, RUN_FILES.config), header + resolvedYaml(plan));
  const environment = {
    freezeflow: packageVersion(),
    tfjs: tf.version_core,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: backend.name,
    ...(backend.threads !== undefined ? { threads: backend.threads } : {}),
    ...(backend.pool ? { pool: backend.pool } : {}),
    ...(backend.kernels ? { kernels: backend.kernels } : {}),
  };
  writeAtomic(join(runDir, RUN_FILES.environment), `${JSON.stringify(environment, null, 2)}\n`);
}

/** How to get each build of the SIMD kernels back. */
const KERNELS_SETTING: Record<KernelsBuild, string> = {
  'relaxed-simd': 'FREEZEFLOW_FMA and FREEZEFLOW_SIMD unset',
  simd128: 'FREEZEFLOW_FMA=0',
  off: 'FREEZEFLOW_SIMD=0',
};

/** A resume on SIMD kernels that round differently from the run's start continues, but not bit-identically. */
function kernelsChanged(runDir: string, backend: BackendReport): string | undefined {
  const file = join(runDir, RUN_FILES.environment);
  if (!existsSync(file) || !backend.kernels) return undefined;
  const before = (JSON.parse(readFileSync(file, 'utf8')) as { kernels?: KernelsBuild }).kernels;
  if (!before || !(before in KERNELS_SETTING) || before === backend.kernels) return undefined;
  return `this run started on the ${before} SIMD kernels and resumes on ${backend.kernels}: it continues, but not bit-identically to an uninterrupted run (${KERNELS_SETTING[before]} resumes on the same kernels)`;
}

async function trainIn(
  p: Prepared,
  o: Opened,
  dir: RunDirectory,
  io: { progress: Reporter; signal: AbortSignal },
  own: ReporterFactory[],
): Promise<TrainResult> {
  const bus = new EventBus();
  // the lock's heartbeat: other hosts judge a lock stale by its age
  bus.on((e) => (e.type === 'epoch-end' ? dir.lock.refresh() : undefined));
  reporters(bus, p, dir, io.progress, own);
  const events: RunEvent[] = [];
  bus.on((e) => (e.type === 'batch-end' ? undefined : events.push(e)));
  const start = Date.now();
  bus.emit(runStart(p, o, dir));
  if (o.preprocess.warning) bus.emit({ type: 'warning', message: o.preprocess.warning });
  if (o.kernelsWarning) bus.emit({ type: 'warning', message: o.kernelsWarning });
  // a resume takes its adapters (and their layers' own kernels) from the checkpoint it continues
  const saved = p.resumeState ? readAdapters(dir.lastCheckpoint) : undefined;
  const adapters = new AdapterSet(listLayers(o.model), saved);
  const r = await train(p, o, dir, bus, io.signal, adapters);
  const last = events.filter((e) => e.type === 'epoch-end' || e.type === 'restore-best').at(-1);
  // the last stage's restoreBest leaves the best epoch's weights in the model: its numbers are the final ones
  const restored = last?.type === 'restore-best' ? last.bestEpoch : undefined;
  const finalValAcc = last?.type === 'epoch-end' ? last.valAcc : restored ? (r.state?.bestValAcc ?? NaN) : NaN;
  await finish(p, o, dir, bus, adapters, {
    ...r,
    finalValAcc,
    modelEpoch: restored,
    seconds: (Date.now() - start) / 1000,
    events,
  });
  // the report covers both processes of a resumed run: it is drawn from events.ndjson when there is one
  writeReport(dir.path, writesEvents(p.plan) ? undefined : events);
  return { status: r.status, runDir: dir.path, error: r.error };
}

/** stages: auto — the stages it ran as a plain schedule, from every process's events (a resumed run too). */
function writeChosen(p: Prepared, dir: RunDirectory, state: RunState, own: readonly RunEvent[]): void {
  const events = writesEvents(p.plan) ? readRunEvents(dir.path) : own;
  const header = chosenHeader(events);
  writeAtomic(dir.file('chosen'), chosenYaml(p.plan, ranStages(p.plan, events, state), header));
}

/** The final model (runs that ended normally), run-end, the summary, plan.json. */
async function finish(
  p: Prepared,
  o: Opened,
  dir: RunDirectory,
  bus: EventBus,
  adapters: AdapterSet,
  r: {
    status: RunStatus;
    state?: RunState;
    error?: string;
    finalValAcc: number;
    modelEpoch?: number;
    seconds: number;
    events: readonly RunEvent[];
  },
): Promise<void> {
  let modelDir: string | undefined;
  if (r.status === 'completed' || r.status === 'stopped') {
    modelDir = dir.file('model');
    if (adapters.size > 0) {
      // the adapters alone (small), then the model with them merged in: plain layers, no custom classes
      const { files, binary } = await adapters.files(false, {
        model: p.plan.model,
        labels: o.data.classes,
        meta: { schedule: p.plan.name, input: o.data.input },
        weights: trainedWeights(listLayers(o.model), o.resolved),
      });
      const text = Object.entries(files).map(([k, v]): [string, string] => [k, `${JSON.stringify(v, null, 2)}\n`]);
      writeDirAtomic(dir.file('adapters'), { ...Object.fromEntries(text), ...binary });
      adapters.mergeAll();
    }
    await saveModel(o.model, modelDir, {
      labels: o.data.classes,
      files: { 'freezeflow.json': { schedule: p.plan.name, input: o.data.input } },
    });
  }
  const cache = o.data.cache;
  bus.emit({
    type: 'run-end',
    status: r.status,
    epochs: r.state?.epoch ?? 0,
    bestValLoss: r.state?.bestValLoss ?? NaN,
    bestValAcc: r.state?.bestValAcc ?? NaN,
    bestEpoch: r.state?.bestEpoch ?? 0,
    finalValAcc: r.finalValAcc,
    ...(r.modelEpoch !== undefined ? { modelEpoch: r.modelEpoch } : {}),
    seconds: r.seconds,
    modelDir,
    error: r.error,
    decodeCache: cache ? { hits: cache.hits, misses: cache.misses, peakMB: cache.peakBytes / 2 ** 20 } : undefined,
    tensors: tf.memory().numTensors,
  });
  await bus.close();
  if (p.plan.auto && r.state && modelDir) writeChosen(p, dir, r.state, r.events);
  if (o.data.split) writeDataSplit(dir.path, o.data.split);
  const stages = o.resolved.map((s) => ({
    name: s.stage.name,
    trainable: [...s.trainable],
    trainableParams: s.trainableParams,
  }));
  writeAtomic(dir.file('plan'), JSON.stringify({ stages }, null, 2));
}
