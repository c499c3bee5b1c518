// Loading and saving tfjs LayersModels without @tensorflow/tfjs-node: our own IO handlers for local files
// and http(s) URLs, with one-line errors for the usual ways a model directory is broken.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import * as tf from '../tf.js';
import { UserError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';
import { importedModelJson, isOnnxPath } from './onnx/import.js';
import './onnx/layers.js'; // an imported model's own layer classes, so every load knows them

export { saveModel } from './save.js';

interface ModelJson {
  format?: string;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  [key: string]: unknown;
}

export const BUILTIN_MODELS: Record<string, string> = {
  'resnet-mini': 'models/resnet-mini/model.json',
};

/** Resolve a model source to a file path or URL. Relative paths are taken from `baseDir`. */
export function resolveModelSource(source: string, baseDir = process.cwd()): string {
  if (source.startsWith('builtin:')) {
    const name = source.slice('builtin:'.length);
    const rel = BUILTIN_MODELS[name];
    if (!rel)
      throw new UserError(
        `unknown builtin model '${name}'; available: ${Object.keys(BUILTIN_MODELS)
          .map((n) => `builtin:${n}`)
          .join(', ')}`,
      );
    return join(packageRoot(), rel);
  }
  if (/^https?:\/\//.test(source)) return source;
  const p = isAbsolute(source) ? source : resolve(baseDir, source);
  return existsSync(p) && !p.endsWith('.json') && existsSync(join(p, 'model.json')) ? join(p, 'model.json') : p;
}

/** How long an http(s) model request may take (FREEZEFLOW_HTTP_TIMEOUT_MS, default 30 s); tried twice. */
const httpTimeout = () => Number(process.env['FREEZEFLOW_HTTP_TIMEOUT_MS'] ?? 30_000);

async function fetchOnce(location: string): Promise<Uint8Array> {
  const res = await fetch(location, { signal: AbortSignal.timeout(httpTimeout()) });
  if (!res.ok) throw new UserError(`cannot fetch ${location}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** A model file over http(s): a server that never answers is a timeout, tried once more, then one line. */
async function fetchBytes(location: string): Promise<Uint8Array> {
  let last: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return await fetchOnce(location);
    } catch (err) {
      if (err instanceof UserError) throw err;
      last = err;
    }
  }
  const e = last as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  // undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, …) is in its cause
  const why =
    e.name === 'TimeoutError'
      ? `no answer within ${httpTimeout() / 1000} s`
      : (e.cause?.message ?? e.cause?.code ?? e.message ?? String(last));
  throw new UserError(`cannot fetch ${location}: ${why} (tried twice; check the URL and the network)`);
}

async function readBytes(location: string): Promise<Uint8Array> {
  if (/^https?:\/\//.test(location)) return fetchBytes(location);
  try {
    return readFileSync(location);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read ${location}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function sibling(location: string, name: string): string {
  return /^https?:\/\//.test(location) ? new URL(name, location).toString() : join(dirname(location), name);
}

/** Read model.json and its weight shards into tfjs ModelArtifacts, checking shard sizes. */
export async function readArtifacts(location: string): Promise<tf.io.ModelArtifacts> {
  const text = new TextDecoder().decode(await readBytes(location));
  let json: ModelJson;
  try {
    json = JSON.parse(text) as ModelJson;
  } catch {
    throw new UserError(`${location} is not a tfjs model.json (not valid JSON)`);
  }
  const topo = json.modelTopology;
  if (json.format === 'graph-model' || (topo && 'node' in topo)) {
    throw new UserError(
      `${location} is a tfjs graph model; graph models are frozen graphs without layers and cannot be fine-tuned — convert the Keras model with tensorflowjs_converter --output_format tfjs_layers_model`,
    );
  }
  if (!topo || !json.weightsManifest)
    throw new UserError(`${location} is not a tfjs layers model.json (no modelTopology/weightsManifest)`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    const parts = await Promise.all(group.paths.map((p) => readBytes(sibling(location, p))));
    const got = parts.reduce((n, b) => n + b.byteLength, 0);
    const need = group.weights.reduce(
      (n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (w.dtype === 'bool' ? 1 : 4),
      0,
    );
    const quantized = group.weights.some((w) => w.quantization);
    if (!quantized && got !== need) {
      throw new UserError(
        `weight shard(s) ${group.paths.join(', ')} of ${location} are ${got < need ? 'short' : 'too long'}: ${got} bytes, the manifest needs ${need} (a damaged or wrong file)`,
      );
    }
    buffers.push(...parts);
  }
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    data.set(b, off);
    off += b.byteLength;
  }
  refuseNonFinite(location, specs, data);
  return {
    modelTopology: topo,
    weightSpecs: specs,
    weightData: data.buffer,
    format: json.format,
    generatedBy: json['generatedBy'] as string | undefined,
    convertedBy: json['convertedBy'] as string | null | undefined,
  };
}

/** Load a LayersModel from a path, URL or builtin name; an .onnx file is imported first (cached). */
export async function loadModel(source: string, baseDir?: string): Promise<tf.LayersModel> {
  let location = resolveModelSource(source, baseDir);
  if (isOnnxPath(location)) location = await importedModelJson(location);
  const artifacts = await readArtifacts(location);
  try {
    return await tf.loadLayersModel({ load: async () => artifacts });
  } catch (err) {
    const msg = (err as Error).message;
    const unknown = /Unknown layer: (\w+)/.exec(msg);
    if (unknown)
      throw new UserError(
        `${location} uses layer class '${unknown[1]}', which tfjs does not know (custom layers must be registered)`,
      );
    throw new UserError(`cannot build the model in ${location}: ${msg.split('\n')[0]}`);
  }
}

/** A NaN or infinite weight would only show up as NaN losses later: refuse it now, naming the weight. */
function refuseNonFinite(location: string, specs: readonly tf.io.WeightsManifestEntry[], data: Uint8Array): void {
  if (specs.some((w) => w.quantization)) return; // quantized values are integers: always finite
  let off = 0;
  for (const w of specs) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const bytes = w.dtype === 'bool' ? n : 4 * n;
    if (w.dtype === 'float32') {
      const at = data.byteOffset + off;
      const values =
        at % 4 === 0 ? new Float32Array(data.buffer, at, n) : new Float32Array(data.slice(off, off + bytes).buffer);
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw new UserError(
          `${location}: weight '${w.name}' holds ${values[bad]} (index ${bad}); the model file is damaged`,
        );
    }
    off += bytes;
  }
}

/** A small JSON file beside a model (labels.json, freezeflow.json): undefined when there is none. */
export async function readBesideModel<T>(location: string, name: string): Promise<T | undefined> {
  const where = sibling(location, name);
  if (!/^https?:\/\//.test(where) && !existsSync(where)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(where);
  } catch {
    return undefined; // an http 404: the model simply has none
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (err) {
    throw new UserError(`${where} is damaged: ${(err as Error).message.split('\n')[0]}`);
  }
}
