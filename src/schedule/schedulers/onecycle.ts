import { Type } from '@sinclair/typebox';
import { fmtLr } from '../../core/format.js';
import { cosineBetween, defineScheduler, StepPer } from './kind.js';

/** PyTorch's OneCycleLR (cosine phases) with the stage lr as the peak. */
export const onecycle = defineScheduler({
  type: 'onecycle',
  schema: Type.Object(
    {
      type: Type.Literal('onecycle'),
      pctStart: Type.Optional(
        Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Rising part (default 0.3).' }),
      ),
      divFactor: Type.Optional(Type.Number({ minimum: 1, description: 'Start lr = lr / divFactor (default 25).' })),
      finalDivFactor: Type.Optional(
        Type.Number({ minimum: 1, description: 'End lr = start / finalDivFactor (default 1e4).' }),
      ),
      stepPer: Type.Optional(StepPer),
    },
    { additionalProperties: false, description: "One-cycle policy; the stage's lr is the peak." },
  ),
  normalize: (s) => ({
    type: 'onecycle' as const,
    pctStart: s.pctStart ?? 0.3,
    divFactor: s.divFactor ?? 25,
    finalDivFactor: s.finalDivFactor ?? 1e4,
    warmup: 0,
    stepPer: s.stepPer ?? 'batch',
  }),
  at: (s, lr, u, n) => {
    const initial = lr / s.divFactor;
    const min = initial / s.finalDivFactor;
    const upEnd = s.pctStart * n - 1;
    if (u <= upEnd) return upEnd <= 0 ? lr : cosineBetween(initial, lr, u / upEnd);
    const downLen = n - 1 - upEnd;
    return downLen <= 0 ? min : cosineBetween(lr, min, (u - upEnd) / downLen);
  },
  describe: (s, lr) => `onecycle (peak ${fmtLr(lr)}, start ÷${s.divFactor}, end ÷${s.finalDivFactor * s.divFactor})`,
});
