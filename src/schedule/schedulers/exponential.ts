import { Type } from '@sinclair/typebox';
import { defineScheduler, StepPer, Warmup } from './kind.js';

/** lr × gamma^t (PyTorch's ExponentialLR). */
export const exponential = defineScheduler({
  type: 'exponential',
  schema: Type.Object(
    {
      type: Type.Literal('exponential'),
      gamma: Type.Number({ exclusiveMinimum: 0, description: 'lr = lr0 * gamma^step.' }),
      warmup: Warmup,
      stepPer: Type.Optional(StepPer),
    },
    { additionalProperties: false },
  ),
  normalize: (s) => ({
    type: 'exponential' as const,
    gamma: s.gamma,
    warmup: s.warmup ?? 0,
    stepPer: s.stepPer ?? 'epoch',
  }),
  at: (s, lr, u) => lr * s.gamma ** u,
  describe: (s) => `exponential ×${s.gamma}`,
});
