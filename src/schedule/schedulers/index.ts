// The scheduler kinds. A new kind: one file beside this one, and one entry in SCHEDULERS.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { constant } from './constant.js';
import { cosine } from './cosine.js';
import { exponential } from './exponential.js';
import { onecycle } from './onecycle.js';
import { reduceOnPlateau } from './reduce-on-plateau.js';
import { step } from './step.js';

export const SCHEDULERS = [constant, step, exponential, cosine, onecycle, reduceOnPlateau] as const;

type Kinds = typeof SCHEDULERS;
type SchemaOf<K> = K extends { schema: infer S extends TSchema } ? S : never;
// a generic mapped type, so that a tuple maps to a tuple (a concrete one would map every array key)
type SchemasOf<T extends readonly unknown[]> = { -readonly [I in keyof T]: SchemaOf<T[I]> };
type Schemas = SchemasOf<Kinds>;

export const SchedulerSpec = Type.Union(SCHEDULERS.map((k) => k.schema) as unknown as Schemas, {
  description: 'Learning-rate scheduler within the stage.',
});
export type SchedulerInput = Static<typeof SchedulerSpec>;
export type NormalizedScheduler = ReturnType<Kinds[number]['normalize']>;

/** The kind's entry; an unknown type is an error, never a fallback. */
export function schedulerKind(type: string) {
  const k = SCHEDULERS.find((s) => s.type === type);
  if (!k) throw new Error(`unknown scheduler '${type}' (known: ${SCHEDULERS.map((s) => s.type).join(', ')})`);
  return k as unknown as {
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
