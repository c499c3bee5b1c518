// The table of layer classes the ONNX export writes: class name → converter. A class not here is refused
// with its layer's name, so adding one is one entry (and its test).
import type { LayerConverter } from '../context.js';
import * as act from './activation.js';
import * as conv from './conv.js';
import * as merge from './merge.js';
import * as pad from './padding.js';
import * as pool from './pool.js';
import * as shape from './shape.js';
import { batchNormLayer } from './norm.js';
import { denseLayer } from './dense.js';

export const LAYERS: Record<string, LayerConverter> = {
  Conv2D: conv.conv2dLayer,
  DepthwiseConv2D: conv.depthwiseLayer,
  GroupConv2D: conv.groupConvLayer,
  Dense: denseLayer,
  BatchNormalization: batchNormLayer,
  Activation: act.activationLayer,
  ReLU: act.reluLayer,
  LeakyReLU: act.leakyReluLayer,
  Softmax: act.softmaxLayer,
  OnnxUnary: act.onnxUnaryLayer,
  MaxPooling2D: pool.maxPoolLayer,
  AveragePooling2D: pool.averagePoolLayer,
  GlobalAveragePooling2D: pool.globalAveragePoolLayer,
  GlobalMaxPooling2D: pool.globalMaxPoolLayer,
  ZeroPadding2D: pad.zeroPaddingLayer,
  OnnxPad: pad.onnxPadLayer,
  Add: merge.addLayer,
  Average: merge.averageLayer,
  Maximum: merge.maximumLayer,
  Minimum: merge.minimumLayer,
  Multiply: merge.multiplyLayer,
  Concatenate: merge.concatenateLayer,
  OnnxBinary: merge.onnxBinaryLayer,
  Flatten: shape.flattenLayer,
  Reshape: shape.reshapeLayer,
  Permute: shape.permuteLayer,
  Rescaling: shape.rescalingLayer,
  Dropout: shape.identityLayer,
  GaussianNoise: shape.identityLayer,
  GaussianDropout: shape.identityLayer,
  AlphaDropout: shape.identityLayer,
};
