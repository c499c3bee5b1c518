// A second thread for freezeflow's SIMD kernels: a worker running the same module on tfjs-wasm's shared
// heap (the threaded build only). A kernel splits its work in two, hands one half to the helper, runs
// the other itself and waits: synchronous, like every tfjs kernel. The handshake is one Int32 in a
// SharedArrayBuffer (0 idle, 1 work posted, 2 done, 3 stop).
import { Worker } from 'node:worker_threads';

const SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, control } = workerData;
const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const ctl = new Int32Array(control);
const names = ${JSON.stringify(['conv_filter_grad_rows', 'conv_input_grad', 'conv_forward_rows'])};
for (;;) {
  // sleep until work is posted (1) or stop (3); 2 (done, not yet seen by the caller) is not work
  let state;
  while ((state = Atomics.load(ctl, 0)) !== 1 && state !== 3) Atomics.wait(ctl, 0, state);
  if (state === 3) break;
  k[names[ctl[1]]](...Array.from(ctl.subarray(3, 3 + ctl[2])));
  Atomics.store(ctl, 0, 2);
  Atomics.notify(ctl, 0);
}
`;

export type HelperKernel = 'conv_filter_grad_rows' | 'conv_input_grad' | 'conv_forward_rows';
const INDEX: Record<HelperKernel, number> = { conv_filter_grad_rows: 0, conv_input_grad: 1, conv_forward_rows: 2 };

export interface SimdHelper {
  /** Start `fn` on the helper thread (every argument an int32: pointers and sizes). */
  start(fn: HelperKernel, args: readonly number[]): void;
  /** Wait for it; false if the helper did not answer (then the caller runs that half itself). */
  wait(): boolean;
}

/** A helper on `memory` running the module `bytes`; one per process. */
export function makeHelper(memory: WebAssembly.Memory, bytes: Uint8Array): SimdHelper {
  const control = new SharedArrayBuffer(4 * 32);
  const ctl = new Int32Array(control);
  const worker = new Worker(SOURCE, { eval: true, workerData: { memory, bytes, control } });
  worker.unref();
  let broken = false;
  worker.on('error', () => (broken = true));
  return {
    start(fn, args) {
      ctl[1] = INDEX[fn];
      ctl[2] = args.length;
      ctl.set(args, 3);
      Atomics.store(ctl, 0, 1);
      Atomics.notify(ctl, 0);
    },
    wait() {
      // a worker that failed to start never answers: 30 s, then the caller does the work
      const until = Date.now() + 30_000;
      while (!broken && Atomics.load(ctl, 0) !== 2 && Date.now() < until) Atomics.wait(ctl, 0, 1, 100);
      const done = Atomics.load(ctl, 0) === 2;
      Atomics.store(ctl, 0, 0);
      if (!done) broken = true;
      return done;
    },
  };
}
