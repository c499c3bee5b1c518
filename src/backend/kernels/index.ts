// freezeflow's SIMD kernels for the wasm backend, one file per kernel (src/backend/simd/kernels.c).
import { registerAdamUpdate } from './adam-update.js';
import { registerSimdDepthwiseFilterGrad } from './depthwise-filter-grad.js';
import { registerSimdDepthwiseInputGrad } from './depthwise-input-grad.js';
import { registerSimdConvFilterGrad } from './conv-filter-grad.js';
import { registerSimdConvInputGrad } from './conv-input-grad.js';
import { registerBatchNormTraining } from './batchnorm-train.js';

export { ADAM_UPDATE, type AdamUpdateAttrs } from './adam-update.js';
export { batchNormTraining } from './batchnorm-train.js';

const KERNELS = [
  registerSimdDepthwiseFilterGrad,
  registerSimdDepthwiseInputGrad,
  registerSimdConvFilterGrad,
  registerSimdConvInputGrad,
  registerAdamUpdate,
  registerBatchNormTraining,
];

let registered = false;

/** After registerWasmTrainingKernels: the SIMD kernels take over where they apply (idempotent). */
export function registerSimdKernels(): void {
  if (registered) return;
  registered = true;
  for (const register of KERNELS) register();
}
