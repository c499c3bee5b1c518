// freezeflow as a library: load and validate a schedule, plan it, and run it with an event callback.
// `import { loadSchedule, plan, train } from 'freezeflow'`. Training loads tfjs; the rest does not.
import type { RunEvent } from './core/events.js';
import { readScheduleFile, parseSchedule, type LoadedSchedule } from './schedule/load.js';
import { buildPlan, type Plan } from './schedule/plan.js';
import type { TrainRequest, TrainResult } from './train/session.js';

export type { RunEvent } from './core/events.js';
export type { RunSummary, EpochRow } from './core/summary.js';
export { readSummary } from './core/summary.js';
export { ScheduleError, formatIssue, type ScheduleIssue } from './schedule/issues.js';
export type { Schedule } from './schedule/schema.js';
export type { LoadedSchedule, Plan, TrainRequest, TrainResult };

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
export async function loadModel(source: string): Promise<import('@tensorflow/tfjs-layers').LayersModel> {
  const [{ loadModel: load }, { modelJsonPath }] = await Promise.all([
    import('./model/io.js'),
    import('./model/trained.js'),
  ]);
  return load(modelJsonPath(source)); // URLs and builtin names pass through as they are
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
