// Where a training step's time goes on wasm (`npm run bench -- --profile`): every wasm kernel is wrapped
// with a timer that keeps its own time apart from the kernels it calls (a composed kernel runs tf ops
// inside), so the parts add up to the kernels' total and the rest of the step is JavaScript between them.
// wasm kernels run synchronously, so wall-clock time around a call is the kernel's time, threads included.
import * as tf from '../tf.js';
import { WASM_KERNELS } from './kernel-table.js';
import { fallbacks } from './wasm/register.js';

/** Kernels tfjs' wasm backend runs through XNNPACK: convolutions, matrix products, pooling. */
const XNNPACK = new Set([
  'Conv2D',
  'FusedConv2D',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2D',
  'BatchMatMul',
  '_FusedMatMul',
  'MaxPool',
  'AvgPool',
]);

export type KernelCategory = 'freezeflow simd' | 'freezeflow composed' | 'freezeflow heap' | 'XNNPACK' | 'other tfjs';

/** How the profile names a call that one of our kernels handed to the kernel it replaced. */
export const STOCK = ' (stock)';

/** Which of the step's parts a kernel's own time belongs to: freezeflow's rows (by impl), XNNPACK, the rest. */
export function kernelCategory(name: string): KernelCategory {
  if (name.endsWith(STOCK)) return XNNPACK.has(name.slice(0, -STOCK.length)) ? 'XNNPACK' : 'other tfjs';
  const row = [...WASM_KERNELS].reverse().find((r) => r.kernels.includes(name) && r.impl !== 'gradient');
  if (row) return `freezeflow ${row.impl as 'simd' | 'composed' | 'heap'}`;
  return XNNPACK.has(name) ? 'XNNPACK' : 'other tfjs';
}

export interface KernelProfile {
  /** Own milliseconds and calls per kernel name since the last reset. */
  read(): Map<string, { ms: number; calls: number }>;
  reset(): void;
  /** Put the kernels back as they were. */
  stop(): void;
}

/** Time every kernel registered on wasm from now until stop(). */
export function profileWasmKernels(): KernelProfile {
  const times = new Map<string, { ms: number; calls: number }>();
  // per open call: the time of the kernels it called, and their hand-overs to stock kernels
  const inner: { ms: number; fell: number }[] = [];
  const originals = tf.getKernelsForBackend('wasm');
  for (const k of originals) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        inner.push({ ms: 0, fell: 0 });
        const [t0, f0] = [performance.now(), fallbacks.count];
        try {
          return k.kernelFunc(args);
        } finally {
          const [ms, fell] = [performance.now() - t0, fallbacks.count - f0];
          const mine = inner.pop()!;
          const parent = inner.at(-1);
          if (parent) [parent.ms, parent.fell] = [parent.ms + ms, parent.fell + fell];
          // this call itself (not one inside it) ran the kernel ours replaced
          const name = fell > mine.fell ? `${k.kernelName}${STOCK}` : k.kernelName;
          const t = times.get(name) ?? { ms: 0, calls: 0 };
          times.set(name, { ms: t.ms + ms - mine.ms, calls: t.calls + 1 });
        }
      },
    });
  }
  return {
    read: () => new Map(times),
    reset: () => times.clear(),
    stop: () => {
      for (const k of originals) {
        tf.unregisterKernel(k.kernelName, 'wasm');
        tf.registerKernel(k);
      }
    },
  };
}
