// What a scheduler kind is: its part of the schema, its defaults (normalize), its curve, its checks and
// its description. One file per kind; index.ts lists them.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const StepPer = Type.Union([Type.Literal('epoch'), Type.Literal('batch')], {
  description: "Update the lr after every 'epoch' (default) or every 'batch'.",
});
export const Warmup = Type.Optional(
  Type.Integer({ minimum: 0, description: 'Linear warm-up from 0, in steps of stepPer (epochs or batches).' }),
);

/** Every normalized scheduler has these; warm-up is applied before the kind's own curve. */
export interface SchedulerBase {
  type: string;
  warmup: number;
  stepPer: 'epoch' | 'batch';
}

export interface SchedulerKind<S extends TSchema, N extends SchedulerBase> {
  type: N['type'];
  schema: S;
  normalize(input: Static<S>): N;
  /** The lr at step u (0-based, after warm-up) of n steps, for base lr `lr`. */
  at(s: N, lr: number, u: number, n: number): number;
  /** e.g. "cosine → 1e-6" (warm-up and "per batch" are added by the caller). */
  describe(s: N, lr: number): string;
  /** Checks against the stage's lr beyond what the schema can say: [key under scheduler, message]. */
  check?(s: N, lr: number): [string, string][];
}

export const defineScheduler = <S extends TSchema, N extends SchedulerBase>(k: SchedulerKind<S, N>) => k;

export const cosineBetween = (start: number, end: number, pct: number): number =>
  end + ((start - end) / 2) * (1 + Math.cos(Math.PI * pct));

/** minLr below the stage lr (cosine, reduceOnPlateau). */
export const minLrBelow = (s: { minLr: number }, lr: number): [string, string][] =>
  s.minLr >= lr && s.minLr > 0 ? [['minLr', `scheduler.minLr ${s.minLr} must be below the stage lr ${lr}`]] : [];
