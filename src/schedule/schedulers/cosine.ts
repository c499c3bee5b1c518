import { Type } from '@sinclair/typebox';
import { fmtLr } from '../../core/format.js';
import { cosineBetween, defineScheduler, minLrBelow, StepPer, Warmup } from './kind.js';

/** From lr at the first step to minLr at the last step of the stage. */
export const cosine = defineScheduler({
  type: 'cosine',
  schema: Type.Object(
    {
      type: Type.Literal('cosine'),
      minLr: Type.Optional(Type.Number({ minimum: 0, description: 'Final lr (default 0).' })),
      warmup: Warmup,
      stepPer: Type.Optional(StepPer),
    },
    { additionalProperties: false, description: 'Cosine annealing from lr to minLr over the stage.' },
  ),
  normalize: (s) => ({
    type: 'cosine' as const,
    minLr: s.minLr ?? 0,
    warmup: s.warmup ?? 0,
    stepPer: s.stepPer ?? 'epoch',
  }),
  at: (s, lr, u, n) => (n <= 1 ? lr : cosineBetween(lr, s.minLr, Math.min(u, n - 1) / (n - 1))),
  describe: (s) => `cosine → ${fmtLr(s.minLr)}`,
  check: (s, lr) => minLrBelow(s, lr),
});
