// Teachable Machine's image-model layout: model.json + one weights.bin + metadata.json (labels, image
// size). TM consumers (@teachablemachine/image, ml5) feed a centre-cropped square in [-1, 1] and read
// probabilities, so the export adds what the model needs to take that: a 1×1 per-channel affine (a
// DepthwiseConv2D, a stock layer) from [-1, 1] to the model's own preprocessing, and a softmax when the
// model ends in logits. Loads in any tfjs app: no custom classes.
import * as tf from '../../tf.js';
import { EXIT_USAGE, UserError } from '../../core/errors.js';
import { affineOf } from '../../core/preprocess.js';
import { layersModelFiles, layersRunner, refuseCustomLayers } from './tfjs.js';
import type { ExportFormat, ExportInput, Exported } from './kind.js';

const ADAPTER = 'freezeflow_tm_input';

/** The model's input x as a function of TM's t ∈ [-1, 1]: x = w·t + b per channel. */
function adapterWeights(input: ExportInput): { w: Float32Array; b: Float32Array } {
  const { scale, offset } = affineOf(input.input.preprocess, 3);
  // x = pixel·scale + offset and pixel = 127.5·(t + 1)
  return { w: scale.map((s) => 127.5 * s), b: scale.map((s, c) => 127.5 * s + offset[c]!) };
}

const isIdentity = ({ w, b }: { w: Float32Array; b: Float32Array }) =>
  w.every((v) => Math.abs(v - 1) < 1e-6) && b.every((v) => Math.abs(v) < 1e-6);

/** Does the model end in a softmax already (Dense/Activation with softmax, or a Softmax layer)? */
function endsInSoftmax(model: tf.LayersModel): boolean {
  let last: tf.layers.Layer = model.layers.at(-1)!;
  while (last instanceof tf.LayersModel) last = last.layers.at(-1)!;
  const cfg = last.getConfig();
  return last.getClassName() === 'Softmax' || cfg['activation'] === 'softmax';
}

function check(input: ExportInput): number {
  const [h, w, c] = input.input.shape;
  if (c !== 3)
    throw new UserError(
      `a Teachable Machine export takes RGB images; this model takes ${c} channel(s) — export --format tfjs or onnx`,
      EXIT_USAGE,
    );
  if (h !== w)
    throw new UserError(
      `a Teachable Machine export takes square images; this model takes ${h}×${w} — export --format tfjs or onnx`,
      EXIT_USAGE,
    );
  return h;
}

function wrap(input: ExportInput, size: number): { model: tf.LayersModel; adapted: boolean; softmax: boolean } {
  const weights = adapterWeights(input);
  const adapted = !isIdentity(weights);
  const softmax = !endsInSoftmax(input.model);
  if (!adapted && !softmax) return { model: input.model, adapted, softmax };
  const x = tf.input({ shape: [size, size, 3], name: 'tm_image' });
  const adapter = tf.layers.depthwiseConv2d({ kernelSize: 1, useBias: true, name: ADAPTER });
  let y = (adapted ? adapter.apply(x) : x) as tf.SymbolicTensor;
  y = input.model.apply(y) as tf.SymbolicTensor;
  if (softmax) y = tf.layers.softmax({ name: 'freezeflow_tm_softmax' }).apply(y) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: y, name: 'teachable_machine' });
  if (adapted) adapter.setWeights([tf.tensor4d(weights.w, [1, 1, 3, 1]), tf.tensor1d(weights.b)]);
  return { model, adapted, softmax };
}

export const tmFormat: ExportFormat = {
  name: 'tm',
  summary: 'Teachable Machine layout: model.json, weights.bin, metadata.json (pixels in [-1, 1])',
  quantize: ['float16', 'uint8'],
  async write(input: ExportInput): Promise<Exported> {
    const size = check(input);
    refuseCustomLayers(input.model);
    const { model, adapted, softmax } = wrap(input, size);
    const { files, modelFiles, kept } = await layersModelFiles(model, input.quantize, true, input.version);
    files['metadata.json'] = `${JSON.stringify(
      {
        tfjsVersion: tf.version_core,
        tmVersion: '2.4.4',
        packageVersion: '0.8.4',
        packageName: '@teachablemachine/image',
        timeStamp: new Date().toISOString(),
        userMetadata: { exportedBy: `freezeflow ${input.version}` },
        modelName: 'freezeflow-model',
        labels: input.labels,
        imageSize: size,
      },
      null,
      2,
    )}\n`;
    const notes = [
      ...(adapted
        ? [
            `a 1×1 input layer '${ADAPTER}' maps TM's [-1, 1] pixels to the model's ${input.input.preprocess.name} preprocessing`,
          ]
        : []),
      ...(softmax ? ['a softmax was added: TM consumers read probabilities and the model ends in logits'] : []),
    ];
    const { w, b } = adapterWeights(input);
    // the run's preprocessed x back to TM's t: t = (x − b) / w, so the check feeds the export what TM would
    const toTm = (x: tf.Tensor) => tf.div(tf.sub(x, tf.tensor1d(b)), tf.tensor1d(w));
    return {
      files,
      modelFiles,
      runner: () => layersRunner(files, adapted ? toTm : undefined),
      softmaxAdded: softmax,
      details: {
        quantization: input.quantize ?? null,
        layout: 'NHWC',
        imageSize: size,
        pixels: '[-1, 1]',
        inputAdapter: adapted,
        softmaxAdded: softmax,
        float32Tensors: kept,
      },
      notes,
    };
  },
};
