// `freezeflow init --model M --data DIR`: a schedule for that model and those pictures. The shipped
// template for the strategy (chosen by the number of training images, as `init --samples` does) with the
// model, the folder, the pixels the model expects, and the unfreeze stages in the model's own blocks;
// written only after it resolves against the real layers.
import { dirname, relative, resolve } from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import { count } from '../core/format.js';
import { describeData } from '../data/open.js';
import { modelPreprocess } from './trained.js';
import { backboneBlocks, type Block } from '../schedule/blocks.js';
import { parseSchedule, resolveLoaded } from '../schedule/load.js';
import { buildPlan } from '../schedule/plan.js';
import { describeFineTuneLayers } from './describe.js';

/** Strategies whose template names no layers (or only unfreeze stages freezeflow can rewrite by block; auto none). */
export const MODEL_STRATEGIES = ['progressive', 'full-freeze', 'full-unfreeze', 'auto'] as const;
export type ModelStrategy = (typeof MODEL_STRATEGIES)[number];

export interface ModelInit {
  model: string;
  data: string;
  /** Where the schedule goes: its folder is what the paths in it are relative to. */
  target: string;
  template: (strategy: ModelStrategy) => string;
  recommend: (samples: number) => { strategy: string; why: string };
  strategy?: string;
  samples?: number;
  /** Absolute paths (a schedule written elsewhere than where it is used: finetune's). */
  absolute?: boolean;
  /** Shape the document before it is checked (finetune: lr: find, the epoch budget). */
  adjust?: (doc: Document) => void;
}

/** The schedule text, and what to tell the user about it. */
export async function scheduleForModel(o: ModelInit): Promise<{ text: string; notes: string[] }> {
  const base = dirname(resolve(o.target === '-' ? 'x.yaml' : o.target));
  const rel = (p: string) =>
    p.startsWith('builtin:') || /^https?:/.test(p) ? p : o.absolute ? resolve(p) : relative(base, resolve(p)) || '.';
  const images = countImages(o.data);
  const samples = o.samples ?? images.train;
  const rec = o.recommend(samples);
  const strategy = (o.strategy ?? rec.strategy) as ModelStrategy;
  if (!(MODEL_STRATEGIES as readonly string[]).includes(strategy))
    throw new UserError(
      `--model writes ${MODEL_STRATEGIES.join(', ')} schedules; for ${strategy}, start from 'freezeflow init --strategy ${strategy}' and name layers from 'freezeflow inspect ${o.model}'`,
      EXIT_USAGE,
    );
  const doc = parseDocument(o.template(strategy));
  doc.setIn(['name'], `${strategy}-${slug(o.model)}`);
  // new nodes: the template's remarks on its builtin model and digits do not follow them
  doc.setIn(['model', 'source'], doc.createNode(rel(o.model)));
  doc.setIn(['data', 'source'], doc.createNode(rel(o.data)));
  // the template's cap is for its digits: on the user's folder it would silently leave images out
  if (o.samples !== undefined) doc.setIn(['data', 'samples'], o.samples);
  else doc.deleteIn(['data', 'samples']);
  const notes = [
    o.strategy ? `strategy: ${strategy} (asked for)` : `recommended: ${strategy} — ${rec.why}`,
    `data: ${count(images.train, 'training image')} in ${count(images.classes, 'class', 'classes')}${images.val ? `, ${images.val} in its val/ folder` : ''}`,
  ];
  const pixels = await modelPreprocess(o.model, process.cwd());
  if (pixels && !pixels.guessed && pixels.preprocess.name !== 'custom') {
    doc.setIn(['data', 'preprocess'], pixels.preprocess.name);
    notes.push(`pixels: ${pixels.preprocess.name}, as ${pixels.from} says`);
  }
  const blocks = await modelBlocks(doc, o.target);
  notes.push(
    `model: ${count(blocks.length, 'block')}, the last ones ${blocks
      .slice(-3)
      .map((b) => b.name)
      .join(', ')}`,
  );
  rewriteUnfreezes(doc, blocks);
  o.adjust?.(doc);
  // after the template's header (its first line is the editor's schema hint), before the first key
  const header = [`Written by freezeflow init for ${o.model} and ${o.data}.`, ...notes].map((l) => `# ${l}\n`);
  const text = doc.toString().replace(/^name:/m, `${header.join('')}name:`);
  await modelBlocks(parseDocument(text), o.target, true); // every pattern and block count resolves
  return { text, notes };
}

function countImages(data: string): { train: number; val: number; classes: number } {
  const plan = { data: { source: resolve(data) } } as Parameters<typeof describeData>[0];
  const d = describeData(plan, resolve('x.yaml'));
  const layout = d.folder?.layout;
  if (!layout) throw new UserError(`--data ${data}: give an image folder (one sub-folder per class)`, EXIT_USAGE);
  return { train: layout.train.length, val: layout.val?.length ?? 0, classes: layout.classes.length };
}

/** The model's blocks, loaded as the schedule in `doc` builds it (cut and head included). */
async function modelBlocks(doc: Document, target: string, check = false): Promise<Block[]> {
  const file = target === '-' ? resolve('stdin.yaml') : resolve(target);
  const loaded = parseSchedule(doc.toString(), file);
  const plan = buildPlan(loaded.schedule, loaded.name);
  const layers = await describeFineTuneLayers(plan, file);
  if (check) resolveLoaded(loaded, plan, layers);
  return backboneBlocks(layers);
}

/** Stages that unfreeze a part of the body ('layer3*' in the templates) unfreeze the last 2 blocks instead. */
function rewriteUnfreezes(doc: Document, blocks: readonly Block[]): void {
  const stages = doc.get('stages') as { items?: { get(k: string): unknown; set(k: string, v: unknown): void }[] };
  if (!stages.items) return; // stages: auto finds the blocks itself
  const last = Math.min(2, blocks.length);
  for (const stage of stages.items) {
    const unfreeze = stage.get('unfreeze') as { toJSON(): unknown } | undefined;
    const patterns = unfreeze?.toJSON();
    if (!Array.isArray(patterns) || patterns.includes('*')) continue;
    const node = doc.createNode({ lastBlocks: last }, { flow: true });
    node.comment = ` ${blocks
      .slice(-last)
      .map((b) => b.name)
      .join(', ')}`;
    stage.set('unfreeze', node);
  }
}

const slug = (s: string) =>
  s
    .replace(/\/(model\.json|[^/]*\.onnx)$/i, '')
    .split('/')
    .filter(Boolean)
    .at(-1)
    ?.replace(/[^A-Za-z0-9_-]+/g, '-') ?? 'model';
