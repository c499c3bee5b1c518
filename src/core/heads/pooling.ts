// The layers that turn a feature map into a vector: no pooling is added in front of them.
import { defineHead, headSchema } from './kind.js';

export const flatten = defineHead({
  key: 'flatten',
  schema: headSchema('flatten', {}, 'Flatten to a vector.'),
  prefix: 'flatten',
  pools: true,
  build: (layers, _s, { name }) => layers.flatten({ name }),
  describe: () => 'flatten',
});

export const globalAveragePooling = defineHead({
  key: 'globalAveragePooling',
  schema: headSchema('globalAveragePooling', {}, 'Global average pooling over height and width.', 'gap'),
  prefix: 'gap',
  pools: true,
  build: (layers, _s, { name }) => layers.globalAveragePooling2d({ name }),
  describe: () => 'globalAveragePooling',
});

export const globalMaxPooling = defineHead({
  key: 'globalMaxPooling',
  schema: headSchema('globalMaxPooling', {}, 'Global max pooling over height and width.', 'gmp'),
  prefix: 'gmp',
  pools: true,
  build: (layers, _s, { name }) => layers.globalMaxPooling2d({ name }),
  describe: () => 'globalMaxPooling',
});
