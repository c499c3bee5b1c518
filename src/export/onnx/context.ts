// What a layer's converter works with: the graph, the layer and its weights, its input values, and the
// layout rule. tfjs is NHWC, ONNX's Conv and pooling are NCHW: a rank-4 value carries which of the two it
// is in, and a converter asks for the one it needs (a transpose is added once per value and reused).
import type * as tf from '../../tf.js';
import { EXIT_USAGE, UserError } from '../../core/errors.js';
import type { AttrValue, OnnxGraph } from './graph.js';

export interface Value {
  name: string;
  /** The shape as tfjs sees it (NHWC for images), batch first as null. */
  shape: (number | null)[];
  /** True when the ONNX tensor holds a rank-4 value as NCHW. */
  nchw: boolean;
}

export type LayerConfig = Record<string, unknown>;

/** Raised for a layer ONNX cannot express: which layer, and what to do. Exit 2. */
export class ExportError extends UserError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
/** Where an NHWC axis lands in NCHW. */
export const NCHW_AXIS = [0, 2, 3, 1];

export class ExportContext {
  private readonly layouts = new Map<string, string>();

  constructor(readonly g: OnnxGraph) {}

  /** `v` as NCHW (rank 4) — its own name when it already is. */
  nchw(v: Value): string {
    if (v.shape.length !== 4 || v.nchw) return v.name;
    return this.transposed(v.name, TO_NCHW, `${v.name}_nchw`);
  }

  /** `v` as tfjs holds it (NHWC for rank 4). */
  nhwc(v: Value): string {
    if (v.shape.length !== 4 || !v.nchw) return v.name;
    return this.transposed(v.name, TO_NHWC, `${v.name}_nhwc`);
  }

  private transposed(name: string, perm: number[], out: string): string {
    const key = `${name}|${perm.join()}`;
    if (!this.layouts.has(key)) this.layouts.set(key, this.g.node('Transpose', [name], out, { perm }));
    return this.layouts.get(key)!;
  }
}

export interface LayerJob {
  cx: ExportContext;
  g: OnnxGraph;
  layer: tf.layers.Layer;
  config: LayerConfig;
  inputs: Value[];
  /** The layer's output shape as tfjs gives it. */
  outShape: (number | null)[];
}

export type LayerConverter = (job: LayerJob) => Value;

/** A layer weight by its short name ('kernel', 'bias', 'gamma', …), as values and shape. */
export function weight(layer: tf.layers.Layer, short: string): { values: Float32Array; shape: number[] } | undefined {
  const w = layer.weights.find((v) => v.originalName.split('/').at(-1) === short);
  if (!w) return undefined;
  const t = w.read();
  return { values: t.dataSync() as Float32Array, shape: [...t.shape] };
}

export function needWeight(layer: tf.layers.Layer, short: string): { values: Float32Array; shape: number[] } {
  const w = weight(layer, short);
  if (!w) throw new ExportError(`layer '${layer.name}' has no weight '${short}'; the model file is damaged`);
  return w;
}

/** Values permuted like tf.transpose: output axis i is input axis perm[i]. */
export function permute(values: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const outShape = perm.map((p) => shape[p]!);
  const step = perm.map((p) => inStrides[p]!); // input stride of each output axis
  const out = new Float32Array(values.length);
  const idx = new Array<number>(rank).fill(0);
  let from = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = values[from]!;
    // odometer over the output index, moving `from` by the matching input strides
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a]! < outShape[a]!) {
        from += step[a]!;
        break;
      }
      from -= step[a]! * (outShape[a]! - 1);
      idx[a] = 0;
    }
  }
  return out;
}

export function refuse(job: Pick<LayerJob, 'layer'>, why: string): never {
  throw new ExportError(`layer '${job.layer.name}' (${job.layer.getClassName()}) cannot be written as ONNX: ${why}`);
}

export type Attrs = Record<string, AttrValue>;
