// The model a schedule trains: the pretrained source, cut, with the schedule's head on top.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { Plan } from '../schedule/plan.js';
import { BUILTIN_DATASETS } from '../data/mnist.js';
import { loadModel } from './io.js';
import { attachHead, cutModel } from './surgery.js';

/** Number of classes the data will have, without loading it (for `plan --model` and inspect). */
export function classCountHint(plan: Plan, scheduleFile: string): number {
  const src = plan.data.source;
  if (src.startsWith('builtin:')) return BUILTIN_DATASETS[src.slice(8)]?.length ?? 2;
  const dir = resolve(dirname(scheduleFile), src);
  if (!existsSync(dir)) return 2;
  const root = existsSync(resolve(dir, 'train')) ? resolve(dir, 'train') : dir;
  return Math.max(2, readdirSync(root).filter((d) => statSync(resolve(root, d)).isDirectory()).length);
}

export async function buildFineTuneModel(
  plan: Plan,
  scheduleFile: string,
  classes: number,
  source = plan.model.source,
): Promise<tf.LayersModel> {
  const base = await loadModel(source, dirname(resolve(scheduleFile)));
  const cut = cutModel(base, plan.model.cutAt);
  return attachHead(cut, plan.model.head, classes);
}
