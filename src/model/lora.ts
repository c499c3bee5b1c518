// A LoRA adapter on a Dense or Conv2D layer, without new layer classes. Outside training the layer's call
// sees its kernel as W + (alpha/rank)·A·B (one conv, as Keras 3's enable_lora computes it); in a training
// step it runs the frozen layer and adds the adapter's own path, s·B(A(drop(x))), before the activation
// (PEFT's form): the backward pass then computes gradients for A and B only, never a kernel-sized one for
// the frozen W. The saved base weights stay W, and merging is one write.
import * as tf from '../tf.js';
import { convFields, wrapLayerCall, type LayerCall } from '../core/tfjs-internals.js';
import { loraShapes } from '../core/lora-shapes.js';

export interface LoraSettings {
  rank: number;
  alpha: number;
  dropout: number;
}

export interface LoraAdapter extends LoraSettings {
  path: string;
  layer: tf.layers.Layer;
  a: tf.Variable;
  b: tf.Variable;
  /** alpha / rank */
  scale: number;
  /** scale·A·B in the kernel's shape (the caller disposes it). */
  delta(): tf.Tensor;
  /** Writes W + delta into the kernel and takes the adapter off the layer (its variables disposed). */
  merge(): void;
  /** Takes the adapter off the layer without merging (its variables disposed). */
  detach(): void;
}

export interface LoraHooks {
  /** Whether the current call is a training step (dropout applies only then). */
  training(): boolean;
  /** A seed for one dropout draw, from the run's stream. */
  seed(): number;
}

type Kernel = tf.LayerVariable;
const layerCall = (layer: tf.layers.Layer) => layer as unknown as { call: LayerCall };

/** A: uniform in ±1/√fan-in (PEFT's kaiming_uniform(a=√5)); B: zeros, so the layer is unchanged at first. */
export function attachLora(
  layer: tf.layers.Layer,
  path: string,
  s: LoraSettings,
  seed: number,
  hooks: LoraHooks,
  init?: { a: tf.Tensor; b: tf.Tensor },
): LoraAdapter {
  const f = convFields(layer);
  const kernel = f.kernel;
  const kshape = kernel.shape as number[];
  const { a: ashape, b: bshape } = loraShapes(kshape, s.rank);
  const fanIn = kshape.slice(0, -1).reduce((x, y) => x * y, 1);
  const bound = 1 / Math.sqrt(fanIn);
  const name = `${path.replace(/[^A-Za-z0-9_.-]/g, '_')}_lora`;
  const a = tf.variable(init?.a ?? tf.randomUniform(ashape, -bound, bound, 'float32', seed), true, `${name}_a_${seed}`);
  const b = tf.variable(init?.b ?? tf.zeros(bshape), true, `${name}_b_${seed}`);
  const scale = s.alpha / s.rank;
  const delta = () => tf.tidy(() => tf.reshape(tf.mul(tf.matMul(tf.reshape(a, [fanIn, s.rank]), b), scale), kshape));
  const before = layerCall(layer).call;
  wrapLayerCall(layer, (original) => (inputs, kwargs) => {
    if (hooks.training()) return twoPath(layer, original, inputs, kwargs, adapter, hooks);
    // the call reads `this.kernel`: for its duration that is a stand-in whose read() is W + ΔW
    const merged: Kernel = Object.create(kernel) as Kernel;
    merged.read = () => tf.add(kernel.read(), delta());
    f.kernel = merged;
    try {
      return original(inputs, kwargs);
    } finally {
      f.kernel = kernel;
    }
  });
  const off = () => {
    layerCall(layer).call = before;
    tf.dispose([a, b]);
  };
  const adapter: LoraAdapter = {
    ...s,
    path,
    layer,
    a,
    b,
    scale,
    delta,
    merge: () => {
      const w = tf.tidy(() => tf.add(kernel.read(), delta()));
      kernel.write(w);
      w.dispose();
      off();
    },
    detach: off,
  };
  return adapter;
}

/**
 * act(base(x) + scale·B(A(drop(x)))): the layer runs with a linear activation, the adapter path is added
 * to its pre-activation output, then the layer's own activation applies.
 */
function twoPath(
  layer: tf.layers.Layer,
  original: LayerCall,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
  ad: LoraAdapter,
  hooks: LoraHooks,
): tf.Tensor {
  const f = convFields(layer);
  const act = f.activation;
  f.activation = LINEAR;
  let base: tf.Tensor;
  try {
    base = original(inputs, kwargs) as tf.Tensor;
  } finally {
    f.activation = act;
  }
  const x = Array.isArray(inputs) ? inputs[0]! : inputs;
  return tf.tidy(() => {
    const dropped = ad.dropout > 0 ? tf.dropout(x, ad.dropout, undefined, hooks.seed()) : x;
    let path: tf.Tensor;
    if (layer.getClassName() === 'Dense') path = tf.matMul(tf.matMul(flat2d(dropped), ad.a), ad.b);
    else {
      const pad = f.padding === 'same' ? 'same' : 'valid';
      const h = tf.conv2d(dropped as tf.Tensor4D, ad.a as tf.Tensor4D, f.strides, pad, 'NHWC', f.dilationRate);
      path = tf.conv2d(h, tf.reshape(ad.b, [1, 1, ad.rank, -1]) as tf.Tensor4D, 1, 'valid');
    }
    return act.apply(tf.add(base, tf.reshape(tf.mul(path, ad.scale), base.shape)));
  });
}

const LINEAR: ReturnType<typeof convFields>['activation'] = { apply: (x) => x, getClassName: () => 'linear' };

/** Dense applies to the last axis: [..., in] as [N, in]. */
const flat2d = (x: tf.Tensor): tf.Tensor2D => tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]);
