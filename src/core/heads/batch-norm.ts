import { Type } from '@sinclair/typebox';
import { defineHead, headSchema } from './kind.js';

export const batchNorm = defineHead({
  key: 'batchNorm',
  schema: headSchema(
    'batchNorm',
    { momentum: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })) },
    undefined,
    'batchnorm',
  ),
  prefix: 'batchnorm',
  build: (layers, s, { name }) => layers.batchNormalization({ momentum: s.momentum ?? 0.99, name }),
  describe: () => 'batchNorm',
});
