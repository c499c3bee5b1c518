// freezeflow's own SIMD kernels (src/backend/simd/kernels.c, built by scripts/build-kernels.sh and
// committed, so users need no compiler), instantiated on tfjs-wasm's own heap: a pointer is a tensor's
// memory offset, nothing is copied in or out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import type * as tf from '../tf.js';
import type { KernelBackend, TensorInfo } from '../tf.js';
import { packageRoot } from '../core/paths.js';
import { wasmHeap } from '../core/tfjs-internals.js';
import { makeHelper, type SimdHelper } from './simd-pool.js';
import type { KernelsBuild } from './names.js';

type Ptr = number;

/** Both depthwise gradients and the max-pool gradient: two inputs, the output, then the window geometry (NHWC). */
type DepthwiseKernel = (
  a: Ptr,
  b: Ptr,
  out: Ptr,
  batch: number,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
) => void;

export interface SimdKernels {
  depthwise_filter_grad: DepthwiseKernel;
  depthwise_input_grad: DepthwiseKernel;
  max_pool_grad: DepthwiseKernel;
  add_into(dst: Ptr, src: Ptr, n: number): void;
  pointwise_filter_grad(x: Ptr, dy: Ptr, dw: Ptr, rows: number, ci: number, co: number): void;
  conv_input_grad(
    dy: Ptr,
    filter: Ptr,
    dx: Ptr,
    scratch: Ptr,
    batch: number,
    h: number,
    w: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
  ): void;
  sum_into(dw: Ptr, a: Ptr, b: Ptr, n: number): void;
  pack_filter(filter: Ptr, packed: Ptr, k: number, co: number): void;
  conv_forward_rows(
    x: Ptr,
    packed: Ptr,
    bias: Ptr,
    y: Ptr,
    scratch: Ptr,
    p0: number,
    p1: number,
    h: number,
    w: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    act: number,
  ): void;
  conv_filter_grad_rows(
    x: Ptr,
    dy: Ptr,
    dwPadded: Ptr,
    scratch: Ptr,
    p0: number,
    p1: number,
    h: number,
    w: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
  ): void;
  adam_update(
    w: Ptr,
    g: Ptr,
    m: Ptr,
    v: Ptr,
    accBeta1: Ptr,
    accBeta2: Ptr,
    wOut: Ptr,
    mOut: Ptr,
    vOut: Ptr,
    n: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    eps: number,
    negLr: number,
    decay: number,
    decayed: number,
  ): void;
  clip_grad(x: Ptr, dy: Ptr, dx: Ptr, n: number, lo: number, hi: number): void;
  hard_swish(x: Ptr, dy: Ptr, out: Ptr, n: number, grad: number): void;
  bn_moments(x: Ptr, mean: Ptr, variance: Ptr, scratch: Ptr, rows: number, c: number): void;
  bn_normalize(
    x: Ptr,
    mean: Ptr,
    variance: Ptr,
    gamma: Ptr,
    beta: Ptr,
    y: Ptr,
    scratch: Ptr,
    rows: number,
    c: number,
    eps: number,
  ): void;
  bn_backward(
    x: Ptr,
    dy: Ptr,
    mean: Ptr,
    variance: Ptr,
    gamma: Ptr,
    dx: Ptr,
    dgamma: Ptr,
    dbeta: Ptr,
    scratch: Ptr,
    rows: number,
    c: number,
    eps: number,
  ): void;
}

/** The public methods of tfjs' wasm backend the kernels use. */
export type WasmBackend = KernelBackend & {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  getMemoryOffset(dataId: object): number;
  disposeData(dataId: object, force?: boolean): boolean;
};

export const SIMD_DIR = () => join(packageRoot(), 'src/backend/simd');

/** The module for a plain or a shared heap, in the build this V8 runs (simdBuild). */
function moduleFile(shared: boolean): string {
  const stem = simdBuild().relaxed ? 'kernels-relaxed' : 'kernels';
  return join(SIMD_DIR(), `${stem}${shared ? '-shared' : ''}.wasm`);
}

let build: { relaxed: boolean; why: string } | undefined;

