// `freezeflow predict` and `freezeflow evaluate`: print what train/infer.ts finds.
import { formatClassificationReport } from '../report/classification.js';
import { evaluateFolder, predictImages, type FileError } from '../train/infer.js';
import { EXIT_FAILURE, EXIT_OK } from '../core/errors.js';
import { threadsSetting } from './threads.js';

export interface PredictOptions {
  model: string;
  top?: number;
  json?: boolean;
  raw?: boolean;
  backend?: string;
  checkpoint?: string;
}

const note = (line: string) => process.stderr.write(`freezeflow: note: ${line}\n`);

function printRaw(rows: { file: string; output: number[] }[], json?: boolean): void {
  if (json)
    process.stdout.write(`${JSON.stringify({ outputs: rows.map(({ file, output }) => ({ file, output })) })}\n`);
  else for (const r of rows) process.stdout.write(`${r.file}\t${r.output.join(' ')}\n`);
}

function failures(errors: FileError[]): number {
  for (const f of errors) process.stderr.write(`freezeflow: ${f.file}: ${f.error}\n`);
  return errors.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

export async function runPredict(images: string[], opts: PredictOptions): Promise<number> {
  const r = await predictImages(opts.model, images, { ...opts, threads: threadsSetting() });
  r.notes.forEach(note);
  if (opts.raw) {
    printRaw(r.predictions, opts.json);
    return failures(r.errors);
  }
  if (r.logits) note('the model outputs logits; the probabilities shown are their softmax');
  if (opts.json) {
    const predictions = r.predictions.map(({ file, top }) => ({ file, top }));
    process.stdout.write(`${JSON.stringify({ predictions, errors: r.errors })}\n`);
  } else
    for (const p of r.predictions)
      process.stdout.write(
        `${p.file}\t${p.top.map((c) => `${c.label} ${(c.probability * 100).toFixed(1)}%`).join('\t')}\n`,
      );
  return failures(r.errors);
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
  const { notes, ...report } = await evaluateFolder(opts.model, opts.data, { ...opts, threads: threadsSetting() });
  notes.forEach(note);
  for (const s of report.skipped) process.stderr.write(`freezeflow: skipped ${s.path}: ${s.reason}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const skipped = report.skipped.length;
    const tail = skipped ? `; ${skipped} unreadable file(s) skipped` : '';
    process.stdout.write(`${formatClassificationReport(report)}\n(scored ${report.scored}${tail})\n`);
  }
  return EXIT_OK;
}
