// Image-folder data sets: one sub-folder per class (or train/ and val/ folders of those), decoded and
// resized with sharp. Every file is decoded once before training starts, so unreadable files are found
// then (skipped and counted, or an error with --strict) and never half-way through a run; decoded images
// stay in a bounded cache and the rest are decoded again on demand.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { RUN_FILES } from '../core/run-files.js';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { EXIT_FAILURE, UserError } from '../core/errors.js';
import { augmentBatch, type AugmentRequest, type BatchSource } from './dataset.js';
import { affineOf, type Preprocess } from '../core/preprocess.js';

// libvips' operation cache helps repeated operations on one image; a data loader reads each file once per
// epoch, so the cache would only hold memory that grows with the data set.
sharp.cache(false);

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface ImageFile {
  path: string;
  label: number;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface FolderLayout {
  classes: string[];
  train: ImageFile[];
  /** Present when the folder has its own val/ (or validation/) part. */
  val?: ImageFile[];
  /** Files that are not images by their name (README.txt, .DS_Store, …). */
  ignored: SkippedFile[];
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

// a run directory kept inside the data folder (it holds freezeflow's marker) is not a class
const subdirs = (p: string) =>
  readdirSync(p)
    .filter((n) => !n.startsWith('.') && isDir(join(p, n)) && !existsSync(join(p, n, RUN_FILES.marker)))
    .sort();

/** What a scan has met, by real path: links are followed once, cycles end, no file counts twice. */
interface Seen {
  dirs: Set<string>;
  files: Map<string, string>;
}

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** Class folders under `dir`, each with its image files (recursively), in a stable order. */
function classFolders(dir: string, root: string, ignored: SkippedFile[], seen: Seen): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of subdirs(dir)) {
    const files: string[] = [];
    const walk = (d: string) => {
      const rd = real(d);
      if (seen.dirs.has(rd)) {
        ignored.push({ path: relative(root, d), reason: 'a link to a folder already read (a cycle or a duplicate)' });
        return;
      }
      seen.dirs.add(rd);
      for (const n of readdirSync(d).sort()) {
        const p = join(d, n);
        if (isDir(p)) walk(p);
        else if (!IMAGE_EXTENSIONS.some((e) => n.toLowerCase().endsWith(e)))
          ignored.push({ path: relative(root, p), reason: 'not an image file name' });
        else {
          const rp = real(p);
          const first = seen.files.get(rp);
          if (first) ignored.push({ path: relative(root, p), reason: `the same file as ${relative(root, first)}` });
          else {
            seen.files.set(rp, p);
            files.push(p);
          }
        }
      }
    };
    walk(join(dir, name));
    out.set(name, files);
  }
  return out;
}

/** Read a folder's layout. `valFolder` (from the schedule) overrides a val/ part inside `dir`. */
export function scanFolder(dir: string, valFolder?: string): FolderLayout {
  if (!isDir(dir))
    throw new UserError(
      `data.source '${dir}' is not a folder (give a folder with one sub-folder per class)`,
      EXIT_FAILURE,
      ['data', 'source'],
    );
  const ignored: SkippedFile[] = [];
  const parts = subdirs(dir);
  const valName = parts.find((p) => p === 'val' || p === 'validation');
  const split = parts.includes('train') && valName !== undefined;
  const trainDir = split ? join(dir, 'train') : dir;
  // the split's own folders are not class content: a link back to them is a cycle
  const seen: Seen = { dirs: new Set([real(dir), real(trainDir)]), files: new Map() };
  const train = classFolders(trainDir, dir, ignored, seen);
  const valSource = valFolder ?? (split ? join(dir, valName) : undefined);
  if (valFolder !== undefined && !isDir(valFolder))
    throw new UserError(`data.validation.folder '${valFolder}' is not a folder`, EXIT_FAILURE, [
      'data',
      'validation',
      'folder',
    ]);
  if (valSource) seen.dirs.add(real(valSource));
  const val = valSource ? classFolders(valSource, valSource, ignored, seen) : undefined;
  const classes = [...train.keys()];
  if (classes.length === 0)
    throw new UserError(`${trainDir} has no class folders; lay images out as ${trainDir}/<class name>/<image files>`);
  if (classes.length === 1)
    throw new UserError(
      `${trainDir} has a single class folder ('${classes[0]}'); a classifier needs at least two classes`,
    );
  for (const [name, files] of train)
    if (files.length === 0)
      throw new UserError(`class folder '${join(trainDir, name)}' holds no image files; add images or remove it`);
  if (val)
    for (const name of val.keys())
      if (!train.has(name))
        throw new UserError(
          `class '${name}' is only in the validation folder ${valSource}; add training images for it or remove it`,
        );
  const toFiles = (m: Map<string, string[]>) =>
    [...m].flatMap(([name, files]) => files.map((path) => ({ path, label: classes.indexOf(name) })));
  return { classes, train: toFiles(train), val: val ? toFiles(val) : undefined, ignored };
}

export type ResizeMode = 'cover' | 'contain' | 'stretch';

