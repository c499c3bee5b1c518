// Backend selection: the fastest backend that really works here, and why the others were skipped.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import * as tf from '../tf.js';
import { registerWasmKernels } from './kernel-table.js';
import { adoptPoolWorkers, defaultThreads, enableWasmThreads, threadsUnsupported } from './wasm-threads.js';
import { probeWebgpu, registerWebgpu } from './webgpu.js';
import { BackendUnavailableError } from './errors.js';
import { guardWasmHeap, type EngineLike, type WasmBackendLike } from './wasm-alloc.js';
import { heapFull, onWasmThreadError, startWasmWatchdog } from './wasm-watchdog.js';
import { wasmHeap } from '../core/tfjs-internals.js';
import { kernelsBuild, simdHelper } from './simd.js';
import { installLeanBackprop } from './lean-backprop.js';

export { probeWebgpu };

import { BACKENDS, type BackendChoice, type KernelsBuild } from './names.js';

export { BACKENDS, type BackendChoice };

/** A --backend value checked against BACKENDS (a usage error otherwise). */
export function backendChoice(v: string): BackendChoice {
  if (!(BACKENDS as readonly string[]).includes(v))
    throw new BackendUnavailableError(`--backend must be one of ${BACKENDS.join(', ')} (got '${v}')`);
  return v as BackendChoice;
}

export interface BackendReport {
  name: Exclude<BackendChoice, 'auto'>;
  tfjsBackend: string;
  skipped: { name: string; reason: string }[];
  /** What the chosen backend runs on (GPU adapter name, CUDA device), when known. */
  device?: string;
  /** webgpu on a CPU rasterizer (only by explicit choice). */
  software?: boolean;
  /** wasm: threads the run computes on (XNNPACK's pool, or 2 where freezeflow's kernels split their work), and why fewer than asked for. */
  threads?: number;
  threadsNote?: string;
  /** wasm: XNNPACK's pool, where smaller than `threads`. */
  pool?: number;
  /** wasm: which build of freezeflow's SIMD kernels runs (their rounding differs), or off. */
  kernels?: KernelsBuild;
}

export interface BackendOptions {
  /** wasm threads (default: every core, at most 8); 1 uses the single-threaded build. */
  threads?: number;
  /** wasm: XNNPACK's thread pool, at most `threads` (default: `threads`; see xnnpackPool). */
  pool?: number;
}

const require = createRequire(import.meta.url);

// PROD silences tfjs's console banners ("install the node backend…") that would break machine-readable
// output, and skips debug-only checks.
tf.env().set('PROD', true);

/** For commands that only read models (inspect, plan --model): no compute, so the plain cpu backend. */
export async function initInspectionBackend(): Promise<void> {
  await tf.setBackend('cpu');
}

export function tryNative(pkg: string): string | undefined {
  try {
    require(pkg);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(pkg)
      ? `${pkg} is not installed (opt-in: npm install --no-save ${pkg}${pkg.endsWith('-gpu') ? '; it needs CUDA 11.2 + cuDNN 8.1 and downloads libtensorflow' : ''})`
      : `${pkg} failed to load: ${String(e.message).split('\n')[0]}`;
  }
}

export interface GpuProbe {
  gpu: boolean;
  detail: string;
}

/**
 * tfjs-node-gpu silently runs on the CPU when it cannot load CUDA 11.2 / cuDNN 8.1 (tfjs#8269). The
 * binding exposes no device list, but libtensorflow logs device creation and failed library loads, so a
 * child process with TF logging on runs one op and we read its stderr.
 */
export function probeTensorflowGpu(): GpuProbe {
  const script =
    "const tf=require('@tensorflow/tfjs-node-gpu');tf.matMul(tf.ones([64,64]),tf.ones([64,64])).dataSync();";
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const log = `${r.stderr ?? ''}`;
  // TF 2.9: "Created device /job:localhost/…/device:GPU:0 with 14647 MB memory:  -> device: 0, name: Tesla T4, …"
  const device = /Created device \S*GPU:\d+.*?name: ([^,]+)/.exec(log);
  if (device) return { gpu: true, detail: device[1]!.trim() };
  const missing = /Could not load dynamic library '([^']+)'/.exec(log);
  if (missing)
    return {
      gpu: false,
      detail: `TensorFlow could not load ${missing[1]} and runs on the CPU (tfjs-node-gpu 4.x needs CUDA 11.2 + cuDNN 8.1)`,
    };
  if (r.status !== 0)
    return { gpu: false, detail: `the probe failed: ${log.trim().split('\n').at(-1) ?? r.error?.message}` };
  return { gpu: false, detail: 'TensorFlow created no GPU device (no CUDA GPU visible?)' };
}

