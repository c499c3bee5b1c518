// The committed SIMD modules are what their source builds to: rebuilt and compared byte for byte where
// Debian's clang (the recorded version) and lld are installed, else checked against the recorded hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

const DIR = join(ROOT, 'src/backend/simd');
const recorded = readFileSync(join(DIR, 'kernels.sha256'), 'utf8');
const compiler = /^compiler (.*)$/m.exec(recorded)?.[1];
const sha = (f: string) =>
  createHash('sha256')
    .update(readFileSync(join(DIR, f)))
    .digest('hex');

test('kernels.c and the committed modules are the ones recorded in kernels.sha256', () => {
  for (const f of ['kernels.c', 'kernels.wasm', 'kernels-shared.wasm']) {
    const line = new RegExp(`^(source|module) ([0-9a-f]{64})  ${f.replace('.', '\\.')}$`, 'm').exec(recorded);
    assert.ok(line, `${f} is recorded`);
    assert.equal(sha(f), line[2], `${f} changed without scripts/build-kernels.sh`);
  }
});

/** The ids of a wasm binary's sections, in order. */
function sectionIds(b: Buffer): number[] {
  const ids: number[] = [];
  let p = 8;
  const leb = () => {
    let r = 0;
    let shift = 0;
    let x: number;
    do {
      x = b[p++]!;
      r |= (x & 127) << shift;
      shift += 7;
    } while (x & 128);
    return r >>> 0;
  };
  while (p < b.length) {
    ids.push(b[p++]!);
    const size = leb(); // not `p += leb()`: that reads p before leb moves it
    p += size;
  }
  return ids;
}

test("the modules own no memory: they import tfjs-wasm's (plain or shared) and have no data segments", () => {
  for (const f of ['kernels.wasm', 'kernels-shared.wasm']) {
    const bytes = readFileSync(join(DIR, f));
    // 11: data, 12: data count; a data segment would be written into tfjs' heap at instantiation
    assert.ok(!sectionIds(bytes).some((id) => id === 11 || id === 12), `${f} has data`);
    assert.ok(sectionIds(bytes).includes(10), 'the parser reads the code section');
    const m = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(m), [{ module: 'env', name: 'memory', kind: 'memory' }]);
    assert.deepEqual(
      WebAssembly.Module.exports(m)
        .map((e) => e.name)
        .sort(),
      [
        'adam_update',
        'add_into',
        'bn_backward',
        'bn_moments',
        'bn_normalize',
        'clip_grad',
        'conv_filter_grad_rows',
        'conv_input_grad',
        'depthwise_filter_grad',
        'depthwise_input_grad',
        'pointwise_filter_grad',
        'sum_into',
      ],
    );
  }
});

const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
const version = clang.status === 0 ? clang.stdout.split('\n')[0] : undefined;
const canBuild = version === compiler && spawnSync('wasm-ld', ['--version']).status === 0;

test(
  'rebuilding from kernels.c gives the committed modules byte for byte',
  {
    skip:
      !canBuild &&
      !process.env['FREEZEFLOW_REQUIRE_CLANG'] &&
      `needs ${compiler ?? 'the recorded clang'} and wasm-ld (found: ${version ?? 'no clang'})`,
  },
  () => {
    const r = spawnSync('bash', [join(ROOT, 'scripts/build-kernels.sh'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /the committed modules are what .* builds from kernels\.c/);
  },
);
