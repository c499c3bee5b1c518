// The wasm heap guard on stand-ins for tfjs-wasm's backend and engine: what it does after a full heap or a
// trap (the end-to-end case, MobileNetV2 out of memory on 2 threads, is in guarantees.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { guardWasmHeap } from '../src/backend/wasm-alloc.js';
import { ROOT } from './helpers.js';

function standIns(mallocReturns: number, moveTraps = false) {
  const freed: object[] = [];
  const ids = new Map<object, number>();
  const backend = {
    wasm: { _malloc: (_bytes: number) => mallocReturns } as {
      _malloc(bytes: number): number;
      onAbort?: (w: unknown) => void;
    },
    dataIdMap: ids,
    disposeData(dataId: object) {
      freed.push(dataId);
      ids.delete(dataId);
      return true;
    },
    move(..._args: unknown[]) {
      if (moveTraps) throw new WebAssembly.RuntimeError('memory access out of bounds');
    },
  };
  let kernels = 0;
  const engine = {
    runKernelFunc(outcome: unknown) {
      kernels++;
      if (outcome === 'trap') throw new WebAssembly.RuntimeError('memory access out of bounds');
      if (outcome === 'error') throw new Error('a shape error');
      return 'ran';
    },
  };
  guardWasmHeap(backend, engine);
  return { backend, engine, freed, ids, kernels: () => kernels };
}

test('a malloc that returns 0 throws an out-of-memory error instead of handing out address 0', () => {
  const { backend } = standIns(0);
  assert.throws(() => backend.wasm._malloc(1024), /out of memory: the wasm heap could not hold 1024 more bytes/);
  assert.equal(standIns(64).backend.wasm._malloc(1024), 64);
});

test('after a trap in a kernel, disposing only forgets the tensor and no kernel runs again', () => {
  const s = standIns(64);
  const [a, b] = [{}, {}];
  s.ids.set(a, 1).set(b, 2);
  s.backend.disposeData(a);
  assert.deepEqual(s.freed, [a], 'before the trap, disposing reaches the module');
  assert.equal(s.engine.runKernelFunc('ok'), 'ran');
  assert.throws(() => s.engine.runKernelFunc('trap'), WebAssembly.RuntimeError);
  assert.equal(s.backend.disposeData(b), true);
  assert.deepEqual(s.freed, [a], 'after it, the module is not called');
  assert.equal(s.ids.has(b), false, 'but the tensor is forgotten');
  assert.throws(() => s.engine.runKernelFunc('ok'), /the wasm module failed earlier/);
  assert.equal(s.kernels(), 2, 'the kernel after the trap never reached the module');
});

test('an abort and a trap while placing a tensor mark the module dead too; other errors do not', () => {
  const aborted = standIns(64);
  aborted.backend.wasm.onAbort?.('OOM');
  assert.throws(() => aborted.engine.runKernelFunc('ok'), /failed earlier/);

  const placed = standIns(64, true);
  assert.throws(() => placed.backend.move(), WebAssembly.RuntimeError);
  assert.throws(() => placed.engine.runKernelFunc('ok'), /failed earlier/);

  const plain = standIns(64);
  assert.throws(() => plain.engine.runKernelFunc('error'), /a shape error/);
  assert.equal(plain.engine.runKernelFunc('ok'), 'ran');
});

/**
 * A process that starts the watchdog (stall 1 s, the heap "full" at 4 pages; `memory`: an expression for
 * the heap it reads) and then does `then`.
 */
function watched(then: string, memory = 'undefined') {
  const url = pathToFileURL(join(ROOT, 'dist/src/backend/wasm-watchdog.js')).href;
  const script = `
const { startWasmWatchdog } = await import(${JSON.stringify(url)});
const w = startWasmWatchdog(1, 4, ${memory});
await w.ready;
const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
${then}
`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { ...r, seconds: (Date.now() - t0) / 1000 };
}

test('the watchdog ends a process whose kernel never returns with the heap full, with one line; nothing else', async () => {
  const { STALL_MESSAGE } = await import('../src/backend/wasm-watchdog.js');
  // heap at its limit, then a kernel that never returns (the main thread spins, as the threaded build's does)
  const stuck = watched('w.enter(); w.exit(5 * 65536); w.enter(); spin(8000);');
  assert.equal(stuck.signal, 'SIGKILL');
  assert.ok(stuck.seconds < 6, `ended within seconds, not after the 8 s spin: ${stuck.seconds}`);
  assert.equal(stuck.stderr.trim(), STALL_MESSAGE);
  // the same long kernel with room on the heap, and a long pause outside any kernel with the heap full, run on
  assert.equal(watched('w.enter(); w.exit(65536); w.enter(); spin(3000); w.exit(65536);').status, 0);
  assert.equal(watched('w.enter(); w.exit(5 * 65536); spin(3000);').status, 0);
  // the heap filled inside the call that hangs (nothing recorded at a call's end): read from the memory
  const heap = 'new WebAssembly.Memory({ initial: 5, maximum: 8, shared: true })';
  const inside = watched('w.enter(); spin(8000);', heap);
  assert.deepEqual([inside.signal, inside.stderr.trim()], ['SIGKILL', STALL_MESSAGE]);
  assert.equal(watched('w.enter(); spin(3000); w.exit(65536);', heap.replace('initial: 5', 'initial: 2')).status, 0);
});
