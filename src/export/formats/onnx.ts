// ONNX: one model.onnx of standard opset-13 ops, NHWC input as the model takes it (or NCHW with --nchw),
// labels and preprocessing in its metadata. Measured with onnxruntime-node when it is installed.
import { modelToOnnx } from '../onnx/model.js';
import { ortRunner } from '../onnx/runtime.js';
import type { ExportFormat, ExportInput, Exported } from './kind.js';

export const onnxFormat: ExportFormat = {
  name: 'onnx',
  summary: 'ONNX (opset 13): model.onnx, for onnxruntime in Python, C++, C#, Java or the browser',
  quantize: [],
  async write(input: ExportInput): Promise<Exported> {
    const { preprocess, shape, resize } = input.input;
    const layout = input.nchw ? 'NCHW' : 'NHWC';
    const meta = {
      labels: JSON.stringify(input.labels),
      layout,
      // value = (pixel / 255 − mean) / std, per channel, on a `resize`-resized image of `size`
      preprocess: JSON.stringify({ mean: preprocess.mean, std: preprocess.std, name: preprocess.name }),
      size: JSON.stringify(shape),
      resize,
    };
    const doc = `Exported by freezeflow ${input.version}: ${layout} float32 input, ${input.labels.length} outputs`;
    const bytes = modelToOnnx(input.model, { nchw: input.nchw, meta, version: input.version, doc });
    return {
      files: { 'model.onnx': bytes, 'labels.json': `${JSON.stringify(input.labels)}\n` },
      modelFiles: ['model.onnx'],
      runner: () => ortRunner(bytes, shape, input.nchw),
      details: { quantization: null, layout, opset: 13, metadata: meta },
      notes: [],
    };
  },
};
