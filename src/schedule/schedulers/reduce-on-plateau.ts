import { Type } from '@sinclair/typebox';
import { count, fmtLr } from '../../core/format.js';
import { defineScheduler, minLrBelow } from './kind.js';

/** The base lr; the reductions depend on val loss and are made by the PlateauLr policy (train/policy.ts). */
export const reduceOnPlateau = defineScheduler({
  type: 'reduceOnPlateau',
  schema: Type.Object(
    {
      type: Type.Literal('reduceOnPlateau'),
      factor: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Default 0.1.' })),
      patience: Type.Optional(
        Type.Integer({ minimum: 0, description: 'Epochs without val-loss improvement (default 2).' }),
      ),
      minLr: Type.Optional(Type.Number({ minimum: 0 })),
    },
    {
      additionalProperties: false,
      description: 'Multiply the lr by factor when val loss stops improving (per epoch).',
    },
  ),
  normalize: (s) => ({
    type: 'reduceOnPlateau' as const,
    factor: s.factor ?? 0.1,
    patience: s.patience ?? 2,
    minLr: s.minLr ?? 0,
    warmup: 0,
    stepPer: 'epoch' as const,
  }),
  at: (_s, lr) => lr,
  describe: (s) => `reduce on plateau ×${s.factor} after ${count(s.patience, 'epoch')} (min ${fmtLr(s.minLr)})`,
  check: (s, lr) => minLrBelow(s, lr),
});
