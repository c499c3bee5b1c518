// What an export format is: a writer from the trained model to files in memory, and a runner that
// executes those files (not the model they came from) so the accuracy cost is measured on what ships.
import type * as tf from '../../tf.js';
import type { Preprocess } from '../../core/preprocess.js';
import type { Quantization } from '../quantize.js';

export interface ExportInput {
  model: tf.LayersModel;
  labels: string[];
  input: { shape: [number, number, number]; resize: string; preprocess: Preprocess };
  quantize?: Quantization;
  /** ONNX: take NCHW input. */
  nchw: boolean;
  version: string;
}

/** Runs a model on a batch of inputs preprocessed as the trained model takes them (NHWC). */
export interface Runner {
  run(x: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
  /** What executed it: "tfjs 4.22.0", "onnxruntime-node 1.23.2". */
  engine: string;
}

export interface Exported {
  files: Record<string, string | Uint8Array>;
  /** The files that are the model (their bytes are the size reported). */
  modelFiles: string[];
  /** A runner over the exported bytes; undefined when nothing here can run the format (said in `note`). */
  runner(): Promise<Runner | undefined>;
  /** The export's outputs are probabilities where the model's were logits (tm appends a softmax). */
  softmaxAdded?: boolean;
  /** For export.json: quantization details, layout, tensors left float32. */
  details: Record<string, unknown>;
  notes: string[];
}

export interface ExportFormat {
  name: 'tfjs' | 'onnx' | 'tm';
  summary: string;
  quantize: readonly Quantization[];
  write(input: ExportInput): Promise<Exported>;
}
