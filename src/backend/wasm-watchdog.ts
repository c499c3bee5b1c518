// The threaded wasm build's one failure that cannot end by itself: when the 4 GB heap fills while a
// helper thread runs its part of a kernel, that thread dies and the main thread waits for it forever,
// spinning (EfficientNet-B0, every layer, 160×160, batch 16, 2 threads), or dies holding the allocator's
// lock, and the next malloc or free spins (batch 64, outside any kernel). No JavaScript runs on the main
// thread again, so a worker watches instead: the main thread counts kernels and heap calls in and out,
// and the worker reads the heap's size; when one has been running for `stallSeconds` with the heap at its
// limit, the watchdog says what happened and what to change, and ends the process (SIGKILL, exit 137:
// nothing can unwind a thread that never returns). Checkpoints already written stay as they are.
import { Worker } from 'node:worker_threads';
import { writeSync } from 'node:fs';

/** 4 GB less 16 MB, in 64 KiB pages: the heap cannot grow past 4 GB. */
const FULL_PAGES = 65536 - 256;
const [DEPTH, BEATS, PAGES] = [0, 1, 2];

export interface WasmWatchdog {
  /** A kernel starts. */
  enter(): void;
  /** A kernel ended; the heap is `heapBytes` now. */
  exit(heapBytes: number): void;
  stop(): void;
  /** Resolves once the watchdog polls (a test spins only after it does). */
  ready: Promise<void>;
}

export const STALL_MESSAGE =
  'freezeflow: training stopped: the wasm heap is full (4 GB) and a kernel or allocation has not returned; on the threaded build a helper thread that runs out of memory never does, so the process ends here (the checkpoints written so far are kept). Lower data.batchSize (training.accumulate keeps the effective batch), or train with --threads 1, which fails with an out-of-memory message instead';

// runs as CommonJS or as a module (an eval worker takes the parent's --input-type); polls once a second
const SOURCE = `
Promise.all([import('node:worker_threads'), import('node:fs')]).then(([{ workerData, parentPort }, { writeSync }]) => {
  const { shared, stallMs, fullPages, message, memory } = workerData;
  // the heap's size now (a shared memory shows its growth on every thread), else at the last kernel's end
  const pages = () => Math.max(Atomics.load(shared, ${PAGES}), memory ? memory.buffer.byteLength / 65536 : 0);
  let beats = Atomics.load(shared, ${BEATS}), since = Date.now();
  setInterval(() => {
    const now = Atomics.load(shared, ${BEATS});
    if (now !== beats || Atomics.load(shared, ${DEPTH}) === 0) { beats = now; since = Date.now(); return; }
    if (pages() < fullPages || Date.now() - since < stallMs) return;
    writeSync(2, '\\n' + message + '\\n'); // a worker's process.stderr goes through the stuck main thread
    process.kill(process.pid, 'SIGKILL');
  }, 1000);
  parentPort.postMessage('watching');
});
`;

/** Whether `memory` (a wasm heap) has reached its limit: a trap then is the heap running out. */
export function heapFull(memory: WebAssembly.Memory | undefined): boolean {
  return memory !== undefined && memory.buffer.byteLength / 65536 >= FULL_PAGES;
}

/** The one line for a wasm pool thread's uncaught error (a trap), by whether the heap had filled. */
function threadFailedMessage(full: boolean, what: string): string {
  return full
    ? `freezeflow: training stopped: the wasm heap is full (4 GB) and one of its threads failed (${what}); the checkpoints written so far are kept. Lower data.batchSize (training.accumulate keeps the effective batch), or train with --threads 1, which fails with an out-of-memory message instead`
    : `freezeflow: training stopped: a wasm thread failed (${what}); the checkpoints written so far are kept (--threads 1 runs without threads)`;
}

/**
 * For a pool thread's uncaught error (an event on the main thread). Where the main thread's own failure
 * was reported already (the same trap there), nothing more is said; otherwise one line, and the process
 * ends: the module is unusable.
 */
export function onWasmThreadError(memory: WebAssembly.Memory | undefined): (e: unknown) => void {
  return (e) => {
    if (process.exitCode) return;
    const full = heapFull(memory);
    const what = e instanceof Error ? e.message : String((e as { message?: unknown } | undefined)?.message ?? e);
    writeSync(2, `${threadFailedMessage(full, what)}\n`);
    process.exit(1);
  };
}

/**
 * Start watching (FREEZEFLOW_WASM_STALL_S overrides the 120 s a kernel may run with the heap full).
 * `memory`: the module's shared heap, read while a kernel runs (it can fill inside one).
 */
export function startWasmWatchdog(
  stallSeconds = Number(process.env['FREEZEFLOW_WASM_STALL_S'] ?? 120),
  fullPages = FULL_PAGES,
  memory?: WebAssembly.Memory,
): WasmWatchdog {
  const shared = new Int32Array(new SharedArrayBuffer(12));
  const worker = new Worker(SOURCE, {
    eval: true,
    workerData: { shared, stallMs: stallSeconds * 1000, fullPages, message: STALL_MESSAGE, memory },
  });
  worker.unref();
  worker.on('error', () => undefined); // a watchdog that fails must not take the run with it
  const ready = new Promise<void>((resolve) => worker.once('message', () => resolve()));
  return {
    ready,
    enter: () => void Atomics.add(shared, DEPTH, 1),
    exit: (heapBytes) => {
      Atomics.sub(shared, DEPTH, 1);
      Atomics.add(shared, BEATS, 1);
      Atomics.store(shared, PAGES, Math.floor(heapBytes / 65536));
    },
    stop: () => void worker.terminate(),
  };
}
