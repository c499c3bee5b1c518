// `freezeflow merge BASE ADAPTERS --out DIR`: a run's trained model rebuilt from the pretrained model and
// the run's adapters/ (small): plain layers, loadable by any tfjs app.
import { existsSync, readdirSync } from 'node:fs';
import { initInspectionBackend } from '../backend/index.js';
import { EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { count } from '../core/format.js';
import { mergeAdapters } from '../model/merge.js';
import { saveModel } from '../model/save.js';
import { style } from './style.js';

export interface MergeCliOptions {
  out: string;
  json?: boolean;
}

export async function runMerge(
  base: string,
  adapters: string,
  opts: MergeCliOptions,
  out: (s: string) => void,
): Promise<number> {
  if (existsSync(opts.out) && readdirSync(opts.out).length > 0)
    throw new UserError(`--out ${opts.out} is not empty; merge writes a new model folder — choose another`, EXIT_USAGE);
  await initInspectionBackend();
  const { model, saved } = await mergeAdapters(base, adapters);
  const h = saved.header;
  await saveModel(model, opts.out, {
    ...(h.labels ? { labels: h.labels } : {}),
    ...(h.meta ? { files: { 'freezeflow.json': h.meta } } : {}),
  });
  const summary = { out: opts.out, adapters: saved.adapters.length, weights: h.weights?.length ?? 0 };
  if (opts.json) out(JSON.stringify(summary));
  else
    out(
      `${style.green('merged')} ${count(summary.adapters, 'LoRA adapter')} and ${count(summary.weights, 'trained weight')} into ${base} → ${opts.out}`,
    );
  return EXIT_OK;
}
