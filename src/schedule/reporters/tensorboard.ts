import { Type } from '@sinclair/typebox';
import { defineReporter } from './kind.js';

export const tensorboard = defineReporter({
  type: 'tensorboard',
  schema: Type.Object(
    {
      type: Type.Literal('tensorboard'),
      layers: Type.Optional(
        Type.Boolean({
          description: 'Also write the per-layer scalars under layers/ (default true; two per layer and epoch).',
        }),
      ),
    },
    {
      additionalProperties: false,
      description: 'tensorboard/{train,validation}: the epoch scalars as Keras lays them out (tensorboard --logdir).',
    },
  ),
  normalize: (o) => ({ type: 'tensorboard' as const, layers: o.layers ?? true }),
  files: 'tensorboard/',
  describe: (o) => (o.layers ? 'tensorboard' : 'tensorboard (no layer scalars)'),
});
