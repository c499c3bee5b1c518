// A model freezeflow trained, with what using it needs: class labels and the input pipeline it was
// trained with (size, resize mode, preprocessing), as `train` records them beside model.json.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '../tf.js';
import { foldBatchNorm } from '../model/fold.js';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import { loadModel, readBesideModel, resolveModelSource } from '../model/io.js';
import { importedModelJson, isOnnxPath, PROVENANCE } from '../model/onnx/import.js';
import { normalizePreprocess, type ModelPreprocess, type Preprocess } from '../core/preprocess.js';
import { DecodeCache, ImageSource, type ImageFile, type ResizeMode } from '../data/images.js';

export interface TrainedModel {
  model: tf.LayersModel;
  labels: string[];
  input: { shape: [number, number, number]; resize: ResizeMode; preprocess: Preprocess };
  /** True when freezeflow.json was missing and the input pipeline was guessed from the model. */
  guessed: boolean;
  /** A Teachable Machine export: labels, size and [-1, 1] pixels from its metadata.json. */
  teachableMachine?: boolean;
}

/**
 * Accepts a run directory, a model directory, a model.json path, an http(s) URL or builtin:NAME. In a run
 * directory the final model (model/) is used, or with `checkpoint` one of checkpoints/ (best, last, …).
 */
