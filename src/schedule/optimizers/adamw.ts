import { Type } from '@sinclair/typebox';
import { AdamFields } from './adam.js';
import { defineOptimizer } from './kind.js';

/** Adam whose weight decay defaults to decoupled (w ← w·(1 − lr·wd) before the step, PyTorch's AdamW). */
export const adamw = defineOptimizer({
  type: 'adamw',
  schema: Type.Object(
    { type: Type.Literal('adamw'), ...AdamFields },
    { additionalProperties: false, description: 'Adam with decoupled weight decay.' },
  ),
  normalize: (o) => ({
    type: 'adamw' as const,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    epsilon: o.epsilon ?? 1e-7,
  }),
  build: (train, o, lr) => train.adam(lr, o.beta1, o.beta2, o.epsilon),
  decay: 'decoupled',
  describe: (o) => `adamw (β1 ${o.beta1}, β2 ${o.beta2}, ε ${o.epsilon})`,
});