/**
 * Which build of the kernels runs: relaxed SIMD (fused multiply-add) where V8 compiles it, else SIMD128.
 * Node 20's V8 has relaxed SIMD behind a flag, which takes effect for modules compiled after it is set;
 * newer V8 has it on. FREEZEFLOW_FMA=0 keeps SIMD128 (its rounding is the one earlier versions had).
 */
export function simdBuild(): { relaxed: boolean; why: string } {
  if (build) return build;
  if (process.env['FREEZEFLOW_FMA'] === '0') return (build = { relaxed: false, why: 'SIMD128: FREEZEFLOW_FMA=0' });
  const bytes = readFileSync(join(SIMD_DIR(), 'kernels-relaxed.wasm'));
  if (!WebAssembly.validate(bytes)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  build = WebAssembly.validate(bytes)
    ? { relaxed: true, why: 'relaxed SIMD: fused multiply-add' }
    : { relaxed: false, why: 'SIMD128: this V8 has no relaxed SIMD' };
  return build;
}

const instances = new WeakMap<KernelBackend, SimdKernels | null>();
const helpers = new WeakMap<KernelBackend, SimdHelper>();

/** The second thread for `backend`'s SIMD kernels (threaded tfjs-wasm only). */
export function simdHelper(backend: KernelBackend): SimdHelper | undefined {
  return simdKernels(backend) ? helpers.get(backend) : undefined;
}
let unavailable: string | undefined;

/** The kernels on `backend`'s heap; null when it is not tfjs-wasm (or the module cannot be loaded). */
export function simdKernels(backend: KernelBackend): SimdKernels | null {
  // FREEZEFLOW_SIMD=0: tfjs' own and the composed kernels only (to compare, or to rule these out)
  if (process.env['FREEZEFLOW_SIMD'] === '0') return null;
  const known = instances.get(backend);
  if (known !== undefined) return known;
  const memory = wasmHeap(backend);
  let k: SimdKernels | null = null;
  if (memory) {
    const file = moduleFile(memory.buffer instanceof SharedArrayBuffer);
    try {
      const bytes = readFileSync(file);
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      k = instance.exports as unknown as SimdKernels;
      // the threaded build: a second thread for the kernels that split their work
      if (memory.buffer instanceof SharedArrayBuffer && process.env['FREEZEFLOW_SIMD_THREADS'] !== '1')
        helpers.set(backend, makeHelper(memory, bytes));
    } catch (err) {
      // the composed kernels still work: slower, not wrong
      unavailable = `${file}: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  instances.set(backend, k);
  return k;
}

/** Which SIMD kernels `backend` runs, as a run's environment.json records it. */
export function kernelsBuild(backend: KernelBackend): KernelsBuild {
  if (!simdKernels(backend)) return 'off';
  return simdBuild().relaxed ? 'relaxed-simd' : 'simd128';
}

/** For doctor: whether the SIMD kernels run on `backend`, which build, or why not. */
export function simdStatus(backend: KernelBackend): string {
  if (process.env['FREEZEFLOW_SIMD'] === '0') return "freezeflow's SIMD kernels off (FREEZEFLOW_SIMD=0)";
  return simdKernels(backend)
    ? `freezeflow's SIMD kernels (src/backend/simd, ${simdBuild().why})`
    : `freezeflow's SIMD kernels not loaded (${unavailable ?? 'no wasm heap'}): composed kernels instead`;
}

/** A kernel call's backend and its SIMD module (null where the kernels do not run). */
export function simdCall(backend: unknown): { b: WasmBackend; simd: SimdKernels | null } {
  const b = backend as WasmBackend;
  return { b, simd: simdKernels(b) };
}

/** Dilations of 1 (or none given): the only case the SIMD conv kernels take. */
export const undilated = (d: number | number[] | undefined): boolean =>
  d === undefined || (typeof d === 'number' ? d === 1 : d.every((v) => v === 1));

/** Output pixels per chunk of the conv gradients' scratch rows (kernels.c's PW_CHUNK). */
export const SIMD_CHUNK = 128;

/**
 * What the depthwise kernels take after their pointers, from tfjs' own conv arithmetic: batch, h, w,
 * channels, output h and w, kh, kw, strides, top and left padding.
 */
export function depthwiseGeometry(info: tf.backend_util.Conv2DInfo) {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ] as const;
}
