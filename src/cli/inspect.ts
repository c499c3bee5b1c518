// `freezeflow inspect <model>`: every layer with its path, class, shape, parameters and trainable flag.
import { count } from '../core/format.js';
import * as tf from '../tf.js';
import { initInspectionBackend } from '../backend/index.js';
import { style } from './style.js';
import { EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { loadModel } from '../model/io.js';
import { listLayers, type LayerEntry } from '../model/layers.js';
import { compilePattern, moduleAncestors } from '../schedule/patterns.js';
import { blockKey, pathBlocks } from '../core/blocks.js';
import { readScheduleFile, resolveLoaded } from '../schedule/load.js';
import { buildPlan, nearestNames, type ResolvedStage } from '../schedule/plan.js';
import { backboneBlocks } from '../schedule/blocks.js';
import { buildFineTuneModel, classCountHint } from '../train/finetune-model.js';
import { cutModel } from '../model/surgery.js';

const n = (x: number) => x.toLocaleString('en-US');

function pad(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

interface Row {
  depth: number;
  label: string;
  layer?: LayerEntry;
  /** A header row over these layers: a PyTorch module or a block (its totals shown). */
  group?: string[];
  kind?: 'module' | 'block';
}

/**
 * The blocks a flat list of layers falls into (block_1_expand … block_1_project → block_1), for layers that
 * no PyTorch module already groups: path → the block's members, for blocks of two or more layers.
 */
function layerBlocks(layers: readonly LayerEntry[]): Map<string, string[]> {
  // a nested model named like a block ('head') is already a row of its own
  const containers = new Set(layers.filter((l) => l.isContainer).map((l) => l.path));
  const flat = layers.filter((l) => !l.isContainer && moduleAncestors(l.path).length === 0).map((l) => l.path);
  const out = new Map<string, string[]>();
  for (const b of pathBlocks(flat))
    if (b.paths.length >= 2 && !containers.has(b.name)) for (const p of b.paths) out.set(p, b.paths);
  return out;
}

/**
 * Rows for the listing: a model imported from PyTorch has flat layer names with dotted module paths
 * ('layer1.0.conv1'); they are shown as PyTorch nests them, each module (a dotted prefix over two or more
 * layers that is not itself a layer) as a header row with its parameter totals. Other layers are grouped
 * by block the same way, so a 150-layer network reads as its 20 blocks at --depth.
 */
function moduleTree(layers: readonly LayerEntry[]): Row[] {
  const names = new Set(layers.map((l) => l.path));
  const count = new Map<string, number>();
  for (const l of layers) for (const a of moduleAncestors(l.path)) count.set(a, (count.get(a) ?? 0) + 1);
  const isModule = (a: string) => !names.has(a) && (count.get(a) ?? 0) >= 2;
  const inside = (m: string) => layers.filter((l) => moduleAncestors(l.path).includes(m)).map((l) => l.path);
  const blocks = layerBlocks(layers);
  const rows: Row[] = [];
  let open: string[] = [];
  for (const l of layers) {
    const mods = moduleAncestors(l.path).filter(isModule);
    const last = l.path.lastIndexOf('/') + 1;
    mods.forEach((m, i) => {
      if (open[i] === m) return;
      open = open.slice(0, i);
      open.push(m);
      const label = m.slice(i === 0 ? last : mods[i - 1]!.length + 1);
      rows.push({ depth: l.depth + i, label, group: inside(m), kind: 'module' });
    });
    open = open.slice(0, mods.length);
    const parent = mods.at(-1);
    const block = blocks.get(l.path);
    if (block?.[0] === l.path)
      rows.push({ depth: l.depth, label: blockKey(l.path).slice(last), group: block, kind: 'block' });
    const depth = l.depth + mods.length + (block ? 1 : 0);
    rows.push({ depth, label: l.path.slice(parent ? parent.length + 1 : last), layer: l });
  }
  return rows;
}

/**
 * --blocks: the backbone's blocks as schedules use them (unfreeze: { lastBlocks: N }, lrDecay without a
 * list), input to output, a line each; counted back from the last so `lastBlocks: N` can be read off.
 */
function blockLines(layers: readonly LayerEntry[], json: boolean, out: (s: string) => void, cut?: string): void {
  const blocks = backboneBlocks(layers);
  if (json) {
    out(JSON.stringify({ blocks: blocks.map((b) => ({ name: b.name, layers: b.layers, params: b.params })) }));
    return;
  }
  out(style.bold(`${pad('#', 4)} ${pad('lastBlocks', 11)} ${pad('block', 40)} ${pad('layers', 7)} params`));
  blocks.forEach((b, i) =>
    out(
      `${pad(String(i), 4)} ${pad(String(blocks.length - i), 11)} ${pad(b.name, 40)} ${pad(String(b.layers.length), 7)} ${n(b.params)}`,
    ),
  );
  out(style.dim(`${count(blocks.length, 'block')}; 'unfreeze: { lastBlocks: N }' trains the last N`));
  if (cut) out(style.dim(`(the body as a schedule cuts it by default: without its last layer '${cut}')`));
}

type InspectOptions = { json?: boolean; schedule?: string; grep?: string; depth?: number; blocks?: boolean };
type Layer = ReturnType<typeof listLayers>[number];

/** The model as given, or with --schedule the fine-tuning model and its resolved stages. */
async function inspected(
  source: string,
  schedule?: string,
): Promise<{ model: tf.LayersModel; stages?: ResolvedStage[] }> {
  if (!schedule) return { model: await loadModel(source) };
  const loaded = readScheduleFile(schedule);
  const plan = buildPlan(loaded.schedule, loaded.name);
  const model = await buildFineTuneModel(plan, loaded.file, classCountHint(plan, loaded.file), source);
  return { model, stages: resolveLoaded(loaded, plan, listLayers(model)) };
}

/** --grep: the layers a pattern matches; none is a usage error naming the closest. */
function grepped(layers: Layer[], grep: string | undefined): Layer[] {
  if (grep === undefined) return layers;
  let p;
  try {
    p = compilePattern(grep);
  } catch (err) {
    throw new UserError(`--grep: ${(err as Error).message}`, EXIT_USAGE);
  }
  const hits = layers.filter((l) => p.test(l.path));
  if (hits.length === 0)
    throw new UserError(
      `--grep '${grep}' matches no layer${nearestNames(
        grep,
        layers.map((l) => l.path),
      )}`,
      EXIT_USAGE,
    );
  return hits;
}

interface Totals {
  layers: number;
  trainableParams: number;
  nonTrainableParams: number;
}

function inspectJson(
  source: string,
  model: tf.LayersModel,
  layers: Layer[],
  stages: ResolvedStage[] | undefined,
  totals: Totals,
): string {
  return JSON.stringify({
    model: source,
    name: model.name,
    inputShape: model.inputs.map((i) => i.shape),
    outputShape: model.outputs.map((o) => o.shape),
    layers: layers.map((l) => ({
      index: l.index,
      path: l.path,
      className: l.className,
      outputShape: l.outputShape,
      trainableParams: l.trainableParams,
      nonTrainableParams: l.nonTrainableParams,
      trainable: l.trainable,
      batchNorm: l.isBatchNorm,
      weights: l.hasWeights,
      container: l.isContainer,
      ...(stages ? { stages: stages.map((s) => s.trainable.has(l.path)) } : {}),
    })),
    ...(stages
      ? {
          stages: stages.map((s) => ({
            name: s.stage.name,
            trainableParams: s.trainableParams,
            trainableLayers: s.trainable.size,
          })),
        }
      : {}),
    totals,
  });
}

/** The table: a row per layer (or module, to --depth), a column per stage with --schedule, the totals. */
function inspectTable(
  layers: Layer[],
  stages: ResolvedStage[] | undefined,
  totals: Totals,
  depth: number | undefined,
  out: (s: string) => void,
): void {
  const rows = moduleTree(layers);
  const pathW = Math.min(60, Math.max(4, ...rows.map((r) => r.depth * 2 + r.label.length)));
  const classW = Math.max(5, ...layers.map((l) => l.className.length));
  const shapeW = Math.max(5, ...layers.map((l) => l.outputShape.length));
  const stageCols = stages ? stages.map((s, i) => pad(`${i + 1}`, 2)).join(' ') : '';
  out(
    style.bold(
      `${pad('#', 4)} ${pad('layer', pathW)} ${pad('class', classW)} ${pad('shape', shapeW)} ${pad('trainable', 10)} ${pad('frozen', 8)} on ${stages ? ` stages ${stageCols}` : ''}`,
    ),
  );
  const moduleRow = (r: Row) => {
    const inside = layers.filter((l) => !l.isContainer && r.group!.includes(l.path));
    const on = inside.filter((l) => l.trainable).reduce((a, l) => a + l.trainableParams, 0);
    const all = inside.reduce((a, l) => a + l.trainableParams + l.nonTrainableParams, 0);
    out(
      style.dim(
        `${pad('', 4)} ${pad(`${'  '.repeat(r.depth)}${r.label}`, pathW)} ${pad(`(${r.kind})`, classW)} ${pad('', shapeW)} ${pad(n(on), 10)} ${pad(n(all - on), 8)}`,
      ),
    );
  };
  const row = (r: Row) => {
    if (r.group !== undefined) return moduleRow(r);
    const l = r.layer!;
    const name = `${'  '.repeat(r.depth)}${r.label}`;
    const flag = l.isContainer ? '  ' : l.trainable ? style.green('✓ ') : style.dim('· ');
    const marks = `${l.isBatchNorm ? ' BN' : ''}${!l.hasWeights && !l.isContainer ? style.dim(' (no weights)') : ''}`;
    const cols =
      stages && !l.isContainer
        ? '        ' + stages.map((s) => pad(s.trainable.has(l.path) ? '✓' : '·', 2)).join(' ')
        : '';
    const trainableP = l.isContainer ? '' : n(l.trainable ? l.trainableParams : 0);
    const frozenP = l.isContainer ? '' : n(l.nonTrainableParams + (l.trainable ? 0 : l.trainableParams));
    out(
      `${pad(String(l.index), 4)} ${pad(name, pathW)} ${pad(l.className, classW)} ${pad(l.outputShape, shapeW)} ${pad(trainableP, 10)} ${pad(frozenP, 8)} ${flag}${cols}${marks}`,
    );
  };
  // --depth N: the first N levels (nested models, modules, blocks); what lies deeper is in its row's totals
  rows.filter((r) => depth === undefined || r.depth < depth).forEach(row);
  out(
    `total: ${n(totals.layers)} layers, ${n(totals.trainableParams)} trainable and ${n(totals.nonTrainableParams)} non-trainable parameters`,
  );
  for (const [i, s] of (stages ?? []).entries())
    out(
      `stage ${i + 1} ${s.stage.name}: ${count(s.trainable.size, 'trainable layer')}, ${count(s.trainableParams, 'trainable parameter')}`,
    );
}

export async function runInspect(source: string, opts: InspectOptions, out: (s: string) => void): Promise<number> {
  await initInspectionBackend();
  const { model, stages } = await inspected(source, opts.schedule);
  if (opts.blocks) {
    // a schedule cuts the old head off (or --schedule gave the fine-tuning model, head apart): its body
    const last = model.layers.at(-1)!.name;
    blockLines(listLayers(stages ? model : cutModel(model)), opts.json === true, out, stages ? undefined : last);
    return EXIT_OK;
  }
  const layers = grepped(listLayers(model, { containers: true }), opts.grep);
  const leaves = layers.filter((l) => !l.isContainer);
  const totals = {
    layers: leaves.length,
    trainableParams: leaves.filter((l) => l.trainable).reduce((s, l) => s + l.trainableParams, 0),
    nonTrainableParams: leaves.reduce((s, l) => s + l.nonTrainableParams + (l.trainable ? 0 : l.trainableParams), 0),
  };
  if (opts.json) out(inspectJson(source, model, layers, stages, totals));
  else inspectTable(layers, stages, totals, opts.depth, out);
  return EXIT_OK;
}
