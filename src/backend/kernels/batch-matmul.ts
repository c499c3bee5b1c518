// Matrix products with a transposed operand (every dense layer's gradients: dx = dy·Wᵀ, dW = xᵀ·dy). tfjs-
// wasm's BatchMatMul takes 15–50 ms for those on a 576×1024 layer at batch 32, where the same product
// without transposes takes 0.7 ms. Here Aᵀ·B is the SIMD module's Σ_p a[p][i]·b[p][j] (the 1×1 conv filter
// gradient's kernel) where the shared axis is long, and otherwise the operand is transposed explicitly
// before tfjs' own product. Their rounding differs from tfjs-wasm's, so like the conv forward they run
// with the relaxed-SIMD build only.
import * as tf from '../../tf.js';
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import { simdBuild, simdCall, type SimdKernels, type WasmBackend } from '../simd.js';
import { asOutput, asTensor, registerDirect, type WasmBackendInternals } from '../wasm/register.js';
import type { KernelEntry } from '../kernel-entry.js';

type Attrs = { transposeA: boolean; transposeB: boolean };

/** The kernel itself (undefined: a case it leaves to tfjs-wasm); exported for the tests. */
export function simdBatchMatMul(args: {
  inputs: Record<string, TensorInfo | undefined>;
  backend: unknown;
  attrs?: NamedAttrMap;
}): TensorInfo | undefined {
  const { b, simd } = simdCall(args.backend);
  const { a: x, b: y } = args.inputs;
  const { transposeA, transposeB } = args.attrs as unknown as Attrs;
  if (!simd || !simdBuild().relaxed || !x || !y || (!transposeA && !transposeB)) return undefined;
  if (x.dtype !== 'float32' || y.dtype !== 'float32' || x.shape.length < 2 || y.shape.length < 2) return undefined;
  const [batchA, batchB] = [x.shape.slice(0, -2), y.shape.slice(0, -2)];
  // the same leading (batch) dimensions on both sides; broadcasting ones go to tfjs-wasm
  if (batchA.length !== batchB.length || batchA.some((d, i) => d !== batchB[i])) return undefined;
  // Aᵀ·B on the SIMD module where the shared axis is long enough to keep its blocks busy (K ≥ 64:
  // 0.2–3 ms where tfjs-wasm takes 3–50); over fewer rows the transpose and tfjs' product are faster
  if (transposeA && !transposeB && x.shape.at(-2)! >= 64) return productAtB(b, simd, x, y, batchA);
  const wb = b as unknown as WasmBackendInternals;
  const swap = (t: tf.Tensor) => tf.transpose(t, [...batchA.map((_, i) => i), t.rank - 1, t.rank - 2]);
  const [ta, tb] = [asTensor(wb, x), asTensor(wb, y)];
  try {
    const out = tf.tidy(() => tf.matMul(transposeA ? swap(ta) : ta, transposeB ? swap(tb) : tb));
    return asOutput(wb, out);
  } finally {
    tf.dispose([ta, tb]);
  }
}

/** Aᵀ·B per batch entry: A is K × M, B is K × N, the result M × N. */
function productAtB(b: WasmBackend, simd: SimdKernels, x: TensorInfo, y: TensorInfo, batch: number[]) {
  const [k, m] = x.shape.slice(-2) as [number, number];
  const n = y.shape.at(-1)!;
  const out = b.makeOutput([...batch, m, n], 'float32');
  const [pa, pb, po] = [x, y, out].map((t) => b.getMemoryOffset(t.dataId)) as [number, number, number];
  for (let i = 0; i < tf.util.sizeFromShape(batch); i++)
    simd.pointwise_filter_grad(pa + 4 * i * k * m, pb + 4 * i * k * n, po + 4 * i * m * n, k, m, n);
  return out;
}

export const simdMatMul: KernelEntry = {
  kernels: ['BatchMatMul'],
  impl: 'simd',
  over: 'wasm',
  what: 'products with a transposed operand: Aᵀ·B on the SIMD module, B transposed first; relaxed SIMD only',
  register: () => registerDirect('BatchMatMul', simdBatchMatMul),
};
