// Where a training step's time goes on wasm (`npm run bench -- --profile`): every wasm kernel is wrapped
// with a timer that keeps its own time apart from the kernels it calls (a composed kernel runs tf ops
// inside), so the parts add up to the kernels' total and the rest of the step is JavaScript between them.
// wasm kernels run synchronously, so wall-clock time around a call is the kernel's time, threads included.
import * as tf from '../tf.js';
import { WASM_KERNELS } from './kernel-table.js';

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

/** Which of the step's parts a kernel's own time belongs to: freezeflow's rows (by impl), XNNPACK, the rest. */
export function kernelCategory(name: string): KernelCategory {
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
  const inner: number[] = []; // per open call: the time of the kernels it called
  const originals = tf.getKernelsForBackend('wasm');
  for (const k of originals) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        inner.push(0);
        const t0 = performance.now();
        try {
          return k.kernelFunc(args);
        } finally {
          const ms = performance.now() - t0;
          const own = ms - inner.pop()!;
          if (inner.length > 0) inner[inner.length - 1]! += ms;
          const t = times.get(k.kernelName) ?? { ms: 0, calls: 0 };
          times.set(k.kernelName, { ms: t.ms + own, calls: t.calls + 1 });
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
