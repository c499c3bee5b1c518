import { Type } from '@sinclair/typebox';
import { defineOptimizer } from './kind.js';

export const sgd = defineOptimizer({
  type: 'sgd',
  schema: Type.Object(
    {
      type: Type.Literal('sgd'),
      momentum: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Default 0.9.' })),
      nesterov: Type.Optional(Type.Boolean({ description: 'Nesterov momentum (default false).' })),
    },
    { additionalProperties: false, description: 'SGD with momentum (PyTorch semantics).' },
  ),
  normalize: (o) => ({ type: 'sgd' as const, momentum: o.momentum ?? 0.9, nesterov: o.nesterov ?? false }),
  build: (train, o, lr) => (o.momentum > 0 ? train.momentum(lr, o.momentum, o.nesterov) : train.sgd(lr)),
  decay: 'l2',
  describe: (o) => `sgd (momentum ${o.momentum}${o.nesterov ? ', nesterov' : ''})`,
});
