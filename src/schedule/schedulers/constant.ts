import { Type } from '@sinclair/typebox';
import { defineScheduler, StepPer, Warmup } from './kind.js';

export const constant = defineScheduler({
  type: 'constant',
  schema: Type.Object(
    { type: Type.Literal('constant'), warmup: Warmup, stepPer: Type.Optional(StepPer) },
    { additionalProperties: false },
  ),
  normalize: (s) => ({ type: 'constant' as const, warmup: s.warmup ?? 0, stepPer: s.stepPer ?? 'epoch' }),
  at: (_s, lr) => lr,
  describe: () => 'constant',
});
