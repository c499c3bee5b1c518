// The backend names, apart from backend/index.ts so the CLI can offer them without loading tfjs.
export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

/** Which build of freezeflow's SIMD kernels a wasm run used (their rounding differs), or none. */
export type KernelsBuild = 'relaxed-simd' | 'simd128' | 'off';
