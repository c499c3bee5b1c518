import { Type } from '@sinclair/typebox';
import { adam, AdamFields } from './adam.js';
import { defineOptimizer } from './kind.js';

/** Adam whose weight decay defaults to decoupled (w ← w·(1 − lr·wd) before the step, PyTorch's AdamW). */
export const adamw = defineOptimizer({
  type: 'adamw',
  schema: Type.Object(
    { type: Type.Literal('adamw'), ...AdamFields },
    { additionalProperties: false, description: 'Adam with decoupled weight decay.' },
  ),
  normalize: (o) => ({ ...adam.normalize({ ...o, type: 'adam' }), type: 'adamw' as const }),
  build: (train, o, lr) => adam.build(train, { ...o, type: 'adam' }, lr),
  decay: 'decoupled',
  describe: (o) => adam.describe({ ...o, type: 'adam' }).replace(/^adam/, 'adamw'),
});
