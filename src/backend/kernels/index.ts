// freezeflow's SIMD kernels for the wasm backend, one file per kernel (src/backend/simd/kernels.c); the
// order they register in, and what each falls back to, is src/backend/kernel-table.ts.
export { ADAM_UPDATE, type AdamUpdateAttrs } from './adam-update.js';
export { batchNormTraining } from './batchnorm-train.js';
