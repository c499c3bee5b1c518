// Opening a schedule's data: builtin MNIST subsets or an image folder, split and ready as BatchSources.
// Two steps because the model is built in between: the class list first, the pixels once the model's
// input size is known.
import { dirname, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { DataPlan } from '../core/data-plan.js';

/** What opening data reads of a plan: its data section. */
type WithData = { data: DataPlan };
import { memorySource, splitIndices, subset, type BatchSource, type Dataset } from './dataset.js';
import { builtinDigits, loadBuiltinDataset } from './mnist.js';
import {
  checkFiles,
  DecodeCache,
  ImageSource,
  scanFolder,
  type FolderLayout,
  type ImageFile,
  type SkippedFile,
} from './images.js';
import { affineOf, type Preprocess } from '../core/preprocess.js';

export interface DataDescription {
  classes: string[];
  builtin?: string;
  folder?: { root: string; layout: FolderLayout };
}

export interface OpenedData {
  train: BatchSource;
  val: BatchSource;
  classes: string[];
  /** Files left out: not images by name, or failed to decode. */
  skipped: SkippedFile[];
  /** What the model receives, recorded next to the saved model so predict does the same. */
  input: { shape: [number, number, number]; resize?: string; preprocess: Preprocess };
  cache?: DecodeCache;
  /** Image folders: the folder and the validation images (absolute paths), for `evaluate` to reuse. */
  split?: { root: string; val: string[] };
}

/** Resolve the data source relative to the schedule file. */
export function dataRoot(plan: WithData, scheduleFile: string): string {
  return resolve(dirname(resolve(scheduleFile)), plan.data.source);
}

export function describeData(plan: WithData, scheduleFile: string): DataDescription {
  const src = plan.data.source;
  if (src.startsWith('builtin:')) {
    const name = src.slice('builtin:'.length);
    const ids = builtinDigits(name);
    return { classes: ids.map(String), builtin: name };
  }
  const root = dataRoot(plan, scheduleFile);
  const valFolder = plan.data.validationFolder
    ? resolve(dirname(resolve(scheduleFile)), plan.data.validationFolder)
    : undefined;
  const layout = scanFolder(root, valFolder);
  return { classes: layout.classes, folder: { root, layout } };
}

const fmtShape = (s: readonly (number | null)[]) => s.map((d) => d ?? '?').join('×');

/** Open the pixels for a model whose input is `inputShape` ([h, w, c], nulls allowed). */
export async function openData(
  plan: WithData,
  desc: DataDescription,
  inputShape: readonly (number | null)[],
  opts: { strict?: boolean } = {},
): Promise<OpenedData> {
  const { seed, samples, validationSplit } = plan.data;
  if (desc.builtin) {
    const ds: Dataset = loadBuiltinDataset(desc.builtin);
    const want = inputShape.slice(-3);
    if (want.some((d, i) => d !== null && d !== ds.shape[i]))
      throw new UserError(
        `builtin:${desc.builtin} images are ${fmtShape(ds.shape)} but the model expects ${fmtShape(want)}; use a model for 28×28×1 inputs or an image folder`,
      );
    // builtin pixels are stored as pixel/255; apply the schedule's preprocessing on top
    const { scale, offset } = affineOf(plan.data.preprocess, 1);
    // 'unit' is exactly how builtin pixels are stored: no pass over them
    if (plan.data.preprocess.name !== 'unit') ds.x.forEach((v, i) => (ds.x[i] = v * 255 * scale[0]! + offset[0]!));
    const { train, val } = splitIndices(ds.y, ds.classes.length, validationSplit, seed, samples);
    return {
      train: memorySource(subset(ds, train)),
      val: memorySource(subset(ds, val)),
      classes: ds.classes,
      skipped: [],
      input: { shape: [...ds.shape] as [number, number, number], preprocess: plan.data.preprocess },
    };
  }
  const { root, layout } = desc.folder!;
  const [h, w, c] = inputShape.slice(-3) as (number | null)[];
  const height = plan.data.imageSize?.[0] ?? h;
  const width = plan.data.imageSize?.[1] ?? w;
  if (!height || !width)
    throw new UserError(
      `the model's input size is ${fmtShape(inputShape)}: set data.imageSize: [height, width] in the schedule`,
    );
  if (c !== 1 && c !== 3)
    throw new UserError(`the model expects ${c ?? 'an unknown number of'} channels; image folders give 1 or 3`);
  const decode = { height, width, channels: c as 1 | 3, resize: plan.data.resize };
  const cache = new DecodeCache(plan.data.cacheMB * 1024 * 1024);
  const checkedTrain = await checkFiles(layout.train, decode, cache, opts.strict ?? false, root);
  const checkedVal = layout.val
    ? await checkFiles(layout.val, decode, cache, opts.strict ?? false, root)
    : { ok: [] as ImageFile[], skipped: [] as SkippedFile[] };
  const skipped = [...layout.ignored, ...checkedTrain.skipped, ...checkedVal.skipped];
  if (opts.strict && layout.ignored.length > 0)
    throw new UserError(
      `${layout.ignored[0]!.path} is not an image file${layout.ignored.length > 1 ? ` (and ${layout.ignored.length - 1} more)` : ''}; remove it or run without --strict`,
    );
  const counts = layout.classes.map((_, k) => checkedTrain.ok.filter((f) => f.label === k).length);
  const empty = counts.findIndex((n) => n === 0);
  if (empty >= 0)
    throw new UserError(
      `class '${layout.classes[empty]}' has no readable training images (${skipped.length} file(s) skipped)`,
    );
  const all = new ImageSource(checkedTrain.ok, layout.classes, decode, plan.data.preprocess, cache);
  let train: ImageSource;
  let val: ImageSource;
  if (layout.val) {
    const idx = splitIndices(all.labels, layout.classes.length, 0, seed, samples).train;
    train = all.pick(idx);
    val = new ImageSource(checkedVal.ok, layout.classes, decode, plan.data.preprocess, cache);
  } else {
    const s = splitIndices(all.labels, layout.classes.length, validationSplit, seed, samples);
    train = all.pick(s.train);
    val = all.pick(s.val);
  }
  return {
    train,
    val,
    classes: layout.classes,
    skipped,
    input: { shape: [height, width, c], resize: plan.data.resize, preprocess: plan.data.preprocess },
    cache,
    split: { root, val: val.files.map((f) => f.path) },
  };
}
