// Every kernel freezeflow registers on the wasm backend, in the order it registers them. Order is
// precedence: a row registers in front of whatever the kernel name had (wasm's own, or an earlier row)
// and falls back to it where it does not apply, so the SIMD rows come after the composed ones they
// back onto. Each row says what it expects to sit in front of; registering records what it found, and a
// test holds the two equal. doctor prints this table.
import * as tf from '../tf.js';
import type { KernelEntry } from './kernel-entry.js';
import { convFilterGrad } from './wasm/conv-filter-grad.js';
import { depthwiseFilterGrad } from './wasm/depthwise-filter-grad.js';
import { depthwiseInputGrad } from './wasm/depthwise-input-grad.js';
import { tile } from './wasm/tile.js';
import { convInputGrad } from './wasm/conv-input-grad.js';
import { segmentSum } from './wasm/segment-sum.js';
import { sum } from './wasm/sum.js';
import { mean } from './wasm/mean.js';
import { fusedBatchNorm } from './wasm/fused-batchnorm.js';
import { maxPoolGrad } from './wasm/max-pool-grad.js';
import { castSame, identity } from './wasm/identity.js';
import { reverse } from './wasm/reverse.js';
import { slice } from './wasm/slice.js';
import { clipGrad, clipGradient } from './wasm/clip-grad.js';
import { simdDepthwiseFilterGrad } from './kernels/depthwise-filter-grad.js';
import { simdDepthwiseInputGrad } from './kernels/depthwise-input-grad.js';
import { simdConvFilterGrad } from './kernels/conv-filter-grad.js';
import { simdConvInputGrad } from './kernels/conv-input-grad.js';
import { adamUpdate } from './kernels/adam-update.js';
import { simdMaxPoolGrad } from './kernels/max-pool-grad.js';
import { simdConvForward } from './kernels/conv-forward.js';
import { simdMatMul } from './kernels/batch-matmul.js';
import { simdHardSwish } from './kernels/hard-swish.js';
import { batchNormTrain } from './kernels/batchnorm-train.js';

export type { KernelEntry };

export const WASM_KERNELS: readonly KernelEntry[] = [
  convFilterGrad,
  depthwiseFilterGrad,
  depthwiseInputGrad,
  tile,
  convInputGrad,
  segmentSum,
  sum,
  mean,
  fusedBatchNorm,
  maxPoolGrad,
  identity,
  castSame,
  reverse,
  slice,
  clipGrad,
  clipGradient,
  // the SIMD module's kernels, in front of the composed ones above where both exist
  simdDepthwiseFilterGrad,
  simdDepthwiseInputGrad,
  simdConvFilterGrad,
  simdConvInputGrad,
  simdMaxPoolGrad,
  simdConvForward,
  simdMatMul,
  simdHardSwish,
  adamUpdate,
  batchNormTrain,
];

/** What each kernel name had when its row registered, in table order. */
export interface Registration {
  kernel: string;
  row: number;
  found: KernelEntry['over'];
}

const found: Registration[] = [];

function foundFor(entry: KernelEntry, kernel: string, ours: ReadonlySet<string>): KernelEntry['over'] {
  if (entry.impl === 'gradient') return tf.getGradient(kernel) ? 'tfjs-gradient' : 'none';
  if (!tf.getKernel(kernel, 'wasm')) return 'none';
  return ours.has(kernel) ? 'composed' : 'wasm';
}

/** Register the table on the wasm backend, in order (once per process). */
export function registerWasmKernels(): void {
  if (found.length > 0) return;
  const ours = new Set<string>();
  WASM_KERNELS.forEach((entry, row) => {
    for (const kernel of entry.kernels) found.push({ kernel, row, found: foundFor(entry, kernel, ours) });
    entry.register();
    for (const kernel of entry.kernels) ours.add(kernel);
  });
}

/** What registering found in front of each row's kernels (empty before registerWasmKernels). */
export const registrations = (): readonly Registration[] => found;