export function modelJsonPath(location: string, checkpoint?: string): string {
  if (/^https?:\/\//.test(location) || location.startsWith('builtin:')) return resolveModelSource(location);
  const p = resolve(location);
  if (isOnnxPath(p)) return p;
  if (checkpoint !== undefined) {
    const at = join(p, 'checkpoints', checkpoint, 'model.json');
    if (!existsSync(at))
      throw new UserError(
        `${location} has no checkpoint '${checkpoint}' (checkpoints/${checkpoint}/model.json)`,
        EXIT_USAGE,
      );
    return at;
  }
  if (p.endsWith('.json')) return p;
  if (existsSync(join(p, 'model', 'model.json'))) return join(p, 'model', 'model.json');
  return join(p, 'model.json');
}

/** What a Teachable Machine image export says beside its model.json. */
interface TeachableMachineMeta {
  packageName?: string;
  tmVersion?: string;
  labels?: string[];
  imageSize?: number;
}

/**
 * The input pipeline of a model without freezeflow.json: a Teachable Machine image export's
 * metadata.json gives labels and size, and TM feeds pixels in [-1, 1] from a centre crop; anything else
 * is a guess ([0, 1], cover), said as such.
 */
async function foreignPipeline(json: string, shape: (number | null)[]) {
  const tm = await readBesideModel<TeachableMachineMeta>(json, 'metadata.json');
  if (isTeachableMachine(tm)) {
    const size = tm.imageSize ?? shape[0] ?? 224;
    return {
      labels: tm.labels,
      input: {
        shape: [size, size, 3] as [number, number, number],
        resize: 'cover' as const,
        preprocess: normalizePreprocess('symmetric'),
      },
      source: 'teachable-machine' as const,
    };
  }
  if (shape.some((d) => d === null))
    throw new UserError(`${json} has no freezeflow.json and its input size ${shape.join('×')} is not fixed`);
  const input = {
    shape: shape as [number, number, number],
    resize: 'cover' as const,
    preprocess: { name: 'unit' as const, mean: [0], std: [1] },
  };
  return { labels: undefined, input, source: 'guessed' as const };
}

/** `fold: false` keeps BatchNorm as trained (export writes the model itself; predict folds for speed). */
/** TM exports say so in metadata.json (its tmVersion or package name). */
const isTeachableMachine = (tm: TeachableMachineMeta | undefined): tm is TeachableMachineMeta =>
  tm?.tmVersion !== undefined || tm?.packageName === '@teachablemachine/image';

/**
 * The pixels a model's own files say it takes: freezeflow.json beside it (a run's model, an import) or a
 * Teachable Machine export's metadata.json ([-1, 1]); undefined when they say nothing. `source` is a model
 * source as a schedule gives it (path, URL, builtin:, .onnx), relative to `baseDir`.
 */
export async function modelPreprocess(source: string, baseDir: string): Promise<ModelPreprocess | undefined> {
  let json = resolveModelSource(source, baseDir);
  if (isOnnxPath(json)) json = await importedModelJson(json);
  const meta = await readBesideModel<{ input?: { preprocess?: Preprocess; preprocessGiven?: boolean } }>(
    json,
    'freezeflow.json',
  );
  if (meta?.input?.preprocess) {
    // an import's record is a guess (imagenet) unless --preprocess was given
    const imported = (await readBesideModel<object>(json, PROVENANCE)) !== undefined;
    const guessed = imported && meta.input.preprocessGiven !== true;
    const from = imported
      ? `the import's freezeflow.json${guessed ? ' (imagenet unless freezeflow import --preprocess says otherwise)' : ''}`
      : "the model's freezeflow.json";
    return { preprocess: meta.input.preprocess, from, guessed };
  }
  if (isTeachableMachine(await readBesideModel<TeachableMachineMeta>(json, 'metadata.json')))
    return { preprocess: normalizePreprocess('symmetric'), from: "the Teachable Machine export's metadata.json" };
  return undefined;
}

export async function loadTrained(location: string, checkpoint?: string, fold = true): Promise<TrainedModel> {
  const found = modelJsonPath(location, checkpoint);
  // an .onnx file: its import (cached), whose freezeflow.json holds the preprocessing given at import
  const json = isOnnxPath(found) ? await importedModelJson(found) : found;
  const model = await loadModel(json);
  const units = model.outputs[0]!.shape.at(-1) ?? 0;
  const meta = await readBesideModel<{
    input?: { shape: [number, number, number]; resize?: ResizeMode; preprocess: Preprocess };
  }>(json, 'freezeflow.json');
  const foreign = meta?.input ? undefined : await foreignPipeline(json, model.inputs[0]!.shape.slice(1));
  const labels =
    (await readBesideModel<string[]>(json, 'labels.json')) ??
    foreign?.labels ??
    Array.from({ length: units }, (_, i) => String(i));
  if (labels.length !== units)
    throw new UserError(`the labels beside ${json} name ${labels.length} classes but the model has ${units} outputs`);
  const input = meta?.input ?? foreign!.input;
  return {
    // predict/evaluate only run forward: BatchNorm folded into the convs is the same map, a third cheaper
    model: fold ? foldBatchNorm(model).model : model,
    labels,
    input: { shape: input.shape, resize: input.resize ?? 'cover', preprocess: input.preprocess },
    guessed: foreign?.source === 'guessed',
    teachableMachine: foreign?.source === 'teachable-machine',
  };
}

/** Class probabilities for image files, in batches; one row per file. `cache` may hold them decoded already. */
export async function predictFiles(
  t: TrainedModel,
  files: readonly string[],
  cache = new DecodeCache(0),
  batchSize = 32,
): Promise<number[][]> {
  const [height, width, channels] = t.input.shape;
  if (channels !== 1 && channels !== 3)
    throw new UserError(`the model expects ${channels} channels; images give 1 or 3`);
  const list: ImageFile[] = files.map((path) => ({ path, label: 0 }));
  const src = new ImageSource(
    list,
    t.labels,
    { height, width, channels, resize: t.input.resize },
    t.input.preprocess,
    cache,
  );
  const out: number[][] = [];
  for (let s = 0; s < files.length; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, files.length - s) }, (_, k) => s + k);
    const x = tf.tensor4d(await src.batch(idx), [idx.length, height, width, channels]);
    const p = tf.tidy(() => t.model.predict(x) as tf.Tensor);
    out.push(...((await p.array()) as number[][]));
    tf.dispose([x, p]);
  }
  return out;
}
