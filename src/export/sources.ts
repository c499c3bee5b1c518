// What an export is measured on: a run's own validation images (or digits), a labelled folder given with
// --data, or, for a bare model with neither, seeded random images (agreement and output difference only).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import { readDataSplit, readRunRecord, RUN_FILES } from '../core/run-files.js';
import { sourceSize } from '../data/dataset.js';
import { heldOutFiles } from '../data/held-out.js';
import { DecodeCache, ImageSource, scanFolder, type ImageFile } from '../data/images.js';
import { describeData, openData } from '../data/open.js';
import { rng } from '../core/random.js';
import { readScheduleFile } from '../schedule/load.js';
import { buildPlan } from '../schedule/plan.js';
import { affineOf } from '../core/preprocess.js';
import type { TrainedModel } from '../train/trained.js';
import type { MeasureSource } from './measure.js';

export const isRunDir = (dir: string): boolean => existsSync(join(dir, RUN_FILES.config));

const decodeOf = (t: TrainedModel) => {
  const [height, width, channels] = t.input.shape;
  return { height, width, channels: channels as 1 | 3, resize: t.input.resize };
};

/** Image files whose class folders name classes of the model, relabelled in the model's output order. */
function labelled(files: readonly ImageFile[], classes: string[], t: TrainedModel, where: string): ImageSource {
  const unknown = classes.filter((c) => !t.labels.includes(c));
  if (unknown.length > 0)
    throw new UserError(
      `class folder(s) ${unknown.join(', ')} in ${where} are not classes of the model (${t.labels.join(', ')})`,
      EXIT_USAGE,
    );
  const relabelled = files.map((f) => ({ ...f, label: t.labels.indexOf(classes[f.label]!) }));
  return new ImageSource(relabelled, t.labels, decodeOf(t), t.input.preprocess, new DecodeCache(256 * 2 ** 20));
}

const fromBatchSource = (
  on: string,
  s: { labels: Int32Array; batch(i: readonly number[]): Promise<Float32Array> },
): MeasureSource => ({
  on,
  count: s.labels.length,
  labels: s.labels,
  batch: (idx) => s.batch(idx),
});

/** The run's validation set, rebuilt from its resolved schedule (config.yaml) and data-split.json. */
export async function runSource(runDir: string, t: TrainedModel): Promise<MeasureSource> {
  const split = readDataSplit(runDir);
  if (split) {
    if (!existsSync(split.root))
      throw new UserError(
        `the run's images were in ${split.root}, which is gone; give --data FOLDER to measure on labelled images`,
        EXIT_USAGE,
      );
    const layout = scanFolder(split.root);
    const { files } = heldOutFiles(runDir, split.root, layout);
    return fromBatchSource(
      `the run's ${files.length} validation images`,
      labelled(files, layout.classes, t, split.root),
    );
  }
  const loaded = readScheduleFile(join(runDir, RUN_FILES.config));
  const plan = buildPlan(loaded.schedule, loaded.name);
  const base = readRunRecord(runDir)?.scheduleFile ?? loaded.file;
  const data = await openData(plan, describeData(plan, base), [...t.input.shape]);
  return fromBatchSource(`the run's ${sourceSize(data.val)} validation images (${plan.data.source})`, data.val);
}

export function folderSource(folder: string, t: TrainedModel): MeasureSource {
  const layout = scanFolder(folder);
  const files = layout.val ?? layout.train;
  if (files.length === 0) throw new UserError(`${folder} holds no images to measure on`, EXIT_USAGE);
  return fromBatchSource(
    `${files.length} images of ${folder}${layout.val ? '/val' : ''}`,
    labelled(files, layout.classes, t, folder),
  );
}

/** Seeded random pixels through the model's preprocessing: no accuracy, but agreement and difference. */
export function randomSource(t: TrainedModel, count = 64, seed = 1): MeasureSource {
  const [h, w, c] = t.input.shape;
  const { scale, offset } = affineOf(t.input.preprocess, c);
  const per = h * w * c;
  return {
    on: `${count} random images (no labelled images: give --data FOLDER for accuracy)`,
    count,
    batch: async (idx) => {
      const x = new Float32Array(idx.length * per);
      idx.forEach((item, k) => {
        const r = rng(seed * 100_003 + item);
        for (let j = 0; j < per; j++) x[k * per + j] = Math.floor(r() * 256) * scale[j % c]! + offset[j % c]!;
      });
      return x;
    },
  };
}
