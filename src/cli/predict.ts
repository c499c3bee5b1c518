// `freezeflow predict` and `freezeflow evaluate`: use and judge a trained model on image files.
import { existsSync } from 'node:fs';
import { heldOutFiles } from '../data/held-out.js';
import { backendChoice, initBackend } from '../backend/index.js';
import { loadTrained, predictFiles, type TrainedModel } from '../model/trained.js';
import { checkFiles, DecodeCache, scanFolder } from '../data/images.js';
import { classificationReport, formatClassificationReport } from '../report/classification.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { threadsSetting } from './threads.js';

const argmax = (row: readonly number[]) => row.reduce((b, v, i) => (v > row[b]! ? i : b), 0);

async function open(model: string, backend = 'auto', checkpoint?: string): Promise<TrainedModel> {
  await initBackend(backendChoice(backend), { threads: threadsSetting() });
  const t = await loadTrained(model, checkpoint);
  if (t.teachableMachine)
    process.stderr.write(
      'freezeflow: note: a Teachable Machine export: labels and image size from metadata.json, pixels in [-1, 1]\n',
    );
  if (t.guessed)
    process.stderr.write(
      'freezeflow: note: no freezeflow.json beside the model; assuming pixels in [0, 1] and cover-resize\n',
    );
  return t;
}

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

export interface PredictOptions {
  model: string;
  top?: number;
  json?: boolean;
  raw?: boolean;
  backend?: string;
  checkpoint?: string;
}

function printRaw(files: string[], rows: number[][], json?: boolean): void {
  if (json)
    process.stdout.write(`${JSON.stringify({ outputs: files.map((file, i) => ({ file, output: rows[i] })) })}\n`);
  else for (const [i, file] of files.entries()) process.stdout.write(`${file}\t${rows[i]!.join(' ')}\n`);
}

export async function runPredict(images: string[], opts: PredictOptions): Promise<number> {
  const top = opts.top ?? 3;
  const t = await open(opts.model, opts.backend, opts.checkpoint);
  // unreadable files are reported one by one; the others are still predicted. Each file is decoded once:
  // the check fills the cache that prediction then reads.
  const present = images.filter((f) => existsSync(f));
  const failed: { file: string; error: string }[] = images
    .filter((f) => !present.includes(f))
    .map((file) => ({ file, error: 'no such file' }));
  const [height, width, channels] = t.input.shape;
  const cache = new DecodeCache(1024 * 2 ** 20);
  const checked = await checkFiles(
    present.map((path) => ({ path, label: 0 })),
    { height, width, channels: channels as 1 | 3, resize: t.input.resize },
    cache,
    false,
    process.cwd(),
  );
  const readable = checked.ok.map((f) => f.path);
  // skipped files come in input order: name them as the user did
  present
    .filter((f) => !readable.includes(f))
    .forEach((file, k) => failed.push({ file, error: `cannot decode: ${checked.skipped[k]!.reason}` }));
  const outputs = await predictFiles(t, readable, cache);
  if (opts.raw) {
    printRaw(readable, outputs, opts.json);
    for (const f of failed) process.stderr.write(`freezeflow: ${f.file}: ${f.error}\n`);
    return failed.length > 0 ? EXIT_FAILURE : EXIT_OK;
  }
  const { rows: probs, logits } = asProbabilities(outputs);
  if (logits)
    process.stderr.write('freezeflow: note: the model outputs logits; the probabilities shown are their softmax\n');
  const results = readable.map((file, i) => ({
    file,
    top: probs[i]!.map((p, c) => ({ label: t.labels[c]!, probability: p }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, top),
  }));
  if (opts.json) process.stdout.write(`${JSON.stringify({ predictions: results, errors: failed })}\n`);
  else {
    for (const r of results)
      process.stdout.write(
        `${r.file}\t${r.top.map((p) => `${p.label} ${(p.probability * 100).toFixed(1)}%`).join('\t')}\n`,
      );
  }
  for (const f of failed) process.stderr.write(`freezeflow: ${f.file}: ${f.error}\n`);
  return failed.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

export interface EvaluateOptions {
  model: string;
  data: string;
  json?: boolean;
  backend?: string;
  checkpoint?: string;
  all?: boolean;
  strict?: boolean;
}

export async function runEvaluate(opts: EvaluateOptions): Promise<number> {
  const t = await open(opts.model, opts.backend, opts.checkpoint);
  const layout = scanFolder(opts.data);
  const unknown = layout.classes.filter((c) => !t.labels.includes(c));
  if (unknown.length > 0)
    throw new UserError(
      `class folder(s) ${unknown.map((c) => `'${c}'`).join(', ')} in ${opts.data} are not classes of the model (${t.labels.join(', ')})`,
      EXIT_USAGE,
    );
  const { files, which } = heldOutFiles(opts.model, opts.data, layout, opts.all);
  // unreadable files are skipped and named, as training does (or refused with --strict)
  const [height, width, channels] = t.input.shape;
  const cache = new DecodeCache(1024 * 2 ** 20);
  const decode = { height, width, channels: channels as 1 | 3, resize: t.input.resize };
  const checked = await checkFiles(files, decode, cache, opts.strict ?? false, opts.data);
  for (const s of checked.skipped) process.stderr.write(`freezeflow: skipped ${s.path}: ${s.reason}\n`);
  if (checked.ok.length === 0)
    throw new UserError(
      `no image to score: ${which} of ${opts.data} gave none that could be read (an accuracy of nothing is not 0 %)`,
    );
  const probs = await predictFiles(
    t,
    checked.ok.map((f) => f.path),
    cache,
  );
  const yTrue = checked.ok.map((f) => t.labels.indexOf(layout.classes[f.label]!));
  const report = {
    ...classificationReport(yTrue, probs.map(argmax), t.labels),
    scored: which,
    skipped: checked.skipped,
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else
    process.stdout.write(
      `${formatClassificationReport(report)}\n(scored ${which}${checked.skipped.length ? `; ${checked.skipped.length} unreadable file(s) skipped` : ''})\n`,
    );
  return EXIT_OK;
}
