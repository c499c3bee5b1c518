// The model a schedule trains: the pretrained source, cut, with the schedule's head on top.
import { UserError } from '../core/errors.js';
import { dirname, resolve } from 'node:path';
import type * as tf from '../tf.js';
import type { Plan } from '../schedule/plan.js';
import { describeData } from '../data/open.js';
import { loadModel } from '../model/io.js';
import { attachHead, cutModel } from '../model/surgery.js';

/**
 * Number of classes the data will have, without decoding it (for `plan --model` and inspect): the same
 * layout reading as training; 2 when the data is not there yet, so a plan can be checked before it is.
 */
export function classCountHint(plan: Plan, scheduleFile: string): number {
  try {
    return describeData(plan, scheduleFile).classes.length;
  } catch {
    return 2;
  }
}

/**
 * `source` given on the command line (inspect MODEL --schedule F, plan --model M) is relative to the
 * working directory; the schedule's own model.source to the schedule's folder.
 */
export async function buildFineTuneModel(
  plan: Plan,
  scheduleFile: string,
  classes: number,
  source?: string,
): Promise<tf.LayersModel> {
  const base = await loadModel(
    source ?? plan.model.source,
    source === undefined ? dirname(resolve(scheduleFile)) : process.cwd(),
  ).catch((err: unknown) => {
    // a model the schedule names: say where it names it
    if (source !== undefined || !(err instanceof UserError) || err.key) throw err;
    throw new UserError(err.message, err.exitCode, ['model', 'source']);
  });
  const cut = cutModel(base, plan.model.cutAt);
  return attachHead(cut, plan.model.head, classes);
}
