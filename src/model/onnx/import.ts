// `freezeflow import` and `model.source: x.onnx`: read an ONNX file, convert it, write a tfjs layers
// folder (model.json, weights.bin, freezeflow.json with the input pipeline, provenance.json). The folder is
// written atomically: an import that fails leaves nothing. Imports of a schedule's .onnx are cached by the
// file's content hash, so a second run does not convert again.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { EXIT_USAGE, UserError } from '../../core/errors.js';
import { packageVersion } from '../../core/paths.js';
import { normalizePreprocess, type Preprocess } from '../../core/preprocess.js';
import { saveModel } from '../save.js';
import { ImportError } from './context.js';
import { convertModel, type Converted, type ConvertOptions } from './convert.js';
import { decodeModel, fillExternal, type OnnxModel } from './graph.js';

export const PROVENANCE = 'provenance.json';

export const isOnnxPath = (p: string) => /\.onnx$/i.test(p) && !/^https?:\/\//.test(p);

export interface Provenance {
  source: string;
  sha256: string;
  bytes: number;
  producer: string;
  opset: number;
  irVersion: number;
  opCounts: Record<string, number>;
  inputShape: number[];
  preprocess: Preprocess;
  batchNormFolded: boolean;
  importedBy: string;
  seconds: number;
}

export interface ImportOptions extends ConvertOptions {
  preprocess?: Preprocess;
}

export interface ImportResult {
  dir: string;
  provenance: Provenance;
  cached: boolean;
}

function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      EXIT_USAGE,
    );
  }
}

/** Weights kept in files beside the .onnx (exports over 2 GB, or save_as_external_data=True). */
function loadExternal(m: OnnxModel, file: string): void {
  const files = new Map<string, Uint8Array>();
  for (const t of m.graph.initializers.values()) {
    if (!t.external) continue;
    const where = resolve(dirname(file), t.external.location);
    if (!files.has(where)) {
      if (!existsSync(where))
        throw new ImportError(
          `${file} keeps weight '${t.name}' in the external file '${t.external.location}', which is not beside it; copy that file next to the .onnx`,
        );
      files.set(where, readFileSync(where));
    }
    fillExternal(t, files.get(where)!);
  }
}

/** The ONNX model in a file (its bytes, read once), checked for what the importer needs before converting. */
export function readOnnx(file: string, bytes: Uint8Array = readBytes(file)): OnnxModel {
  let m;
  try {
    m = decodeModel(bytes);
  } catch (err) {
    throw new ImportError(`${file} is not an ONNX model, or is truncated (${(err as Error).message})`);
  }
  if (!m.hasGraph || m.graph.nodes.length === 0)
    throw new ImportError(`${file} is not an ONNX model (it has no graph)`);
  if (m.opset === 0) throw new ImportError(`${file} names no ONNX opset (a truncated file?); re-export it`);
  if (m.opset < 11)
    throw new ImportError(
      `${file} uses ONNX opset ${m.opset}; freezeflow imports opset 11 and later: re-export with opset_version=13`,
    );
  try {
    loadExternal(m, file);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new ImportError(`${file}: ${(err as Error).message}`);
  }
  return m;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An .onnx file read once: its bytes and their hash serve the cache key, the model and the provenance. */
interface Source {
  file: string;
  bytes: Uint8Array;
  sha256: string;
}

function readSource(file: string): Source {
  const bytes = readBytes(file);
  return { file, bytes, sha256: sha256(bytes) };
}

function provenanceOf(src: Source, m: OnnxModel, c: Converted, pre: Preprocess, t0: number): Provenance {
  return {
    source: basename(src.file),
    sha256: src.sha256,
    bytes: src.bytes.byteLength,
    producer: `${m.producer} ${m.producerVersion}`.trim(),
    opset: m.opset,
    irVersion: m.irVersion,
    opCounts: c.opCounts,
    inputShape: c.inputShape,
    preprocess: pre,
    batchNormFolded: c.bnFolded,
    importedBy: `freezeflow ${packageVersion()}`,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** An --out that exists must be an earlier import (replaced) or empty; anything else is refused. */
function checkOut(dir: string): void {
  if (!existsSync(dir)) return;
  if (existsSync(join(dir, PROVENANCE)) || readdirSync(dir).length === 0) return;
  throw new UserError(`${dir} exists and is not an earlier import; choose another --out or remove it`, EXIT_USAGE);
}

/** Convert `file` and write the folder `out`. */
export async function importOnnx(file: string, out: string, opts: ImportOptions = {}): Promise<ImportResult> {
  checkOut(out);
  return importSource(readSource(file), out, opts);
}

async function importSource(src: Source, out: string, opts: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  const m = readOnnx(src.file, src.bytes);
  const converted = convertModel(m, opts);
  const pre = opts.preprocess ?? normalizePreprocess('imagenet');
  const provenance = provenanceOf(src, m, converted, pre, t0);
  // preprocessGiven: the user said so at import; imagenet by default is torchvision's convention, a guess
  const input =
    converted.inputShape.length === 3
      ? {
          shape: converted.inputShape,
          resize: 'cover',
          preprocess: pre,
          preprocessGiven: opts.preprocess !== undefined,
        }
      : undefined;
  mkdirSync(dirname(resolve(out)), { recursive: true });
  await saveModel(converted.model, resolve(out), {
    files: { [PROVENANCE]: provenance, ...(input ? { 'freezeflow.json': { input } } : {}) },
  });
  converted.model.dispose();
  return { dir: resolve(out), provenance, cached: false };
}

/** Where imports of schedule sources are kept: FREEZEFLOW_CACHE_DIR, else XDG_CACHE_HOME/freezeflow, else ~/.cache/freezeflow. */
export function cacheRoot(): string {
  const env = process.env;
  return env['FREEZEFLOW_CACHE_DIR'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'freezeflow');
}

/**
 * The converter's revision, part of the cache key: bumped when what an import produces changes, so a
 * cached import from an older freezeflow is converted again (2: swish and hard swish as one layer).
 */
const CONVERTER_REVISION = 2;

/** The import of `file` from the cache (by content hash), converting it the first time. */
export async function importCached(file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const src = readSource(file);
  const key = `${src.sha256}${JSON.stringify(opts)}r${CONVERTER_REVISION}`;
  const dir = join(cacheRoot(), 'onnx', sha256(new TextEncoder().encode(key)).slice(0, 24));
  if (existsSync(join(dir, 'model.json')) && existsSync(join(dir, PROVENANCE))) {
    const provenance = JSON.parse(readFileSync(join(dir, PROVENANCE), 'utf8')) as Provenance;
    return { dir, provenance, cached: true };
  }
  return importSource(src, dir, opts);
}

/** The model.json of an .onnx file's cached import (what loading an .onnx source reads). */
export async function importedModelJson(file: string): Promise<string> {
  return join((await importCached(file)).dir, 'model.json');
}
