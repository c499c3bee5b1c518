// The wasm heap guard on stand-ins for tfjs-wasm's backend and engine: what it does after a full heap or a
// trap (the end-to-end case, MobileNetV2 out of memory on 2 threads, is in guarantees.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guardWasmHeap } from '../src/backend/wasm-alloc.js';

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
