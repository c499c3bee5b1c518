// Kernel outputs and scratch on tfjs' wasm heap, checked. tfjs-wasm's makeOutput does not look at what
// malloc returned: when the 4 GB heap cannot grow it is 0, and a kernel that then writes there overwrites
// the runtime's own data (with threads, its locks: the process spun forever instead of failing).
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

interface Allocator<D extends DataType> {
  makeOutput(shape: number[], dtype: D): TensorInfo;
  getMemoryOffset(dataId: object): number;
}

/** makeOutput, or an out-of-memory error (which the run reports as such) when the heap is full. */
export function checkedOutput<D extends DataType>(b: Allocator<D>, shape: number[], dtype: D): TensorInfo {
  const t = b.makeOutput(shape, dtype);
  if (b.getMemoryOffset(t.dataId) === 0 && shape.every((d) => d > 0))
    throw new Error(`out of memory: the wasm heap could not hold a [${shape.join(', ')}] ${dtype} tensor`);
  return t;
}
