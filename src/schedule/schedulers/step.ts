import { Type } from '@sinclair/typebox';
import { defineScheduler, StepPer, Warmup } from './kind.js';

/** lr × gamma^⌊t/stepSize⌋ (PyTorch's StepLR). */
export const step = defineScheduler({
  type: 'step',
  schema: Type.Object(
    {
      type: Type.Literal('step'),
      stepSize: Type.Integer({ minimum: 1, description: 'Multiply the lr by gamma every stepSize steps.' }),
      gamma: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Factor (default 0.1).' })),
      warmup: Warmup,
      stepPer: Type.Optional(StepPer),
    },
    { additionalProperties: false },
  ),
  normalize: (s) => ({
    type: 'step' as const,
    stepSize: s.stepSize,
    gamma: s.gamma ?? 0.1,
    warmup: s.warmup ?? 0,
    stepPer: s.stepPer ?? 'epoch',
  }),
  at: (s, lr, u) => lr * s.gamma ** Math.floor(u / s.stepSize),
  describe: (s) => `step ×${s.gamma} every ${s.stepSize}`,
});
