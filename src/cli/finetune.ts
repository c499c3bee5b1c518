// `freezeflow finetune --model M --data DIR`: fastai's one-liner. init's schedule for that model and folder
// (strategy by data size: the head on cached features, then the last blocks, then everything), every
// stage's lr from a range test, the epochs scaled to --epochs; trained at once. The run folder keeps the
// schedule it used (schedule.yaml), so the run can be repeated or edited with `train -s`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Document } from 'yaml';
import type { BackendChoice } from '../backend/names.js';
import { forYourModel, recommend } from './init.js';
import { runTrain } from './train.js';

export interface FinetuneOptions {
  model: string;
  data: string;
  epochs?: number;
  samples?: number;
  strategy?: string;
  out?: string;
  backend?: BackendChoice;
  json?: boolean;
  quiet?: boolean;
}

export async function runFinetune(opts: FinetuneOptions, info: (s: string) => void): Promise<number> {
  const { scheduleForModel } = await import('../train/init-model.js');
  const dir = mkdtempSync(join(tmpdir(), 'freezeflow-finetune-'));
  const file = join(dir, 'finetune.yaml');
  try {
    const { text, notes } = await scheduleForModel({
      model: opts.model,
      data: opts.data,
      target: file,
      absolute: true,
      template: forYourModel,
      recommend,
      ...(opts.samples !== undefined ? { samples: opts.samples } : {}),
      ...(opts.strategy ? { strategy: opts.strategy } : {}),
      adjust: (doc) => adjust(doc, opts.epochs),
    });
    if (!opts.json) for (const n of notes) info(n);
    writeFileSync(file, text);
    return await runTrain({
      schedule: file,
      out: opts.out,
      backend: opts.backend,
      json: opts.json,
      quiet: opts.quiet,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Stage = { get(k: string): unknown; set(k: string, v: unknown): void; delete(k: string): boolean };
const stagesOf = (doc: Document) => (doc.get('stages') as { items: Stage[] }).items;

/** --epochs and every lr from a range test; stages: auto has those already: --epochs is its budget. */
function adjust(doc: Document, epochs: number | undefined): void {
  if (doc.get('stages') !== 'auto') findEveryLr(scaleEpochs(doc, epochs));
  else if (epochs !== undefined) doc.setIn(['auto', 'epochs'], epochs);
}

/** Every stage's lr from the range test at its start (the stage's own lr becomes the sweep's fallback). */
function findEveryLr(doc: Document): void {
  for (const stage of stagesOf(doc)) stage.set('lr', 'find');
}

/** The template's epochs as counts, scaled so they add up to `total` (each stage keeps at least one). */
function scaleEpochs(doc: Document, total: number | undefined): Document {
  const stages = stagesOf(doc);
  const spans = stages.map((s) => {
    const e = (s.get('epochs') as { toJSON(): unknown } | number | undefined) ?? 1;
    const v = typeof e === 'number' ? e : (e as { toJSON(): unknown }).toJSON();
    return Array.isArray(v) ? Number(v[1]) - Number(v[0]) + 1 : Number(v);
  });
  const sum = spans.reduce((a, b) => a + b, 0);
  const want = total ?? sum;
  let left = want;
  spans.forEach((n, i) => {
    const rest = spans.length - 1 - i;
    const e = i === spans.length - 1 ? left : Math.max(1, Math.min(left - rest, Math.round((n * want) / sum)));
    left -= e;
    stages[i]!.set('epochs', Math.max(1, e));
  });
  return doc;
}
