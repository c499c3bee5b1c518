// The one way into TensorFlow.js: core, layers and the cpu kernels. The umbrella `@tensorflow/tfjs` adds
// webgl, the graph-model converter, tf.data and core-js (~200 MB installed) that freezeflow never uses.
import '@tensorflow/tfjs-backend-cpu';
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
