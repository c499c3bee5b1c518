// BatchNorm folding for inference: conv → BatchNorm (→ ReLU) becomes one conv with scaled weights, a bias
// (and a fused ReLU). In inference mode BatchNorm is the affine map γ(x − μ)/√(σ² + ε) + β per channel,
// so W' = W·s and b' = (b − μ)·s + β with s = γ/√(σ² + ε) give the same outputs (to float rounding) for a
// third less work on small conv nets. Used where a frozen part of a model only runs forward: the feature
// cache. The folded model shares every other layer (and its weights) with the original.
import * as tf from '../tf.js';
import { asList, inputIn, isInput, mappedInputs, outputIn, reapply } from './surgery.js';
import { isContainer } from './layers.js';

export interface FoldedModel {
  model: tf.LayersModel;
  /** How many conv → BatchNorm pairs were folded (0: `model` is the original). */
  folded: number;
  /** Free the folded convs' weights (the shared layers are left alone). */
  dispose(): void;
}

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D']);

type Config = Record<string, unknown>;

/**
 * Whether a layer is a plain ReLU, which tfjs-layers fuses into the conv kernel. ReLU6 is left as its own
 * layer: as a conv activation tfjs-layers runs it unfused as minimum(6, relu(x)), slower on wasm than the
 * layer's clipByValue.
 */
function isRelu(layer: tf.layers.Layer): boolean {
  const c = layer.getConfig() as Config;
  if (layer.getClassName() === 'Activation') return c['activation'] === 'relu';
  return layer.getClassName() === 'ReLU' && (c['maxValue'] === null || c['maxValue'] === undefined);
}

function foldedWeights(conv: tf.layers.Layer, bn: tf.layers.Layer): tf.Tensor[] {
  return tf.tidy(() => {
    const c = bn.getConfig() as Config;
    const byName = (suffix: string) => bn.weights.find((w) => w.originalName.endsWith(suffix))?.read();
    const mean = byName('moving_mean')!;
    const variance = byName('moving_variance')!;
    const gamma = byName('gamma') ?? tf.onesLike(mean);
    const beta = byName('beta') ?? tf.zerosLike(mean);
    const s = tf.div(gamma, tf.sqrt(tf.add(variance, c['epsilon'] as number)));
    const [kernel, bias] = conv.getWeights();
    const shape = kernel!.shape;
    // a depthwise kernel [kh, kw, ci, m] feeds output channel ci·m + k: the scales reshape to [ci, m]
    const w = tf.mul(kernel!, conv.getClassName() === 'DepthwiseConv2D' ? tf.reshape(s, shape.slice(2)) : s);
    const b = tf.add(tf.mul(tf.sub(bias ?? tf.zerosLike(mean), mean), s), beta);
    return [w, b];
  });
}

function foldedConv(conv: tf.layers.Layer, activation: string): tf.layers.Layer {
  const c = conv.getConfig() as Config;
  const common = {
    kernelSize: c['kernelSize'] as number[],
    strides: c['strides'] as number[],
    padding: c['padding'] as 'same' | 'valid',
    dilationRate: c['dilationRate'] as [number, number],
    activation: activation as 'linear',
    useBias: true,
    // no random draws: the weights are set right after, and the run's random stream stays untouched
    kernelInitializer: 'zeros' as const,
    biasInitializer: 'zeros' as const,
    name: `${conv.name}_bnfolded`,
  };
  return conv.getClassName() === 'DepthwiseConv2D'
    ? tf.layers.depthwiseConv2d({
        ...common,
        kernelSize: common.kernelSize as [number, number],
        depthMultiplier: c['depthMultiplier'] as number,
      })
    : tf.layers.conv2d({ ...common, filters: c['filters'] as number });
}

/** `model` with every foldable conv → BatchNorm (→ ReLU) pair folded, nested models included. */
export function foldBatchNorm(model: tf.LayersModel): FoldedModel {
  const created: tf.layers.Layer[] = [];
  const inner: FoldedModel[] = [];
  const consumers = new Map<number, tf.layers.Layer[]>();
  for (const layer of model.layers)
    if (!isInput(layer))
      for (const t of asList(inputIn(model, layer))) consumers.set(t.id, [...(consumers.get(t.id) ?? []), layer]);
  const outputs = new Set(model.outputs.map((t) => t.id));
  // the single consumer of a layer's output in this model, if it is not also a model output
  const soleConsumer = (l: tf.layers.Layer) => {
    const out = outputIn(model, l);
    const cs = consumers.get(out.id) ?? [];
    return cs.length === 1 && !outputs.has(out.id) ? cs[0] : undefined;
  };

  const mapped = new Map<number, tf.SymbolicTensor>();
  const inputs = model.inputs.map((t) => {
    const fresh = tf.input({ shape: t.shape.slice(1) as number[], dtype: t.dtype });
    mapped.set(t.id, fresh);
    return fresh;
  });
  const skip = new Set<tf.layers.Layer>();
  let folded = 0;
  for (const layer of model.layers) {
    if (isInput(layer) || skip.has(layer)) continue;
    const arg = mappedInputs(model, layer, mapped)!; // layers come in graph order: their inputs are mapped
    const cfg = layer.getConfig() as Config;
    const foldable =
      CONVS.has(layer.getClassName()) && cfg['activation'] === 'linear' && cfg['dataFormat'] !== 'channelsFirst';
    const bn = foldable ? soleConsumer(layer) : undefined;
    const bnAxis = bn ? (bn.getConfig() as Config)['axis'] : undefined;
    if (bn && bn.getClassName() === 'BatchNormalization' && (bnAxis === -1 || bnAxis === 3)) {
      const next = soleConsumer(bn);
      const act = next !== undefined && layer.getClassName() === 'Conv2D' && isRelu(next);
      const conv = foldedConv(layer, act ? 'relu' : 'linear');
      created.push(conv);
      const out = conv.apply(arg) as tf.SymbolicTensor;
      const weights = foldedWeights(layer, bn);
      conv.setWeights(weights);
      tf.dispose(weights);
      mapped.set(outputIn(model, bn).id, out);
      skip.add(bn);
      if (act) {
        mapped.set(outputIn(model, next!).id, out);
        skip.add(next!);
      }
      folded++;
      continue;
    }
    let applied: tf.layers.Layer = layer;
    if (isContainer(layer)) {
      const sub = foldBatchNorm(layer);
      if (sub.folded > 0) {
        inner.push(sub);
        folded += sub.folded;
        applied = sub.model as unknown as tf.layers.Layer;
      }
    }
    reapply(model, layer, mapped, arg, applied);
  }
  if (folded === 0) return { model, folded: 0, dispose: () => undefined };
  const result = tf.model({
    inputs,
    outputs: model.outputs.map((t) => mapped.get(t.id)!),
    name: `${model.name}_bnfolded`,
  });
  return {
    model: result,
    folded,
    dispose: () => {
      for (const l of created) for (const w of l.weights) w.dispose();
      inner.forEach((m) => m.dispose());
    },
  };
}
