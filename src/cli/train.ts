// `freezeflow train`: schedule → plan → model + data → runner, with reporters, checkpoints, resume.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readScheduleFile, resolveLoaded } from '../schedule/load.js';
import { buildPlan } from '../schedule/plan.js';
import { BACKENDS, initBackend, type BackendChoice } from '../backend/index.js';
import { takeDeviceError } from '../backend/webgpu.js';
import { threadsSetting } from './threads.js';
import { defaultThreads } from '../backend/wasm-threads.js';
import { BUILTIN_SHAPE } from '../data/mnist.js';
import { seedMathRandom } from '../data/random.js';
import { sourceSize } from '../data/dataset.js';
import { describeData, openData } from '../data/open.js';
import { buildFineTuneModel } from '../model/finetune.js';
import { loadModel, saveModel } from '../model/io.js';
import { writeAtomic } from '../core/files.js';
import { listLayers } from '../model/layers.js';
import { EventBus, type RunEvent } from '../core/events.js';
import { NonFiniteLossError, runStages, TrainingFailure, type RunState } from '../train/runner.js';
import { attachFileReporters, writeSummary } from '../report/files.js';
import { writeReport } from '../report/write.js';
import { attachProgress, type ProgressMode } from '../report/progress.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { style } from './style.js';

export interface TrainOptions {
  schedule?: string;
  out?: string;
  backend?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
  resume?: string;
  strict?: boolean;
  samples?: string;
  seed?: string;
}

