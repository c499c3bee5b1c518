// freezeflow as a library: load and validate a schedule, plan it, and run it with an event callback.
// `import { loadSchedule, plan, train } from 'freezeflow'`. Training loads tfjs; the rest does not.
import type { RunEvent } from './core/events.js';
import { readScheduleFile, parseSchedule, type LoadedSchedule } from './schedule/load.js';
import { buildPlan, type Plan } from './schedule/plan.js';
import type { TrainRequest, TrainResult } from './train/session.js';
import type {
  EvaluateOptions,
  EvaluateResult,
  FileError,
  Prediction,
  PredictResult,
  UseOptions,
} from './train/infer.js';

export type { RunEvent } from './core/events.js';
export type { RunSummary, EpochRow } from './core/summary.js';
export { readSummary } from './core/summary.js';
export { ScheduleError, formatIssue, type ScheduleIssue } from './core/issues.js';
export { UserError } from './core/errors.js';
export type { Schedule } from './schedule/schema.js';
export type { LoadedSchedule, Plan, TrainRequest, TrainResult };
export type { ClassificationReport, ClassMetrics } from './report/classification.js';
export type { EvaluateOptions, EvaluateResult, FileError, Prediction, PredictResult, UseOptions };

/**
 * What loadModel returns, as far as freezeflow declares it: a tfjs LayersModel. The full type is
 * `loadModel<tf.LayersModel>(…)` with your own tfjs import; it is not named here because tfjs' own
 * declarations do not compile under `strict` without skipLibCheck, and they would become yours.
 */
export interface LayersModelLike {
  readonly name: string;
  readonly layers: readonly { readonly name: string; trainable: boolean; countParams(): number }[];
  readonly inputs: readonly { readonly shape: readonly (number | null)[] }[];
  readonly outputs: readonly { readonly shape: readonly (number | null)[] }[];
  countParams(): number;
  predict(x: unknown): unknown;
  dispose(): unknown;
}

/**
 * A schedule from a YAML file, or from YAML text with `{ text, file }` (file names it in errors).
 * Throws ScheduleError listing every problem as file:line:col.
 */
export function loadSchedule(source: string | { text: string; file?: string }): LoadedSchedule {
  return typeof source === 'string' ? readScheduleFile(source) : parseSchedule(source.text, source.file);
}

/** What each stage will do: epochs, optimizer, lrs, patterns (the same plan `freezeflow plan` prints). */
export function plan(schedule: LoadedSchedule): Plan {
  return buildPlan(schedule.schedule, schedule.name);
}

/**
 * A model as a tfjs LayersModel with freezeflow's layer classes registered: any source `model.source`
 * takes (a model.json or its folder, an http(s) URL, builtin:NAME, an .onnx file: imported and cached)
 * and a run directory (its final model). Loads tfjs.
 */
export async function loadModel<M = LayersModelLike>(source: string): Promise<M> {
  const [{ loadModel: load }, { modelJsonPath }] = await Promise.all([
    import('./model/io.js'),
    import('./train/trained.js'),
  ]);
  return (await load(modelJsonPath(source))) as M; // URLs and builtin names pass through as they are
}

/**
 * The top classes (default 3) of each image file, as `freezeflow predict` prints them; a file that is
 * missing or does not decode is in `errors`, the rest are still predicted. `model` is anything loadModel
 * takes; its labels and input pipeline come from the files beside it.
 */
export async function predict(
  model: string,
  images: readonly string[],
  options: UseOptions & { top?: number } = {},
): Promise<PredictResult> {
  const { predictImages } = await import('./train/infer.js');
  return predictImages(model, images, options);
}

/**
 * Accuracy, per-class precision/recall/F1 and the confusion matrix on a folder of class subfolders, as
 * `freezeflow evaluate` reports them (a run's own validation images when the folder is its data).
 * Throws UserError (its exit code in `.exitCode`) when nothing can be scored or a class folder is unknown.
 */
export async function evaluate(model: string, data: string, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  const { evaluateFolder } = await import('./train/infer.js');
  return evaluateFolder(model, data, options);
}

/**
 * Run a schedule file (as `freezeflow train` does, into a run directory) and call `onEvent` for every
 * event; `signal` stops it after the current batch with a checkpoint (status 'interrupted').
 */
export async function train(
  request: TrainRequest,
  onEvent: (e: RunEvent) => void = () => undefined,
  signal: AbortSignal = new AbortController().signal,
): Promise<TrainResult> {
  const { trainSession } = await import('./train/session.js');
  return trainSession(request, { progress: { onEvent }, signal });
}
