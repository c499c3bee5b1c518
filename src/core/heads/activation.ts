import { Literals } from '../typebox.js';
import { defineHead, headSchema } from './kind.js';

export const Activation = Literals(
  ['linear', 'relu', 'relu6', 'elu', 'selu', 'gelu', 'sigmoid', 'tanh', 'softmax', 'softplus', 'swish'],
  { description: 'Activation function.' },
);
export const activation = defineHead({
  key: 'activation',
  schema: headSchema('activation', { fn: Activation }),
  prefix: 'activation',
  build: (layers, s, { name }) => layers.activation({ activation: s.fn as never, name }),
  describe: (s) => `activation(${s.fn})`,
});
