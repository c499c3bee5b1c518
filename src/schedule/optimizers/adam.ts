import { Type } from '@sinclair/typebox';
import { defineOptimizer } from './kind.js';

export const AdamFields = {
  beta1: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Default 0.9.' })),
  beta2: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Default 0.999.' })),
  // Keras/tfjs default epsilons differ from PyTorch's; 1e-7 matches tfjs so `model.fit` parity holds.
  epsilon: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Default 1e-7 (tfjs).' })),
};

export const adam = defineOptimizer({
  type: 'adam',
  schema: Type.Object({ type: Type.Literal('adam'), ...AdamFields }, { additionalProperties: false }),
  normalize: (o) => ({
    type: 'adam' as const,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    epsilon: o.epsilon ?? 1e-7,
  }),
  build: (train, o, lr) => train.adam(lr, o.beta1, o.beta2, o.epsilon),
  decay: 'l2',
  describe: (o) => `adam (β1 ${o.beta1}, β2 ${o.beta2}, ε ${o.epsilon})`,
});
