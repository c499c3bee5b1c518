// Using a trained model on image files: predict (top-k per file) and evaluate (a classification report on
// a folder). Returns data and notes; printing is the caller's (the cli, or a library user).
import { existsSync } from 'node:fs';
import { heldOutFiles } from '../data/held-out.js';
import { backendChoice, initBackend } from '../backend/index.js';
import { loadTrained, predictFiles, type TrainedModel } from './trained.js';
import { checkFiles, DecodeCache, scanFolder } from '../data/images.js';
import { classificationReport, type ClassificationReport } from '../report/classification.js';
import { EXIT_USAGE, UserError } from '../core/errors.js';

export interface UseOptions {
  /** tfjs backend (default auto). */
  backend?: string;
  /** wasm threads (default: every core). */
  threads?: number;
  /** In a run directory: a checkpoint (best, last, …) instead of the final model. */
  checkpoint?: string;
}

/** A file that could not be used, and why. */
export interface FileError {
  file: string;
  error: string;
}

export interface Prediction {
  file: string;
  /** The model's raw output row. */
  output: number[];
  /** The most probable classes, best first (a softmax of `output` when the model gives logits). */
  top: { label: string; probability: number }[];
}

export interface PredictResult {
  predictions: Prediction[];
  errors: FileError[];
  /** True when the outputs were logits and `top` shows their softmax. */
  logits: boolean;
  /** What the model's files said or lacked (a Teachable Machine export, a guessed input pipeline). */
  notes: string[];
}

export interface EvaluateOptions extends UseOptions {
  /** Score the whole folder even when it is the run's own data (default: the run's validation images). */
  all?: boolean;
  /** An unreadable image is an error instead of being skipped. */
  strict?: boolean;
}

export interface EvaluateResult extends ClassificationReport {
  /** Which images were scored (the run's validation images, val/, or the whole folder). */
  scored: string;
  skipped: { path: string; reason: string }[];
  notes: string[];
}

async function open(model: string, o: UseOptions): Promise<{ t: TrainedModel; notes: string[] }> {
  await initBackend(backendChoice(o.backend ?? 'auto'), { threads: o.threads });
  const t = await loadTrained(model, o.checkpoint);
  const notes: string[] = [];
  if (t.teachableMachine)
    notes.push('a Teachable Machine export: labels and image size from metadata.json, pixels in [-1, 1]');
  if (t.guessed) notes.push('no freezeflow.json beside the model; assuming pixels in [0, 1] and cover-resize');
  return { t, notes };
}

const decodeOf = (t: TrainedModel) => {
  const [height, width, channels] = t.input.shape;
  return { height, width, channels: channels as 1 | 3, resize: t.input.resize };
};

/** A row that is not a probability distribution (an imported network's logits) gets a softmax. */
function asProbabilities(rows: number[][]): { rows: number[][]; logits: boolean } {
  const isDist = (r: number[]) => r.every((v) => v >= 0 && v <= 1) && Math.abs(r.reduce((a, b) => a + b, 0) - 1) < 1e-3;
  if (rows.every(isDist)) return { rows, logits: false };
  const softmax = (r: number[]) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  };
  return { rows: rows.map(softmax), logits: true };
}

/**
 * Classes for image files. A missing or undecodable file is listed in `errors` (in the order given); the
 * others are still predicted. Each file is decoded once.
 */
export async function predictImages(model: string, images: readonly string[], o: UseOptions & { top?: number } = {}) {
  const { t, notes } = await open(model, o);
  const present = images.filter((f) => existsSync(f));
  const errors: FileError[] = images
    .filter((f) => !present.includes(f))
    .map((file) => ({ file, error: 'no such file' }));
  const cache = new DecodeCache(1024 * 2 ** 20);
  const labelled = present.map((path) => ({ path, label: 0 }));
  const checked = await checkFiles(labelled, decodeOf(t), cache, false, process.cwd());
  const readable = checked.ok.map((f) => f.path);
  // skipped files come in input order: name them as the user did
  present
    .filter((f) => !readable.includes(f))
    .forEach((file, k) => errors.push({ file, error: `cannot decode: ${checked.skipped[k]!.reason}` }));
  const outputs = await predictFiles(t, readable, cache);
  const { rows, logits } = asProbabilities(outputs);
  const ranked = (row: number[]) =>
    row
      .map((probability, c) => ({ label: t.labels[c]!, probability }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, o.top ?? 3);
  const predictions = readable.map((file, i) => ({ file, output: outputs[i]!, top: ranked(rows[i]!) }));
  return { predictions, errors, logits, notes } satisfies PredictResult;
}

const argmax = (row: readonly number[]) => row.reduce((b, v, i) => (v > row[b]! ? i : b), 0);

/**
 * A classification report on a folder of class subfolders: the run's own validation images when `model`
 * is a run trained on this folder (unless `all`), else its val/ part, else all of it. Scoring nothing is an
 * error (exit 1), not an accuracy.
 */
export async function evaluateFolder(model: string, data: string, o: EvaluateOptions = {}): Promise<EvaluateResult> {
  const { t, notes } = await open(model, o);
  const layout = scanFolder(data);
  const unknown = layout.classes.filter((c) => !t.labels.includes(c));
  if (unknown.length > 0)
    throw new UserError(
      `class folder(s) ${unknown.map((c) => `'${c}'`).join(', ')} in ${data} are not classes of the model (${t.labels.join(', ')})`,
      EXIT_USAGE,
    );
  const { files, which } = heldOutFiles(model, data, layout, o.all);
  const cache = new DecodeCache(1024 * 2 ** 20);
  const checked = await checkFiles(files, decodeOf(t), cache, o.strict ?? false, data);
  if (checked.ok.length === 0) {
    const first = checked.skipped[0];
    const why = first ? `; ${first.path}: ${first.reason}` : '';
    throw new UserError(
      `no image to score: ${which} of ${data} gave none that could be read${why} (an accuracy of nothing is not 0 %)`,
    );
  }
  const paths = checked.ok.map((f) => f.path);
  const predicted = (await predictFiles(t, paths, cache)).map(argmax);
  const yTrue = checked.ok.map((f) => t.labels.indexOf(layout.classes[f.label]!));
  return { ...classificationReport(yTrue, predicted, t.labels), scored: which, skipped: checked.skipped, notes };
}
