// A run's adapter package: adapters.json (what each adapter is, which trained weights follow) and
// adapters.bin (float32 tensors in that order). Checkpoints keep A, B and each adapted layer's own kernel
// (for an exact resume); a run's adapters/ keeps A, B and every other weight the run trained, with the
// model spec (source, cut, head) that `freezeflow merge` rebuilds the trained model from.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../tf.js';
import { UserError } from '../core/errors.js';
import type { HeadLayerSpec } from '../core/heads/index.js';

export const ADAPTER_FILES = { json: 'adapters.json', bin: 'adapters.bin' } as const;

/** One adapter as adapters.json records it; its tensors follow in adapters.bin in this order. */
export interface SavedAdapter {
  path: string;
  type: 'lora';
  rank: number;
  alpha: number;
  dropout: number;
  /** Shapes of A, B and (in checkpoints) the base kernel W. */
  a: number[];
  b: number[];
  base?: number[];
}

/** A trained weight of the run's model, by layer path and the weight's own name (kernel, bias, gamma, …). */
export interface SavedWeight {
  path: string;
  name: string;
  shape: number[];
}

export interface AdapterHeader {
  format: 'freezeflow-adapters/1';
  /** What the run trained from: the pretrained source, its cut and the new head (a run's adapters/). */
  model?: { source: string; cutAt?: string; head: HeadLayerSpec[] };
  labels?: string[];
  /** The run model's freezeflow.json (schedule name, input pipeline). */
  meta?: object;
  adapters: SavedAdapter[];
  weights?: SavedWeight[];
}

export interface SavedAdapters {
  header: AdapterHeader;
  adapters: SavedAdapter[];
  tensors: Map<string, { a: tf.Tensor; b: tf.Tensor; base?: tf.Tensor }>;
  /** Trained weights by `path/name`. */
  weights: Map<string, tf.Tensor>;
}

/** adapters.json + adapters.bin from `dir`, or undefined when it has none. */
export function readAdapters(dir: string): SavedAdapters | undefined {
  const jsonFile = join(dir, ADAPTER_FILES.json);
  if (!existsSync(jsonFile)) return undefined;
  let header: AdapterHeader;
  try {
    header = JSON.parse(readFileSync(jsonFile, 'utf8')) as AdapterHeader;
  } catch (err) {
    throw new UserError(`${jsonFile} is not valid JSON (${(err as Error).message}); the file is damaged`);
  }
  if (header.format !== 'freezeflow-adapters/1' || !Array.isArray(header.adapters))
    throw new UserError(`${jsonFile} is not a freezeflow adapter file (format '${String(header.format)}')`);
  const bin = readFileSync(join(dir, ADAPTER_FILES.bin));
  const n = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const weights = header.weights ?? [];
  const need =
    header.adapters.reduce((k, a) => k + 4 * (n(a.a) + n(a.b) + (a.base ? n(a.base) : 0)), 0) +
    weights.reduce((k, w) => k + 4 * n(w.shape), 0);
  if (need !== bin.byteLength)
    throw new UserError(
      `${join(dir, ADAPTER_FILES.bin)} does not match ${ADAPTER_FILES.json} (${bin.byteLength} bytes, expected ${need}); the file is damaged`,
    );
  let at = 0;
  const take = (shape: number[]) => {
    const bytes = new Uint8Array(bin.subarray(at, at + 4 * n(shape))).buffer;
    at += 4 * n(shape);
    return tf.tensor(new Float32Array(bytes), shape);
  };
  const tensors = new Map<string, { a: tf.Tensor; b: tf.Tensor; base?: tf.Tensor }>();
  for (const a of header.adapters)
    tensors.set(a.path, { a: take(a.a), b: take(a.b), ...(a.base ? { base: take(a.base) } : {}) });
  const byName = new Map(weights.map((w) => [`${w.path}/${w.name}`, take(w.shape)]));
  return { header, adapters: header.adapters, tensors, weights: byName };
}
