// A tfjs LayersModel as an ONNX model: the layers walked in order (nested models included, as Teachable
// Machine nests them), each written by its converter from the table, layer names kept as node names.
import * as tf from '../../tf.js';
import { ExportContext, ExportError, type LayerConfig, type Value } from './context.js';
import { OnnxGraph } from './graph.js';
import { LAYERS } from './layers/index.js';

/** A functional model's wiring in the Keras JSON format (model.json's model_config). */
interface FunctionalConfig {
  layers: { name: string; class_name: string; inbound_nodes: [string, number, number, unknown][][] }[];
  input_layers: [string, number, number][];
  output_layers: [string, number, number][];
}

function convertLayer(cx: ExportContext, layer: tf.layers.Layer, inputs: Value[]): Value {
  if (layer instanceof tf.LayersModel) return walk(cx, layer, inputs);
  const convert = LAYERS[layer.getClassName()];
  if (!convert)
    throw new ExportError(
      `layer '${layer.name}' (${layer.getClassName()}) has no ONNX form in freezeflow yet; ONNX export writes ${Object.keys(LAYERS).length} layer classes (see docs/deploying.md); export --format tfjs instead`,
    );
  const outShape = layer.outputShape as (number | null)[];
  return convert({ cx, g: cx.g, layer, config: layer.getConfig() as LayerConfig, inputs, outShape });
}

function walk(cx: ExportContext, model: tf.LayersModel, inputs: Value[]): Value {
  if (model instanceof tf.Sequential) {
    let cur = inputs[0]!;
    for (const layer of model.layers) if (layer.getClassName() !== 'InputLayer') cur = convertLayer(cx, layer, [cur]);
    return cur;
  }
  const cfg = (model.toJSON(null, false) as unknown as { config: FunctionalConfig }).config;
  const values = new Map<string, Value>();
  const key = (layer: string, node: number, tensor: number) => `${layer}:${node}:${tensor}`;
  const calls = new Map<string, Value[]>();
  const put = (layer: string, node: number, v: Value) => {
    values.set(key(layer, node, 0), v);
    calls.set(layer, [...(calls.get(layer) ?? []), v]);
  };
  // tfjs numbers a nested model's nodes counting the one it was built with (output_layers says
  // ['head', 1, 0] where head has one inbound node here): a layer called once is that call
  const get = (layer: string, node: number, tensor: number) =>
    values.get(key(layer, node, tensor)) ?? (calls.get(layer)?.length === 1 ? calls.get(layer)![0] : undefined);
  cfg.input_layers.forEach(([n, node], i) => put(n, node, inputs[i]!));
  for (const lc of cfg.layers) {
    if (lc.class_name === 'InputLayer') continue;
    lc.inbound_nodes.forEach((node, k) => {
      const ins = node.map(([n, ni, ti]) => get(n, ni, ti));
      if (ins.some((v) => v === undefined))
        throw new ExportError(
          `layer '${lc.name}' takes an input the export has not reached; the model file is damaged`,
        );
      put(lc.name, k, convertLayer(cx, model.getLayer(lc.name), ins as Value[]));
    });
  }
  if (cfg.output_layers.length !== 1) throw new ExportError('ONNX export writes models with one output');
  const [n, ni, ti] = cfg.output_layers[0]!;
  const out = get(n, ni, ti);
  if (!out) throw new ExportError(`the model's output '${n}' is not reached from its input; the model file is damaged`);
  return out;
}

export interface OnnxExportOptions {
  /** Take NCHW input (a transpose in front), as PyTorch-style callers pass images. */
  nchw: boolean;
  meta: Record<string, string>;
  version: string;
  doc: string;
}

export function modelToOnnx(model: tf.LayersModel, opts: OnnxExportOptions): Uint8Array {
  if (model.inputs.length !== 1) throw new ExportError('ONNX export writes models with one input');
  const g = new OnnxGraph();
  const cx = new ExportContext(g);
  const shape = model.inputs[0]!.shape;
  const inputName = g.unique(model.inputNames[0] ?? 'input');
  const nchw = opts.nchw && shape.length === 4;
  const [n, h, w, c] = shape;
  const inputDims = nchw ? [n!, c!, h!, w!] : shape;
  const out = walk(cx, model, [{ name: inputName, shape, nchw }]);
  // the output comes back in the layout the input went in
  const outName = nchw ? cx.nchw(out) : cx.nhwc(out);
  const outDims =
    nchw && out.shape.length === 4 ? [out.shape[0]!, out.shape[3]!, out.shape[1]!, out.shape[2]!] : out.shape;
  return g.encode({
    input: { name: inputName, dims: inputDims },
    output: { name: outName, dims: outDims },
    meta: opts.meta,
    producerVersion: opts.version,
    doc: opts.doc,
  });
}
