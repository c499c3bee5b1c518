// The scheduler kinds. A new kind: one file beside this one, and one entry in SCHEDULERS.
import type { Static } from '@sinclair/typebox';
import { kindNamed, schemasUnion } from '../../core/typebox.js';
import { constant } from './constant.js';
import { cosine } from './cosine.js';
import { exponential } from './exponential.js';
import { onecycle } from './onecycle.js';
import { reduceOnPlateau } from './reduce-on-plateau.js';
import { step } from './step.js';

export const SCHEDULERS = [constant, step, exponential, cosine, onecycle, reduceOnPlateau] as const;

type Kinds = typeof SCHEDULERS;

export const SchedulerSpec = schemasUnion(SCHEDULERS, {
  description: 'Learning-rate scheduler within the stage.',
});
export type SchedulerInput = Static<typeof SchedulerSpec>;
export type NormalizedScheduler = ReturnType<Kinds[number]['normalize']>;

/** The kind's entry; an unknown type is an error, never a fallback. */
export function schedulerKind(type: string) {
  return kindNamed(SCHEDULERS, type, 'scheduler') as unknown as {
    normalize(s: SchedulerInput): NormalizedScheduler;
    at(s: NormalizedScheduler, lr: number, u: number, n: number): number;
    describe(s: NormalizedScheduler, lr: number): string;
    check?(s: NormalizedScheduler, lr: number): [string, string][];
  };
}

export const normalizeScheduler = (s: SchedulerInput | undefined): NormalizedScheduler =>
  s ? schedulerKind(s.type).normalize(s) : constant.normalize({ type: 'constant' });

/**
 * The lr at step `t` (0-based) of a stage of `total` steps with base lr `lr`: a linear warm-up,
 * lr × (t+1)/warmup for t < warmup, then the kind's curve over the remaining steps.
 */
export function lrAt(s: NormalizedScheduler, lr: number, t: number, total: number): number {
  if (s.warmup > 0 && t < s.warmup) return (lr * (t + 1)) / s.warmup;
  return schedulerKind(s.type).at(s, lr, t - s.warmup, Math.max(1, total - s.warmup));
}

export function describeScheduler(s: NormalizedScheduler, lr: number): string {
  const warm = s.warmup > 0 ? `, warm-up ${s.warmup}` : '';
  return `${schedulerKind(s.type).describe(s, lr)}${warm}${s.stepPer === 'batch' ? ' per batch' : ''}`;
}
