// builtin:mnist-0-4 and builtin:mnist-5-9: the 10,000 real MNIST digits shipped by the `mnist` package.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { UserError } from '../core/errors.js';
import type { Dataset } from './dataset.js';

const require = createRequire(import.meta.url);

export const BUILTIN_DATASETS: Record<string, number[]> = {
  'mnist-0-4': [0, 1, 2, 3, 4],
  'mnist-5-9': [5, 6, 7, 8, 9],
  mnist: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
};

function digits(d: number): number[] {
  const file = require.resolve(`mnist/src/digits/${d}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
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
