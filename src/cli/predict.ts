// `freezeflow predict` and `freezeflow evaluate`: use and judge a trained model on image files.
import { existsSync } from 'node:fs';
import { initBackend } from '../backend/index.js';
import { loadTrained, predictFiles, type TrainedModel } from '../model/trained.js';
import { scanFolder } from '../data/images.js';
import { decodeImage } from '../data/images.js';
import { classificationReport, formatClassificationReport } from '../report/classification.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError } from './errors.js';

const argmax = (row: readonly number[]) => row.reduce((b, v, i) => (v > row[b]! ? i : b), 0);

async function open(model: string): Promise<TrainedModel> {
  await initBackend('auto');
  const t = await loadTrained(model);
  if (t.guessed)
    process.stderr.write(
      'freezeflow: note: no freezeflow.json beside the model; assuming pixels in [0, 1] and cover-resize\n',
    );
  return t;
}

export async function runPredict(
  images: string[],
  opts: { model: string; top?: string; json?: boolean },
): Promise<number> {
  const top = opts.top === undefined ? 3 : Number(opts.top);
  if (!Number.isInteger(top) || top < 1)
    throw new UserError(`--top must be a whole number ≥ 1 (got '${opts.top}')`, EXIT_USAGE);
  const t = await open(opts.model);
  // unreadable files are reported one by one; the others are still predicted
  const readable: string[] = [];
  const failed: { file: string; error: string }[] = [];
  const [height, width, channels] = t.input.shape;
  for (const f of images) {
    if (!existsSync(f)) {
      failed.push({ file: f, error: 'no such file' });
      continue;
    }
    try {
      await decodeImage(f, { height, width, channels: channels as 1 | 3, resize: t.input.resize });
      readable.push(f);
    } catch (err) {
      failed.push({ file: f, error: `cannot decode: ${(err as Error).message.split('\n')[0]}` });
    }
  }
  const probs = await predictFiles(t, readable);
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

export async function runEvaluate(opts: { model: string; data: string; json?: boolean }): Promise<number> {
  const t = await open(opts.model);
  const layout = scanFolder(opts.data);
  // a train/val folder is judged on its validation part
  const files = layout.val ?? layout.train;
  const unknown = layout.classes.filter((c) => !t.labels.includes(c));
  if (unknown.length > 0)
    throw new UserError(
      `class folder(s) ${unknown.map((c) => `'${c}'`).join(', ')} in ${opts.data} are not classes of the model (${t.labels.join(', ')})`,
      EXIT_USAGE,
    );
  const probs = await predictFiles(
    t,
    files.map((f) => f.path),
  );
  const yTrue = files.map((f) => t.labels.indexOf(layout.classes[f.label]!));
  const yPred = probs.map(argmax);
  const report = classificationReport(yTrue, yPred, t.labels);
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${formatClassificationReport(report)}\n`);
  return EXIT_OK;
}
