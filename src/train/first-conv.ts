// The gradient nobody needs: tfjs-layers runs a conv with a linear activation through tf.fused.conv2d,
// whose gradient computes the input's gradient along with the filter's, always. For a convolution whose
// input no trained variable reaches — a stem conv on the images, or the first convs after the frozen part
// of a stage (reading the cached features) — that input gradient leads nowhere, and on wasm it is a slow
// kernel (an RGB stem at 224×224: ~96 ms of a 0.8 s MobileNetV2 step; resnet-mini's last block on cached
// features: 2 of its 3 input gradients). In training, those layers run as tf.conv2d + bias + activation
// instead: the same arithmetic forward, and tfjs computes each input's gradient only when asked for it.
import * as tf from '../tf.js';
import { convFields, wrapLayerCall } from '../core/tfjs-internals.js';
import { leafGraph } from '../model/split.js';

/** A Conv2D layer tf.conv2d can stand in for: 2-D, channels last, not causal, no dilation. */
function plainConv(layer: tf.layers.Layer): boolean {
  if (layer.getClassName() !== 'Conv2D') return false;
  const f = convFields(layer);
  const plain = f.rank === 2 && f.dataFormat === 'channelsLast' && f.padding !== 'causal';
  return plain && f.dilationRate.every((d) => d === 1);
}

/**
 * Plain Conv2D layers whose every call reads a tensor that no trained variable reaches, when the leaf
 * layers at `active` (full paths, as applyTrainable takes them) are the ones that train: walked in graph
 * order, nested models included.
 */
export function constantInputConvs(model: tf.LayersModel, active: ReadonlySet<string>): Set<tf.layers.Layer> {
  const reached = new Set<number>();
  const [constant, fed] = [new Set<tf.layers.Layer>(), new Set<tf.layers.Layer>()];
  for (const n of leafGraph(model).nodes) {
    const reads = n.inputs.some((i) => reached.has(i));
    if (reads || active.has(n.path)) n.outputs.forEach((o) => reached.add(o));
    if (plainConv(n.layer)) (reads ? fed : constant).add(n.layer);
  }
  return new Set([...constant].filter((l) => !fed.has(l)));
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
