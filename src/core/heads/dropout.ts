import { Type } from '@sinclair/typebox';
import { defineHead, headSchema } from './kind.js';

export const dropout = defineHead({
  key: 'dropout',
  schema: headSchema('dropout', {
    rate: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Fraction of units dropped.' }),
  }),
  prefix: 'dropout',
  build: (layers, s, { name }) => layers.dropout({ rate: s.rate, name }),
  describe: (s) => `dropout(${s.rate})`,
});
