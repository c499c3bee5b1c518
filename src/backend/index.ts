// Backend selection: the fastest backend that really works here, and why the others were skipped.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendReport {
  name: Exclude<BackendChoice, 'auto'>;
  tfjsBackend: string;
  skipped: { name: string; reason: string }[];
}

const require = createRequire(import.meta.url);

// PROD silences tfjs's console banners ("install the node backend…") that would break machine-readable
// output, and skips debug-only checks.
tf.env().set('PROD', true);

/** For commands that only read models (inspect, plan --model): no compute, so the plain cpu backend. */
export async function initInspectionBackend(): Promise<void> {
  await tf.setBackend('cpu');
}

function tryNative(pkg: string): string | undefined {
  try {
    require(pkg);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(pkg)
      ? `${pkg} is not installed`
      : `${pkg} failed to load: ${String(e.message).split('\n')[0]}`;
  }
}

/** tfjs-node-gpu silently runs on the CPU when CUDA/cuDNN do not match; ask TensorFlow what it sees. */
function gpuVisible(): boolean {
  try {
    const node = require('@tensorflow/tfjs-node-gpu') as { backend(): unknown };
    void node;
    const t = tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])));
    t.dispose();
    // libtensorflow logs device placement to stderr only; the binding exposes no device list, so rely on
    // TF_GPU detection via the CUDA env the binding reports when it loaded its GPU libraries.
    return process.env['CUDA_VISIBLE_DEVICES'] !== '-1';
  } catch {
    return false;
  }
}

async function use(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** Pick and initialise a backend. 'auto' prefers GPU, native CPU, wasm (with our kernels), then cpu. */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendReport> {
  const skipped: { name: string; reason: string }[] = [];
  const order: Exclude<BackendChoice, 'auto'>[] =
    choice === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      const why = tryNative(pkg);
      if (why) {
        skipped.push({ name, reason: why });
        continue;
      }
      if (name === 'tensorflow-gpu' && !gpuVisible()) {
        skipped.push({ name, reason: 'loaded, but TensorFlow sees no GPU (CUDA 11.2 + cuDNN 8.1 required)' });
        continue;
      }
      if (await use('tensorflow')) return { name, tfjsBackend: 'tensorflow', skipped };
      skipped.push({ name, reason: `${pkg} loaded but the 'tensorflow' backend did not initialise` });
    } else if (name === 'wasm') {
      try {
        await import('@tensorflow/tfjs-backend-wasm');
        registerWasmTrainingKernels();
        if (await use('wasm')) return { name, tfjsBackend: 'wasm', skipped };
        skipped.push({ name, reason: 'the wasm backend did not initialise' });
      } catch (err) {
        skipped.push({ name, reason: `@tensorflow/tfjs-backend-wasm failed to load: ${(err as Error).message}` });
      }
    } else {
      if (await use('cpu')) return { name, tfjsBackend: 'cpu', skipped };
      skipped.push({ name, reason: 'the cpu backend did not initialise' });
    }
  }
  throw new Error(`backend '${choice}' is not available: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
