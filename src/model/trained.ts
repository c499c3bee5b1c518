// A model freezeflow trained, with what using it needs: class labels and the input pipeline it was
// trained with (size, resize mode, preprocessing), as `train` records them beside model.json.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { foldBatchNorm } from './fold.js';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import { loadModel, readBesideModel, resolveModelSource } from './io.js';
import type { Preprocess } from '../schedule/preprocess.js';
import { DecodeCache, ImageSource, type ImageFile, type ResizeMode } from '../data/images.js';

export interface TrainedModel {
  model: tf.LayersModel;
  labels: string[];
  input: { shape: [number, number, number]; resize: ResizeMode; preprocess: Preprocess };
  /** True when freezeflow.json was missing and the input pipeline was guessed from the model. */
  guessed: boolean;
}

/**
 * Accepts a run directory, a model directory, a model.json path, an http(s) URL or builtin:NAME. In a run
 * directory the final model (model/) is used, or with `checkpoint` one of checkpoints/ (best, last, …).
 */
export function modelJsonPath(location: string, checkpoint?: string): string {
  if (/^https?:\/\//.test(location) || location.startsWith('builtin:')) return resolveModelSource(location);
  const p = resolve(location);
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

export async function loadTrained(location: string, checkpoint?: string): Promise<TrainedModel> {
  const json = modelJsonPath(location, checkpoint);
  const model = await loadModel(json);
  const units = model.outputs[0]!.shape.at(-1) ?? 0;
  const labels =
    (await readBesideModel<string[]>(json, 'labels.json')) ?? Array.from({ length: units }, (_, i) => String(i));
  if (labels.length !== units)
    throw new UserError(
      `the labels.json beside ${json} names ${labels.length} classes but the model has ${units} outputs`,
    );
  const meta = await readBesideModel<{
    input?: { shape: [number, number, number]; resize?: ResizeMode; preprocess: Preprocess };
  }>(json, 'freezeflow.json');
  const shape = model.inputs[0]!.shape.slice(1) as (number | null)[];
  if (!meta?.input && shape.some((d) => d === null))
    throw new UserError(`${json} has no freezeflow.json and its input size ${shape.join('×')} is not fixed`);
  const input = meta?.input ?? {
    shape: shape as [number, number, number],
    preprocess: { name: 'unit' as const, mean: [0], std: [1] },
  };
  return {
    // predict/evaluate only run forward: BatchNorm folded into the convs is the same map, a third cheaper
    model: foldBatchNorm(model).model,
    labels,
    input: { shape: input.shape, resize: input.resize ?? 'cover', preprocess: input.preprocess },
    guessed: !meta?.input,
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