/** Set up the threaded wasm build, or say why the single-threaded one runs instead. */
function prepareThreads(
  threads: number,
  setThreadsCount: (n: number) => void,
): { restore?: () => void; note: string | undefined } {
  const why = threadsUnsupported();
  if (why) return { note: `single-threaded: ${why}` };
  try {
    return { restore: enableWasmThreads(threads, setThreadsCount), note: undefined };
  } catch (err) {
    return { note: `single-threaded: ${(err as Error).message}` };
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
export async function initBackend(choice: BackendChoice = 'auto', opts: BackendOptions = {}): Promise<BackendReport> {
  // FREEZEFLOW_LEAN_BACKPROP=0: tfjs' own backward pass, which holds every gradient to its end (to compare)
  if (process.env['FREEZEFLOW_LEAN_BACKPROP'] !== '0') installLeanBackprop();
  const skipped: { name: string; reason: string }[] = [];
  const order: Exclude<BackendChoice, 'auto'>[] =
    choice === 'auto' ? ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    if (name === 'webgpu') {
      const probe = await probeWebgpu();
      if (!probe.adapter) {
        skipped.push({ name, reason: probe.reason! });
        continue;
      }
      // a CPU rasterizer is far slower than wasm: only an explicit --backend webgpu uses it
      if (probe.software && choice === 'auto') {
        skipped.push({ name, reason: `software adapter (${probe.name}), slower than wasm, not picked` });
        continue;
      }
      await registerWebgpu(probe);
      if (await use('webgpu'))
        return {
          name,
          tfjsBackend: 'webgpu',
          skipped,
          device: probe.name,
          ...(probe.software ? { software: true } : {}),
        };
      skipped.push({ name, reason: `adapter ${probe.name} found, but the webgpu backend did not initialise` });
    } else if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      const why = tryNative(pkg);
      if (why) {
        skipped.push({ name, reason: why });
        continue;
      }
      let device: string | undefined;
      if (name === 'tensorflow-gpu') {
        const probe = probeTensorflowGpu();
        if (!probe.gpu) {
          skipped.push({ name, reason: probe.detail });
          continue;
        }
        device = probe.detail;
      }
      if (await use('tensorflow')) return { name, tfjsBackend: 'tensorflow', skipped, device };
      skipped.push({ name, reason: `${pkg} loaded but the 'tensorflow' backend did not initialise` });
    } else if (name === 'wasm') {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        registerWasmKernels();
        quietWasmAbort();
        const wanted = Math.min(8, opts.threads ?? defaultThreads());
        const pool = Math.max(1, Math.min(wanted, opts.pool ?? wanted));
        // the threaded build whenever wanted > 1: its shared heap gives the SIMD kernels their helper
        const threads = wanted > 1 ? prepareThreads(pool, wasm.setThreadsCount) : { note: undefined };
        const ok = await use('wasm');
        threads.restore?.();
        if (ok)
          return { name, tfjsBackend: 'wasm', skipped, ...wasmThreads(wasm.getThreadsCount(), wanted, threads.note) };
        skipped.push({
          name,
          reason: `the wasm backend did not initialise${threads.restore ? ' (threaded build; try --threads 1)' : ''}`,
        });
      } catch (err) {
        skipped.push({ name, reason: `@tensorflow/tfjs-backend-wasm failed to load: ${(err as Error).message}` });
      }
    } else {
      if (await use('cpu')) return { name, tfjsBackend: 'cpu', skipped };
      skipped.push({ name, reason: 'the cpu backend did not initialise' });
    }
  }
  throw new BackendUnavailableError(
    `backend '${choice}' is not available: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')} ('freezeflow doctor' lists what this machine has)`,
  );
}

/** The running wasm backend's threads and kernels, as the report gives them; starts the heap guard. */
function wasmThreads(poolSize: number, wanted: number, why: string | undefined) {
  const got = Math.max(1, poolSize);
  const threads = Math.max(got, simdHelper(tf.backend()) ? 2 : 1);
  const heap = wasmHeap(tf.backend());
  guardHeap(threads, heap);
  adoptPoolWorkers(onWasmThreadError(heap));
  const note = why ?? (threads < wanted ? `asked for ${wanted}, the pool has ${got}` : undefined);
  const kernels = kernelsBuild(tf.backend());
  return { threads, kernels, ...(got < threads ? { pool: got } : {}), ...(note ? { threadsNote: note } : {}) };
}

/** Whether the running wasm backend's heap has reached its 4 GB limit (a trap then is out of memory). */
export function wasmHeapFull(): boolean {
  return heapFull(tf.getBackend() === 'wasm' ? wasmHeap(tf.backend()) : undefined);
}

/** The wasm heap guard; a helper thread out of memory never returns, so the threaded build gets the watchdog. */
function guardHeap(threads: number, heap: WebAssembly.Memory | undefined): void {
  const backend = tf.backend() as unknown as WasmBackendLike;
  const watchdog = () => startWasmWatchdog(undefined, undefined, heap);
  guardWasmHeap(backend, tf.engine() as unknown as EngineLike, threads > 1 ? watchdog : undefined);
}

const ABORT_LINE = /^Aborted\([^\n]*\)\n?$/;

/**
 * emscripten prints "Aborted()" on stderr before it throws (wasm out of memory ends that way); the
 * error reaches freezeflow, which reports it in its own one line, so that print is dropped. It goes
 * through console.warn (the single-threaded build) or fs.writeSync(2) (the threaded one).
 */
function quietWasmAbort(): void {
  const marked = process.stderr as NodeJS.WriteStream & { freezeflowQuiet?: true };
  if (marked.freezeflowQuiet) return;
  marked.freezeflowQuiet = true;
  const write = process.stderr.write.bind(process.stderr) as (...args: unknown[]) => boolean;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    typeof chunk === 'string' && ABORT_LINE.test(chunk) ? true : write(chunk, ...rest)) as typeof process.stderr.write;
  const writeSync = fs.writeSync as (...args: unknown[]) => number;
  (fs as { writeSync: unknown }).writeSync = (fd: unknown, data: unknown, ...rest: unknown[]) =>
    fd === 2 && typeof data === 'string' && ABORT_LINE.test(data) ? data.length : writeSync(fd, data, ...rest);
}
