import { Type } from '@sinclair/typebox';
import { defineOptimizer } from './kind.js';

export const rmsprop = defineOptimizer({
  type: 'rmsprop',
  schema: Type.Object(
    {
      type: Type.Literal('rmsprop'),
      rho: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Decay (default 0.9).' })),
      momentum: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Default 0.' })),
      epsilon: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Default 1e-7 (tfjs).' })),
    },
    { additionalProperties: false },
  ),
  normalize: (o) => ({
    type: 'rmsprop' as const,
    rho: o.rho ?? 0.9,
    momentum: o.momentum ?? 0,
    epsilon: o.epsilon ?? 1e-7,
  }),
  build: (train, o, lr) => train.rmsprop(lr, o.rho, o.momentum, o.epsilon),
  decay: 'l2',
  describe: (o) => `rmsprop (rho ${o.rho}, momentum ${o.momentum})`,
});
