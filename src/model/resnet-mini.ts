// resnet-mini: a small ResNet for 28×28×1 images, named like torchvision's ResNet so schedules written
// for ResNets read the same: stem, layer1…layer3 (one BasicBlock each), pool, fc.
import * as tf from '../tf.js';

let nextSeed = 1;
const seeded = () => nextSeed++;

function convBn(
  x: tf.SymbolicTensor,
  filters: number,
  kernel: number,
  stride: number,
  name: string,
  bn: string,
): tf.SymbolicTensor {
  const c = tf.layers
    .conv2d({
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: 'same',
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({ seed: seeded() }),
      name,
    })
    .apply(x);
  return tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: bn }).apply(c) as tf.SymbolicTensor;
}

function basicBlock(x: tf.SymbolicTensor, filters: number, stride: number, p: string): tf.SymbolicTensor {
  let y = convBn(x, filters, 3, stride, `${p}_conv1`, `${p}_bn1`);
  y = tf.layers.reLU({ name: `${p}_relu1` }).apply(y) as tf.SymbolicTensor;
  y = convBn(y, filters, 3, 1, `${p}_conv2`, `${p}_bn2`);
  const inC = x.shape[3]!;
  const shortcut =
    stride !== 1 || inC !== filters ? convBn(x, filters, 1, stride, `${p}_downsample_conv`, `${p}_downsample_bn`) : x;
  const sum = tf.layers.add({ name: `${p}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
  return tf.layers.reLU({ name: `${p}_relu2` }).apply(sum) as tf.SymbolicTensor;
}

export function buildResnetMini(classes: number, seed = 1): tf.LayersModel {
  nextSeed = seed; // every initialiser gets its own seed, so a build is reproducible
  const input = tf.input({ shape: [28, 28, 1], name: 'input' });
  let x = convBn(input, 16, 3, 1, 'stem_conv', 'stem_bn');
  x = tf.layers.reLU({ name: 'stem_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'stem_pool' }).apply(x) as tf.SymbolicTensor; // 14×14
  x = basicBlock(x, 16, 1, 'layer1_0'); // 14×14×16
  x = basicBlock(x, 32, 2, 'layer2_0'); // 7×7×32
  x = basicBlock(x, 64, 2, 'layer3_0'); // 4×4×64
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      units: classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seeded() }),
      name: 'fc',
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'resnet_mini' });
}
