import { Type } from '@sinclair/typebox';
import { Activation } from './activation.js';
import { defineHead, headSchema } from './kind.js';

const schema = headSchema(
  'dense',
  {
    units: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('auto')], {
      description: "Output units; 'auto' = number of classes in the data.",
    }),
    activation: Type.Optional(Activation),
    useBias: Type.Optional(Type.Boolean({ description: 'Add a bias vector (default true).' })),
  },
  'Fully connected layer.',
);

export const dense = defineHead({
  key: 'dense',
  schema,
  prefix: 'dense',
  build: (layers, s, { classes, name, kernelInitializer }) =>
    layers.dense({
      units: s.units === 'auto' ? classes : s.units,
      kernelInitializer: kernelInitializer(),
      activation: s.activation as never,
      useBias: s.useBias ?? true,
      name,
    }),
  describe: (s) => `dense(${s.units}${s.activation ? `, ${s.activation}` : ''})`,
});
