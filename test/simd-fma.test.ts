// The relaxed-SIMD build fuses the conv gradients' multiply-adds (one rounding instead of two). Both
// builds are run here on the same inputs and held to the worst-case rounding bound of a float32 sum
// against a float64 reference: |got − exact| ≤ γ(n)·Σ|terms|, γ(n) = n·u/(1 − n·u), u = 2⁻²⁴.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIMD_DIR, simdBuild, type SimdKernels } from '../src/backend/simd.js';
import { rng } from '../src/core/random.js';
import { cli, tempDir, tinySchedule, writeSchedule } from './helpers.js';

const U = 2 ** -24;
const gamma = (n: number) => (n * U) / (1 - n * U);

/** One build's kernels on a fresh 16 MiB memory, with a bump allocator for float32 arrays. */
function load(file: string) {
  const memory = new WebAssembly.Memory({ initial: 256 });
  const bytes = readFileSync(join(SIMD_DIR(), file));
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as unknown as SimdKernels;
  let top = 65536;
  const put = (values: Float32Array | number) => {
    const n = typeof values === 'number' ? values : values.length;
    const at = top;
    top += 4 * n + 64;
    if (typeof values !== 'number') new Float32Array(memory.buffer, at, n).set(values);
    return at;
  };
  const read = (at: number, n: number) => new Float32Array(memory.buffer, at, n).slice();
  return { k, put, read };
}

function normals(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
}

/** Each output's float64 value, the sum of its terms' magnitudes, and the number of terms. */
type Reference = { exact: Float64Array; mag: Float64Array; terms: Int32Array };

function reference(size: number, each: (add: (o: number, a: number, b: number) => void) => void): Reference {
  const r = { exact: new Float64Array(size), mag: new Float64Array(size), terms: new Int32Array(size) };
  each((o, a, b) => {
    r.exact[o]! += a * b;
    r.mag[o]! += Math.abs(a * b);
    r.terms[o]! += 1;
  });
  return r;
}

/** The largest error as a fraction of its bound (≤ 1 passes), with the final add into the output counted. */
function worst(got: Float32Array, ref: Reference): number {
  let w = 0;
  for (let i = 0; i < got.length; i++) {
    const bound = gamma(ref.terms[i]! + 2) * ref.mag[i]! + Number.MIN_VALUE;
    w = Math.max(w, Math.abs(got[i]! - ref.exact[i]!) / bound);
  }
  return w;
}

/**
 * Every (input pixel, output pixel, filter tap) of a kk×kk window at stride 1 with 'same' padding over
 * `b` images of h×w: the pixels as indices into [b, h, w], the tap as ky·kk + kx.
 */
function taps(b: number, h: number, w: number, kk: number, visit: (i: number, o: number, t: number) => void) {
  const pad = (kk - 1) / 2;
  for (let n = 0; n < b; n++)
    for (let oy = 0; oy < h; oy++)
      for (let ox = 0; ox < w; ox++)
        for (let ky = 0; ky < kk; ky++)
          for (let kx = 0; kx < kk; kx++) {
            const [iy, ix] = [oy - pad + ky, ox - pad + kx];
            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
              visit((n * h + iy) * w + ix, (n * h + oy) * w + ox, ky * kk + kx);
          }
}

type Case = { name: string; ref: Reference; run: (m: ReturnType<typeof load>) => Float32Array };

/** dW = Xᵀ·dY over 2048 rows (16 chunks), 12 × 16 channels. */
function pointwise(): Case {
  const [rows, ci, co] = [2048, 12, 16];
  const x = normals(rows * ci, 1);
  const dy = normals(rows * co, 2);
  const ref = reference(ci * co, (add) => {
    for (let p = 0; p < rows; p++)
      for (let i = 0; i < ci; i++) for (let j = 0; j < co; j++) add(i * co + j, x[p * ci + i]!, dy[p * co + j]!);
  });
  const run = ({ k, put, read }: ReturnType<typeof load>) => {
    const out = put(ci * co);
    k.pointwise_filter_grad(put(x), put(dy), out, rows, ci, co);
    return read(out, ci * co);
  };
  return { name: 'pointwise filter gradient', ref, run };
}

/** A 3×3 conv's input gradient, stride 1, padding 1: 2 images of 9×9, 5 → 16 channels. */
function convInput(): Case {
  const [b, h, w, ci, co, kk] = [2, 9, 9, 5, 16, 3];
  const dy = normals(b * h * w * co, 3);
  const wt = normals(kk * kk * ci * co, 4);
  const ref = reference(b * h * w * ci, (add) =>
    taps(b, h, w, kk, (i, o, t) => {
      for (let c = 0; c < ci; c++)
        for (let j = 0; j < co; j++) add(i * ci + c, dy[o * co + j]!, wt[(t * ci + c) * co + j]!);
    }),
  );
  const run = ({ k, put, read }: ReturnType<typeof load>) => {
    const cols = (kk * kk * ci + 7) & ~7;
    const dx = put(b * h * w * ci);
    k.conv_input_grad(put(dy), put(wt), dx, put(co * cols + 128 * cols), b, h, w, ci, h, w, co, kk, kk, 1, 1, 1, 1);
    return read(dx, b * h * w * ci);
  };
  return { name: 'conv input gradient', ref, run };
}