export interface DecodeOptions {
  height: number;
  width: number;
  channels: 1 | 3;
  resize: ResizeMode;
}

/** Decode one file to HWC uint8 pixels of exactly the requested size and channel count. */
export async function decodeImage(path: string, o: DecodeOptions): Promise<Uint8Array> {
  let img = sharp(path, { failOn: 'error' })
    .rotate() // honour EXIF orientation, as photo viewers do
    .resize(o.width, o.height, {
      fit: o.resize === 'stretch' ? 'fill' : o.resize,
      background: { r: 0, g: 0, b: 0, alpha: 1 },
    });
  // flatten alpha onto black, then the channel count the model expects
  img = img.flatten({ background: { r: 0, g: 0, b: 0 } });
  img = o.channels === 1 ? img.grayscale().toColourspace('b-w') : img.toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels === o.channels) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // sharp can keep a grey image single-channel under 'srgb': expand it
  const out = new Uint8Array(o.height * o.width * o.channels);
  for (let i = 0; i < o.height * o.width; i++)
    for (let c = 0; c < o.channels; c++)
      out[i * o.channels + c] = data[i * info.channels + Math.min(c, info.channels - 1)]!;
  return out;
}

/** A bounded least-recently-used cache of decoded images, shared by the train and val sources. */
export class DecodeCache {
  private readonly map = new Map<string, Uint8Array>();
  private bytes = 0;
  peakBytes = 0;
  hits = 0;
  misses = 0;
  constructor(readonly maxBytes: number) {}
  get(key: string): Uint8Array | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
      this.hits++;
    } else this.misses++;
    return v;
  }
  set(key: string, v: Uint8Array): void {
    if (v.byteLength > this.maxBytes) return;
    this.map.set(key, v);
    this.bytes += v.byteLength;
    for (const [k, old] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= old.byteLength;
    }
    this.peakBytes = Math.max(this.peakBytes, this.bytes);
  }
  get size(): number {
    return this.map.size;
  }
}

/** Run `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export class ImageSource implements BatchSource {
  readonly labels: Int32Array;
  readonly shape: [number, number, number];
  private readonly affine: { scale: Float32Array; offset: Float32Array };
  constructor(
    readonly files: readonly ImageFile[],
    readonly classes: string[],
    private readonly decode: DecodeOptions,
    readonly preprocess: Preprocess,
    private readonly cache: DecodeCache,
  ) {
    this.labels = Int32Array.from(files.map((f) => f.label));
    this.shape = [decode.height, decode.width, decode.channels];
    this.affine = affineOf(preprocess, decode.channels);
  }

  private async pixels(path: string): Promise<Uint8Array> {
    const hit = this.cache.get(path);
    if (hit) return hit;
    const px = await decodeImage(path, this.decode);
    this.cache.set(path, px);
    return px;
  }

  async batch(idx: readonly number[], augment?: AugmentRequest): Promise<Float32Array> {
    const [h, w, c] = this.shape;
    const per = h * w * c;
    const x = new Float32Array(idx.length * per);
    const imgs = await pool(idx, 8, (i) => this.pixels(this.files[i]!.path));
    imgs.forEach((px, k) => {
      for (let j = 0; j < per; j++) x[k * per + j] = px[j]!;
    });
    // augment raw pixels (0–255), then preprocess
    if (augment) augmentBatch(x, idx, this.shape, augment);
    const { scale, offset } = this.affine;
    for (let j = 0; j < x.length; j++) x[j] = x[j]! * scale[j % c]! + offset[j % c]!;
    return x;
  }

  /** Same files, a subset of them (for splits). */
  pick(idx: readonly number[]): ImageSource {
    return new ImageSource(
      idx.map((i) => this.files[i]!),
      this.classes,
      this.decode,
      this.preprocess,
      this.cache,
    );
  }
}

/**
 * Decode every file once (filling the cache as far as it reaches). Files that fail are returned as
 * skipped, or throw with `strict`.
 */
export async function checkFiles(
  files: readonly ImageFile[],
  decode: DecodeOptions,
  cache: DecodeCache,
  strict: boolean,
  root: string,
): Promise<{ ok: ImageFile[]; skipped: SkippedFile[] }> {
  const results = await pool(files, 8, async (f) => {
    try {
      const px = await decodeImage(f.path, decode);
      cache.set(f.path, px);
      return undefined;
    } catch (err) {
      return (err as Error).message.split('\n')[0]!;
    }
  });
  const skipped: SkippedFile[] = [];
  const ok: ImageFile[] = [];
  files.forEach((f, i) => {
    const reason = results[i];
    if (reason === undefined) ok.push(f);
    else skipped.push({ path: relative(root, f.path), reason });
  });
  if (strict && skipped.length > 0)
    throw new UserError(
      `${skipped[0]!.path} cannot be decoded (${skipped[0]!.reason})${skipped.length > 1 ? ` and ${skipped.length - 1} more file(s)` : ''}; remove them or run without --strict to skip them`,
    );
  return { ok, skipped };
}
