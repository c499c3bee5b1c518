// BatchNormalization stays a BatchNormalization layer with its running statistics, so frozen BatchNorm in
// inference mode and BatchNorm training behave as in PyTorch. ONNX's momentum is already the fraction of
// the old running value kept (PyTorch momentum 0.1 exports as 0.9), which is what Keras' momentum means.
import * as tf from '../../../tf.js';
import type { Converter } from '../context.js';

const batchNorm: Converter = (c) => {
  const x = c.tensor(0);
  const rank = x.squeezed ? 2 : x.onnxShape.length;
  if (rank !== 4 && rank !== 2) c.fail(`a ${rank}-D input`, 'only BatchNorm1d on [N, C] and BatchNorm2d are supported');
  const params = [1, 2, 3, 4].map((i) =>
    c.needConstant(i, ['scale', 'bias', 'running mean', 'running variance'][i - 1]!),
  );
  const channels = params[0]!.data.length;
  const layer = tf.layers.batchNormalization({
    name: c.name,
    axis: -1,
    epsilon: c.float('epsilon', 1e-5),
    momentum: c.float('momentum', 0.9),
  });
  const weights = params.map((p) => ({ data: Float32Array.from(p.data), shape: [channels] }));
  // a training-mode export adds running-statistics outputs: nothing in an inference graph reads them
  return [c.like(x, c.apply(layer, x.sym, weights))];
};

export const BATCHNORM: Record<string, Converter> = { BatchNormalization: batchNorm };
