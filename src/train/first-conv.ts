// The gradient nobody needs: tfjs-layers runs a conv with a linear activation through tf.fused.conv2d,
// whose gradient computes the input's gradient along with the filter's, always. For the convolutions
// that come before any weight of the model (a stem conv on the images), that input gradient leads
// nowhere, and on wasm it is a slow kernel (an RGB stem at 224×224: ~96 ms of a 0.8 s MobileNetV2 step).
// In training, those layers run as tf.conv2d + bias + activation instead: the same arithmetic forward,
// and tfjs computes each input's gradient only when asked for it.
import * as tf from '../tf.js';
import { convFields, wrapLayerCall } from '../core/tfjs-internals.js';
import type { LayerEntry } from '../model/layers.js';

/** Conv2D layers (channels last, no dilation) before the first layer with weights, in model order. */
export function leadingConvs(layers: readonly LayerEntry[]): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  for (const l of layers) {
    if (l.layer.getClassName() === 'Conv2D') {
      const f = convFields(l.layer);
      const plain = f.rank === 2 && f.dataFormat === 'channelsLast' && f.padding !== 'causal';
      if (plain && f.dilationRate.every((d) => d === 1)) out.push(l.layer);
    }
    if (l.hasWeights) break;
  }
  return out;
}

/** While `training()` says so, the layer's call skips the fused kernel (and its input gradient). */
export function unfuseInTraining(layer: tf.layers.Layer, training: () => boolean): void {
  const f = convFields(layer);
  wrapLayerCall(layer, (original) => (inputs, kwargs) => {
    if (!training()) return original(inputs, kwargs);
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.tidy(() => {
      const pad = f.padding === 'same' ? 'same' : 'valid';
      let y: tf.Tensor = tf.conv2d(x as tf.Tensor4D, f.kernel.read() as tf.Tensor4D, f.strides, pad);
      if (f.bias) y = tf.add(y, f.bias.read());
      return f.activation.apply(y);
    });
  });
}