/** What a run started with, for --resume (RUN_DIR/run.json). */
interface RunRecord {
  scheduleFile: string;
  overrides: { samples?: string; seed?: string };
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${flag} must be a whole number (got '${v}')`, EXIT_USAGE);
  return n;
}

/** One line for an unexpected failure inside training, with the fix where we know it. */
function explainFailure(err: unknown, backend: string, batchSize: number): string {
  const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  const cause = err instanceof TrainingFailure && err.cause instanceof Error ? err.cause : err;
  if (process.env['FREEZEFLOW_DEBUG'] && cause instanceof Error) process.stderr.write(`${cause.stack}\n`);
  if (
    /memory access out of bounds|out of memory|Array buffer allocation failed|Invalid typed array length|binding size|maxBufferSize/i.test(
      msg,
    )
  )
    return `the ${backend} backend ran out of memory (${msg}); lower data.batchSize (now ${batchSize}) or unfreeze fewer layers — the checkpoints written so far are kept, and 'freezeflow train --resume RUN_DIR -s EDITED.yaml' continues from the last one`;
  return `training failed: ${msg} — the checkpoints written so far are kept (FREEZEFLOW_DEBUG=1 shows the stack)`;
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');

export async function runTrain(opts: TrainOptions): Promise<number> {
  const resumeDir = opts.resume ? resolve(opts.resume) : undefined;
  let resumeState: RunState | undefined;
  let scheduleFile = opts.schedule;
  if (resumeDir) {
    const statePath = join(resumeDir, 'checkpoints/last/state.json');
    if (!existsSync(statePath))
      throw new UserError(
        `--resume ${opts.resume}: no checkpoint (checkpoints/last/state.json) in that run directory`,
        EXIT_USAGE,
      );
    resumeState = (JSON.parse(readFileSync(statePath, 'utf8')) as { state: RunState }).state;
    scheduleFile = scheduleFile ?? join(resumeDir, 'schedule.yaml');
  }
  if (!scheduleFile) throw new UserError('give --schedule FILE (or --resume RUN_DIR)', EXIT_USAGE);
  const loaded = readScheduleFile(scheduleFile);
  const plan = buildPlan(loaded.schedule, loaded.name);
  // A resumed run keeps what it started with: the command-line overrides, and the original schedule's
  // folder for relative paths (the copy in the run directory sits elsewhere).
  const started: RunRecord | undefined =
    resumeDir && existsSync(join(resumeDir, 'run.json'))
      ? (JSON.parse(readFileSync(join(resumeDir, 'run.json'), 'utf8')) as RunRecord)
      : undefined;
  const samples = opts.samples ?? started?.overrides.samples;
  const seed = opts.seed ?? started?.overrides.seed;
  // overrides for compare (one schedule, several training-set sizes and seeds)
  if (samples !== undefined) plan.data.samples = positiveInt(samples, '--samples');
  if (seed !== undefined) plan.data.seed = positiveInt(seed, '--seed');
  const baseFile = opts.schedule ?? started?.scheduleFile ?? loaded.file;
  const choice = (opts.backend ?? plan.training.backend) as BackendChoice;
  if (!BACKENDS.includes(choice))
    throw new UserError(`--backend must be one of ${BACKENDS.join(', ')} (got '${opts.backend}')`, EXIT_USAGE);
  const described = describeData(plan, baseFile);
  const threads =
    threadsSetting(opts.threads) ??
    (described.builtin ? defaultThreads(BUILTIN_SHAPE[0] * BUILTIN_SHAPE[1]) : defaultThreads());
  const backend = await initBackend(choice, { threads });
  // the same seed, backend and thread count give the same run (head initialisation, dropout masks)
  seedMathRandom(plan.data.seed + (resumeState ? 7919 * resumeState.epoch : 0));
  const model = resumeState
    ? await loadModel(join(resumeDir!, 'checkpoints/last/model.json'))
    : await buildFineTuneModel(plan, baseFile, described.classes.length);
  const data = await openData(plan, described, model.inputs[0]!.shape.slice(1), { strict: opts.strict });
  const classes = data.classes;
  const resolved = resolveLoaded(loaded, plan, listLayers(model));

  const runDir = resumeDir ?? resolve(opts.out ?? plan.output.dir ?? join('runs', `${plan.name}-${stamp()}`));
  if (!resumeDir && existsSync(join(runDir, 'summary.json')))
    throw new UserError(`${runDir} already holds a finished run; choose another --out`, EXIT_USAGE);
  mkdirSync(runDir, { recursive: true });
  if (!resumeDir) {
    copyFileSync(loaded.file, join(runDir, 'schedule.yaml'));
    const record: RunRecord = { scheduleFile: resolve(loaded.file), overrides: { samples, seed } };
    writeAtomic(join(runDir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
  }

  const bus = new EventBus();
  attachFileReporters(bus, runDir, plan.output.metrics, resumeDir !== undefined);
  const mode: ProgressMode = opts.json
    ? 'json'
    : opts.quiet
      ? 'quiet'
      : process.stderr.isTTY && process.stdout.isTTY
        ? 'bars'
        : 'lines';
  attachProgress(
    bus,
    mode,
    style,
    (s) => process.stdout.write(`${s}\n`),
    (s) => process.stderr.write(`${s}\n`),
  );
  const events: RunEvent[] = [];
  bus.on((e) => {
    if (e.type !== 'batch-end') events.push(e);
  });

  const checkpoint = async (kind: 'stage' | 'epoch' | 'best' | 'interrupt', state: RunState): Promise<string> => {
    const name =
      kind === 'stage'
        ? `stage-${state.stageIndex}-${plan.stages[state.stageIndex - 1]?.name ?? 'end'}`
        : kind === 'epoch'
          ? `epoch-${state.epoch}`
          : kind === 'best'
            ? 'best'
            : 'last';
    const dir = join(runDir, 'checkpoints', name);
    const files = { 'state.json': { kind, state, schedule: basename(loaded.file), savedAt: new Date().toISOString() } };
    await saveModel(model, dir, { labels: classes, files });
    // 'last' is the resume point: updated with every checkpoint.
    if (name !== 'last') await saveModel(model, join(runDir, 'checkpoints', 'last'), { labels: classes, files });
    bus.emit({ type: 'checkpoint', kind, dir, epoch: state.epoch });
    return dir;
  };
  const restoreBest = async () => {
    const best = await loadModel(join(runDir, 'checkpoints/best/model.json'));
    model.setWeights(best.getWeights());
    best.dispose();
  };

  let stop = false;
  const onSignal = () => {
    if (stop) process.exit(EXIT_INTERRUPTED); // second Ctrl-C: leave now
    stop = true;
    process.stderr.write(
      '\nfreezeflow: interrupted — finishing the batch and writing a checkpoint (Ctrl-C again to quit at once)\n',
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const start = Date.now();
  bus.emit({
    type: 'run-start',
    name: plan.name,
    backend: backend.name,
    skippedBackends: backend.skipped,
    ...(backend.threads !== undefined ? { threads: backend.threads } : {}),
    ...(backend.threadsNote ? { threadsNote: backend.threadsNote } : {}),
    runDir,
    totalEpochs: plan.totalEpochs,
    stepsPerEpoch: Math.ceil(sourceSize(data.train) / plan.data.batchSize),
    trainSamples: sourceSize(data.train),
    valSamples: sourceSize(data.val),
    classes,
    skippedFiles: data.skipped,
    input: data.input,
    resumedFrom: resumeState ? { stage: resumeState.stageIndex, epoch: resumeState.epoch } : undefined,
  });
  let status: 'completed' | 'stopped' | 'interrupted' | 'failed' = 'failed';
  let state: RunState | undefined;
  let error: string | undefined;
  try {
    const r = await runStages({
      plan,
      resolved,
      model,
      data,
      bus,
      checkpoint,
      restoreBest,
      shouldStop: () => stop,
      resume: resumeState,
      runDir,
      readback: backend.name === 'tensorflow-gpu' ? 'deferred' : undefined,
      deviceError: backend.name === 'webgpu' ? takeDeviceError : undefined,
    });
    status = r.status;
    state = r.state;
  } catch (err) {
    // Any failure still ends with a summary and the checkpoints already written (never lost work).
    if (err instanceof NonFiniteLossError) {
      error = err.message;
      state = err.state;
    } else {
      if (err instanceof TrainingFailure) state = err.state;
      error = explainFailure(err, backend.name, plan.data.batchSize);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  let modelDir: string | undefined;
  if (status === 'completed' || status === 'stopped') {
    modelDir = join(runDir, 'model');
    await saveModel(model, modelDir, {
      labels: classes,
      files: {
        'freezeflow.json': { schedule: plan.name, input: data.input },
      },
    });
  }
  const epochsRun = events.filter((e) => e.type === 'epoch-end');
  const last = epochsRun.at(-1);
  const endEvent: RunEvent = {
    type: 'run-end',
    status,
    epochs: state?.epoch ?? last?.epoch ?? 0,
    bestValLoss: state?.bestValLoss ?? NaN,
    bestValAcc: state?.bestValAcc ?? NaN,
    bestEpoch: state?.bestEpoch ?? 0,
    finalValAcc: last?.type === 'epoch-end' ? last.valAcc : NaN,
    seconds: (Date.now() - start) / 1000,
    modelDir,
    error,
  };
  bus.emit(endEvent);
  writeSummary(runDir, {
    ...endEvent,
    type: undefined,
    schedule: plan.name,
    backend: {
      used: backend.name,
      skipped: backend.skipped,
      threads: backend.threads,
      threadsNote: backend.threadsNote,
    },
    data: {
      source: plan.data.source,
      seed: plan.data.seed,
      samples: plan.data.samples,
      train: sourceSize(data.train),
      validation: sourceSize(data.val),
      classes,
      skippedFiles: data.skipped,
      decodeCache: data.cache
        ? { hits: data.cache.hits, misses: data.cache.misses, peakMB: data.cache.peakBytes / 2 ** 20 }
        : undefined,
    },
    stages: plan.stages.map((s) => ({
      name: s.name,
      epochs: [s.firstEpoch, s.lastEpoch],
      ran: epochsRun.filter((e) => e.type === 'epoch-end' && e.stageIndex === s.index).length,
    })),
    // how far validation loss sits above training loss: the overfitting signal the guard acts on
    trainValGap: last?.type === 'epoch-end' ? last.valLoss - last.loss : NaN,
    guard: events.filter((e) => e.type === 'guard'),
    earlyStops: events.filter((e) => e.type === 'early-stop'),
    warnings: events.filter((e) => e.type === 'warning').map((e) => (e.type === 'warning' ? e.message : '')),
    tensors: tf.memory().numTensors,
  });
  writeAtomic(
    join(runDir, 'plan.json'),
    JSON.stringify(
      {
        stages: resolved.map((r) => ({
          name: r.stage.name,
          trainable: [...r.trainable],
          trainableParams: r.trainableParams,
        })),
      },
      null,
      2,
    ),
  );
  // the report covers both processes of a resumed run: it is drawn from events.ndjson when there is one
  writeReport(runDir, plan.output.metrics.includes('ndjson') ? undefined : events);
  if (error) {
    process.stderr.write(`freezeflow: ${error}\n`);
    return EXIT_FAILURE;
  }
  return status === 'interrupted' ? EXIT_INTERRUPTED : EXIT_OK;
}
