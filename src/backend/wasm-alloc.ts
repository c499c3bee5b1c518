// tfjs-wasm's heap, guarded. Two ways a full 4 GB heap broke a run instead of ending it with our
// out-of-memory line: malloc called from JavaScript returns 0, which tfjs-wasm does not check (the
// kernel then writes over the runtime's own data at address 0); and a trap inside the module (malloc
// itself running out of bounds, an abort from C++ new) can leave malloc's lock held on the threaded
// build, so every free during tfjs' unwinding (tidy disposes the scope's tensors) waited forever.
import type { WasmWatchdog } from './wasm-watchdog.js';

const GUARDED = Symbol('freezeflow.wasmGuard');

interface WasmModule {
  _malloc(bytes: number): number;
  HEAPU8?: Uint8Array;
  onAbort?: (what: unknown) => void;
  [GUARDED]?: true;
}
export interface WasmBackendLike {
  wasm?: WasmModule;
  dataIdMap: { delete(dataId: object): boolean };
  disposeData(dataId: object, force?: boolean): boolean;
  move(...args: unknown[]): void;
}
export interface EngineLike {
  runKernelFunc(...args: unknown[]): unknown;
}

/**
 * Guard the wasm backend (idempotent): a malloc of 0 throws, and after the module traps or aborts it is
 * dead — disposing only forgets the tensor, and running a kernel says the module failed earlier. With a
 * watchdog (the threaded build), every kernel is counted in and out for it.
 */
export function guardWasmHeap(backend: WasmBackendLike, engine: EngineLike, startWatchdog?: () => WasmWatchdog): void {
  const wasm = backend.wasm;
  if (!wasm || wasm[GUARDED]) return;
  wasm[GUARDED] = true;
  const watchdog = startWatchdog?.(); // once per module, like the guard
  let dead = false;
  const die = (): void => {
    dead = true;
  };
  // the watchdog counts kernels and heap calls in and out: a helper thread that dies holding the
  // allocator's lock leaves the next malloc or free spinning, inside a kernel or not
  const counted = <A extends unknown[], R>(f: (...args: A) => R) =>
    !watchdog
      ? f
      : (...args: A): R => {
          watchdog.enter();
          try {
            return f(...args);
          } finally {
            watchdog.exit(wasm.HEAPU8?.length ?? 0);
          }
        };
  const malloc = counted(wasm._malloc.bind(wasm));
  wasm._malloc = (bytes: number): number => {
    const at = malloc(bytes);
    if (at === 0 && bytes > 0) throw new Error(`out of memory: the wasm heap could not hold ${bytes} more bytes`);
    return at;
  };
  const chained = wasm.onAbort;
  wasm.onAbort = (what: unknown): void => (die(), chained?.(what));
  const dispose = counted(backend.disposeData.bind(backend));
  backend.disposeData = (dataId, force) => (dead ? (backend.dataIdMap.delete(dataId), true) : dispose(dataId, force));
  backend.move = watch(backend.move.bind(backend), die);
  const run = counted(engine.runKernelFunc.bind(engine));
  engine.runKernelFunc = watch((...args: unknown[]) => {
    if (dead) throw new WebAssembly.RuntimeError('memory access out of bounds (the wasm module failed earlier)');
    return run(...args);
  }, die);
}

/** f, calling die() before a WebAssembly trap leaves it. */
function watch<A extends unknown[], R>(f: (...args: A) => R, die: () => void): (...args: A) => R {
  return (...args: A): R => {
    try {
      return f(...args);
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) die();
      throw err;
    }
  };
}
