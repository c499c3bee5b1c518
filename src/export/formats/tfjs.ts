// tfjs layers format: model.json and 4 MB weight shards (tensorflowjs_converter's layout), kernels
// optionally quantized with manifests stock tfjs decodes; loads with tf.loadLayersModel in any app.
import * as tf from '../../tf.js';
import { EXIT_USAGE, UserError } from '../../core/errors.js';
import { modelArtifacts } from '../../model/save.js';
import { concat, quantizeWeights, type Quantization } from '../quantize.js';
import type { ExportFormat, ExportInput, Exported, Runner } from './kind.js';

const SHARD_BYTES = 4 * 1024 * 1024;

export interface LayersFiles {
  files: Record<string, string | Uint8Array>;
  modelFiles: string[];
  kept: string[];
}

/** model.json + weights for `model`; `single` writes one weights.bin (Teachable Machine's layout). */
export async function layersModelFiles(
  model: tf.LayersModel,
  quantize: Quantization | undefined,
  single: boolean,
  version: string,
): Promise<LayersFiles> {
  const a = await modelArtifacts(model);
  const specs = a.weightSpecs ?? [];
  const q = quantize
    ? quantizeWeights(specs, a.weightData as ArrayBuffer, quantize)
    : { specs, data: new Uint8Array(a.weightData as ArrayBuffer), kept: specs.map((s) => s.name) };
  const count = single ? 1 : Math.max(1, Math.ceil(q.data.byteLength / SHARD_BYTES));
  const names = single
    ? ['weights.bin']
    : Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  const files: Record<string, string | Uint8Array> = {};
  names.forEach((n, i) => (files[n] = q.data.subarray(i * SHARD_BYTES, single ? undefined : (i + 1) * SHARD_BYTES)));
  files['model.json'] = JSON.stringify({
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: `freezeflow ${version}`,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: names.map((n) => `./${n}`), weights: q.specs }],
  });
  return { files, modelFiles: ['model.json', ...names], kept: quantize ? q.kept : [] };
}

/** freezeflow's own layer classes (an imported network's) that stock tfjs cannot build. */
const FREEZEFLOW_LAYERS = new Set(['OnnxPad', 'OnnxUnary', 'OnnxBinary', 'GroupConv2D']);

export function refuseCustomLayers(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) refuseCustomLayers(layer);
    else if (FREEZEFLOW_LAYERS.has(layer.getClassName()))
      throw new UserError(
        `layer '${layer.name}' (${layer.getClassName()}, from the ONNX import) is freezeflow's own class, which stock tfjs apps cannot load; export this model with --format onnx`,
        EXIT_USAGE,
      );
  }
}

/** Load model.json + shards as written (quantized manifests decoded by tfjs itself) and run it. */
export async function layersRunner(
  files: Record<string, string | Uint8Array>,
  transform?: (x: tf.Tensor) => tf.Tensor,
): Promise<Runner> {
  const json = JSON.parse(files['model.json'] as string) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const group = json.weightsManifest[0]!;
  const data = concat(group.paths.map((p) => files[p.replace(/^\.\//, '')] as Uint8Array));
  const model = await tf.loadLayersModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: group.weights,
      weightData: data.slice().buffer,
    }),
  });
  return modelRunner(model, transform, true);
}

/** A LayersModel as a Runner; `owned` models are disposed with it. */
export function modelRunner(model: tf.LayersModel, transform?: (x: tf.Tensor) => tf.Tensor, owned = false): Runner {
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
  return {
    engine: `tfjs ${tf.version_core}`,
    run: async (x, n) => {
      const y = tf.tidy(() => {
        const input = tf.tensor4d(x, [n, h!, w!, c!]);
        return model.predict(transform ? transform(input) : input) as tf.Tensor;
      });
      const out = (await y.data()) as Float32Array;
      y.dispose();
      return out;
    },
    dispose: () => {
      if (owned) model.dispose();
    },
  };
}

export const tfjsFormat: ExportFormat = {
  name: 'tfjs',
  summary: 'tfjs layers model: model.json + 4 MB shards, loads with tf.loadLayersModel',
  quantize: ['float16', 'uint8'],
  async write(input: ExportInput): Promise<Exported> {
    refuseCustomLayers(input.model);
    const { files, modelFiles, kept } = await layersModelFiles(input.model, input.quantize, false, input.version);
    // beside the model, as a run writes them: freezeflow's predict and evaluate read the export as the run
    files['labels.json'] = `${JSON.stringify(input.labels)}\n`;
    files['freezeflow.json'] = `${JSON.stringify({ input: input.input }, null, 2)}\n`;
    return {
      files,
      modelFiles,
      runner: () => layersRunner(files),
      details: { quantization: input.quantize ?? null, layout: 'NHWC', float32Tensors: kept },
      notes: input.quantize
        ? [`${kept.length} tensor(s) kept float32 (biases, BatchNorm statistics and scales: few bytes, and sensitive)`]
        : [],
    };
  },
};
