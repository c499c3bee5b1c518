// Both cores for the wasm backend. tfjs ships a threaded SIMD wasm build but never uses it under Node
// (tfjs#3830): it hands emscripten's pthread workers blob: URLs, which Node's worker_threads cannot
// load, and the C side caps the XNNPACK thread pool at "logical cores / 2" (1 on a 2-core machine).
// We write the worker script and the threaded module factory (both taken from the installed bundle)
// to files, point emscripten at them, and report as many logical cores as needed for the requested
// pool size while the module initialises. Same kernels, same results; XNNPACK ops (conv, matmul,
// depthwise, pooling) split their output tiles over the pool.
import { wasmPoolWorkers } from '../core/tfjs-internals.js';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import * as tf from '../tf.js';

const require = createRequire(import.meta.url);

const FACTORY_START = '    var WasmBackendModuleThreadedSimd = (function () {';
const FACTORY_END = '    module.exports = WasmBackendModuleThreadedSimd;';
const WORKER_PREFIX = 'var wasmWorkerContents = ';
// The worker imports the factory from a blob URL; we load it from our file instead.
const WORKER_IMPORT = /if\(typeof e\.data\.urlOrBlob=="string"\)\{importScripts\(e\.data\.urlOrBlob\)\}else\{[^}]*\}/;
// The bundle's factory refers to the modules it was bundled with under these names.
const FACTORY_PRELUDE =
  "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks')," +
  "require$$4=require('os');var commonjsGlobal=globalThis;\n";

export interface ThreadFiles {
  worker: string;
  factory: string;
}

/**
 * Threads to use by default: every core Node may run on, but at most 2 for small images (under 64×64
 * pixels, such as the builtin 28×28 digits) when known: there each op is too small to split further,
 * and idle pool threads spin-waiting slow the small elementwise ops. With those ops fused into the SIMD
 * kernels, 2 threads run the main job (28×28) in 51.6 s against 59.3 s on 1 (2 cores); before, 2
 * threads ran 0.51–1.33× as fast as 1 on resnet-mini over four bench runs.
 */
export function defaultThreads(inputPixels?: number): number {
  const cores = Math.max(1, os.availableParallelism());
  return inputPixels !== undefined && inputPixels < 64 * 64 ? Math.min(2, cores) : cores;
}

/**
 * XNNPACK's pool for `threads` threads: 1 for images under 64×64 on 2 threads. There its ops are too
 * small to split, and its idle worker spin-waits on the core that freezeflow's SIMD kernels split their
 * work onto (their own helper thread, which the threaded build's shared heap allows): the main job ran
 * in 25.2 s instead of 30.6 s (2-core Intel Xeon), same weights. On 160×160 networks it made no
 * difference beyond noise (−6 % to +8 % a cell), so larger images keep the whole pool.
 */
export function xnnpackPool(threads: number, inputPixels?: number): number {
  return threads === 2 && inputPixels !== undefined && inputPixels < 64 * 64 ? 1 : threads;
}

/**
 * The worker script is executed, so it lives in a folder only this user can write: TMP/freezeflow-UID
 * (mode 0700, ours, not a link). Anything else found there (another user's folder, one left open) is not
 * trusted: a fresh private folder is made instead.
 */
export function privateDir(): string {
  const uid = process.getuid?.();
  const base = join(os.tmpdir(), `freezeflow-${uid ?? os.userInfo().username}`);
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const st = lstatSync(base);
  const ours = st.isDirectory() && !st.isSymbolicLink() && (uid === undefined || st.uid === uid);
  if (ours && (st.mode & 0o077) === 0) return base;
  return mkdtempSync(join(os.tmpdir(), 'freezeflow-'));
}

function writeAtomically(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path); // concurrent runs (compare --jobs) never see half a file
}

/** Extract the worker and factory from the installed tfjs-backend-wasm bundle; throws with the reason. */
export function writeThreadFiles(dir?: string): ThreadFiles {
  const bundlePath = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js');
  const lines = readFileSync(bundlePath, 'utf8').split('\n');
  const start = lines.indexOf(FACTORY_START);
  const end = lines.indexOf(FACTORY_END);
  const workerLine = lines.find((l) => l.startsWith(WORKER_PREFIX));
  if (start < 0 || end < start || !workerLine)
    throw new Error('this version of @tensorflow/tfjs-backend-wasm has an unexpected bundle layout');
  const factory = FACTORY_PRELUDE + lines.slice(start, end).join('\n') + '\n';
  const contents = JSON.parse(workerLine.slice(WORKER_PREFIX.length).replace(/;\s*$/, '')) as string;
  const hash = createHash('sha256').update(factory).update(contents).digest('hex').slice(0, 12);
  const where = dir ?? join(privateDir(), `wasm-threads-${hash}`);
  mkdirSync(where, { recursive: true, mode: 0o700 });
  const files = { worker: join(where, 'worker.cjs'), factory: join(where, 'factory.cjs') };
  if (!WORKER_IMPORT.test(contents)) throw new Error('the wasm worker script has an unexpected layout');
  // The bundle escapes newlines inside the worker's string literals the same way before making its blob.
  const worker = contents.replace(WORKER_IMPORT, `importScripts(${JSON.stringify(files.factory)});`);
  const workerText = worker.replace(/\n/g, '\\n');
  // A worker that fails to parse would crash the process from an error event; check both first.
  new vm.Script(factory, { filename: files.factory });
  new vm.Script(workerText, { filename: files.worker });
  writeAtomically(files.factory, factory);
  writeAtomically(files.worker, workerText);
  return files;
}

/** Why threads cannot work in this process, or undefined when they can. */
export function threadsUnsupported(): string | undefined {
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'this Node has no shared WebAssembly memory';
  }
  return undefined;
}

/**
 * Switch the (not yet initialised) wasm backend to its threaded build with `threads` XNNPACK threads.
 * Returns a function to call once tf.setBackend('wasm') has finished.
 */
export function enableWasmThreads(threads: number, setThreadsCount: (n: number) => void): () => void {
  const files = writeThreadFiles();
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (obj: Blob | MediaSource) =>
    obj instanceof Blob && obj.type === 'application/javascript' ? files.worker : createObjectURL(obj);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  // The C side sizes its pool as min(requested, logical cores / 2), read once while the module starts.
  const cpus = os.cpus;
  os.cpus = () => {
    const real = cpus();
    return Array.from({ length: Math.max(2 * threads, real.length) }, (_, i) => real[i % real.length]!);
  };
  // URL.createObjectURL stays patched: emscripten may start more workers later.
  return () => {
    os.cpus = cpus;
  };
}

/**
 * The pool's threads live as long as the process; without unref they would keep it from exiting. A
 * thread's uncaught error (a trap once the heap is full) reaches emscripten's `onerror`, which rethrows
 * it on the main thread, where the module's uncaughtException handler throws again: a stack trace and
 * exit 7. `onError` takes it instead.
 */
export function adoptPoolWorkers(onError: (e: unknown) => void): void {
  for (const w of wasmPoolWorkers(tf.backend())) {
    w.unref();
    w.onerror = onError;
  }
}
