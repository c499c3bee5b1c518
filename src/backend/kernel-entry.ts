// One row of the wasm kernel table (src/backend/kernel-table.ts): what a kernel provides, how, and what
// it sits in front of.

export interface KernelEntry {
  /** The tfjs kernels it registers on wasm; for a gradient, the op whose gradient it replaces. */
  kernels: readonly string[];
  /**
   * simd: freezeflow's SIMD module (src/backend/simd); composed: tf ops on wasm's XNNPACK kernels;
   * heap: a loop over the wasm heap in JavaScript; gradient: a gradient function.
   */
  impl: 'simd' | 'composed' | 'heap' | 'gradient';
  /**
   * What it is registered in front of, and falls back to where it does not apply: wasm's own kernel, an
   * earlier row of the table (composed), tfjs' own gradient, or nothing (a kernel new to wasm).
   */
  over: 'wasm' | 'composed' | 'tfjs-gradient' | 'none';
  /** For doctor: what it is for, in a few words. */
  what: string;
  register(): void;
}