/** A 3×3 depthwise conv's filter gradient, stride 1, padding 1: 2 images of 12×12, 21 channels (16 + 4 + 1). */
function depthwiseFilter(): Case {
  const [b, h, w, c, kk] = [2, 12, 12, 21, 3];
  const x = normals(b * h * w * c, 5);
  const dy = normals(b * h * w * c, 6);
  const ref = reference(kk * kk * c, (add) =>
    taps(b, h, w, kk, (i, o, t) => {
      for (let ch = 0; ch < c; ch++) add(t * c + ch, x[i * c + ch]!, dy[o * c + ch]!);
    }),
  );
  const run = ({ k, put, read }: ReturnType<typeof load>) => {
    const dw = put(kk * kk * c);
    k.depthwise_filter_grad(put(x), put(dy), dw, b, h, w, c, h, w, kk, kk, 1, 1, 1, 1);
    return read(dw, kk * kk * c);
  };
  return { name: 'depthwise filter gradient', ref, run };
}

const hasFma = /\bfma\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

test('the relaxed-SIMD build runs on this Node (feature-detected; the flag is set before the module is compiled)', () => {
  assert.equal(simdBuild().relaxed, true, simdBuild().why);
});

test('both builds keep the conv gradients within the float32 rounding bound of a float64 reference; the relaxed one really fuses', () => {
  simdBuild(); // sets V8's relaxed-SIMD flag where it is needed
  const [plain, relaxed] = [load('kernels.wasm'), load('kernels-relaxed.wasm')];
  for (const c of [pointwise(), convInput(), depthwiseFilter()]) {
    const [p, r] = [c.run(plain), c.run(relaxed)];
    assert.ok(worst(p, c.ref) <= 1, `${c.name}, SIMD128: ${worst(p, c.ref)} of the bound`);
    assert.ok(worst(r, c.ref) <= 1, `${c.name}, relaxed SIMD: ${worst(r, c.ref)} of the bound`);
    const differ = p.some((v, i) => v !== r[i]);
    // without FMA in the CPU V8 lowers relaxed_madd to a multiply and an add: the same numbers
    assert.equal(
      differ,
      hasFma,
      `${c.name}: the builds ${differ ? 'differ' : 'agree'} on a CPU ${hasFma ? 'with' : 'without'} FMA`,
    );
  }
});

test('doctor says which build runs; FREEZEFLOW_FMA=0 keeps SIMD128', () => {
  const wasm = (env: Record<string, string>) => {
    const doctor = JSON.parse(cli(['doctor', '--json'], { env }).stdout) as {
      backends: { name: string; detail: string }[];
    };
    return doctor.backends.find((b) => b.name === 'wasm')!.detail;
  };
  assert.match(wasm({}), /freezeflow's SIMD kernels \(src\/backend\/simd, relaxed SIMD: fused multiply-add\)/);
  assert.match(
    wasm({ FREEZEFLOW_FMA: '0' }),
    /freezeflow's SIMD kernels \(src\/backend\/simd, SIMD128: FREEZEFLOW_FMA=0\)/,
  );
});

test('environment.json records the kernels; a resume on other kernels warns that it is not bit-identical, on the same ones it does not', () => {
  const dir = tempDir();
  const file = writeSchedule(dir, tinySchedule(200, '  - { name: a, epochs: 3 }\n'));
  const kernels = (out: string) =>
    (JSON.parse(readFileSync(join(dir, out, 'environment.json'), 'utf8')) as { kernels?: string }).kernels;
  // killed in the second epoch (6 batches an epoch), after the first epoch's checkpoint
  const start = (out: string, env: Record<string, string>) =>
    cli(['train', '-s', file, '--out', join(dir, out), '--quiet', '--backend', 'wasm'], {
      env: { ...env, FREEZEFLOW_FAULT: 'batch:9' },
    });
  assert.equal(start('other', { FREEZEFLOW_FMA: '0' }).code, null, 'killed');
  assert.equal(kernels('other'), 'simd128');
  const other = cli(['train', '--resume', join(dir, 'other'), '--quiet']);
  assert.equal(other.code, 0, other.stderr);
  assert.match(
    other.stderr,
    /^warning: this run started on the simd128 SIMD kernels and resumes on relaxed-simd: it continues, but not bit-identically to an uninterrupted run \(FREEZEFLOW_FMA=0 resumes on the same kernels\)$/m,
  );
  assert.equal(kernels('other'), 'relaxed-simd');
  assert.equal(start('same', {}).code, null, 'killed');
  const same = cli(['train', '--resume', join(dir, 'same'), '--quiet']);
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stderr, /SIMD kernels/);
});
