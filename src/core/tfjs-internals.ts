// Every use of a tfjs internal outside its public API, in one audited place, each with why. A tfjs
// upgrade checks this file (and the wasm kernels' WasmBackendInternals, src/backend/wasm/register.ts).
// Only types are imported: the functions work on the objects they are handed.
import type * as tf from '../tf.js';

/**
 * A layer's own weight lists: the parameters it *could* train, whatever its trainable flag says now
 * (layer.trainableWeights is empty while the layer is frozen).
 */
export function weightLists(layer: tf.layers.Layer): { trainable: tf.LayerVariable[]; fixed: tf.LayerVariable[] } {
  const w = layer as unknown as { _trainableWeights?: tf.LayerVariable[]; _nonTrainableWeights?: tf.LayerVariable[] };
  return { trainable: w._trainableWeights ?? [], fixed: w._nonTrainableWeights ?? [] };
}

/**
 * Which of a shared layer's inbound nodes belongs to `model`: tfjs records them in the model's
 * containerNodes as '<name>_ib-<i>' (needed to rewire nested models for caching and BatchNorm folding).
 */
export function nodeBookkeeping(model: tf.LayersModel, layer: tf.layers.Layer): { nodes: Set<string>; count: number } {
  const nodes = (model as unknown as { containerNodes: Set<string> }).containerNodes;
  const count = (layer as unknown as { inboundNodes: unknown[] }).inboundNodes.length;
  return { nodes, count };
}

export type LayerCall = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/**
 * Replace a layer's call(): tfjs does not pass `training` into nested models and BatchNorm ignores
 * `trainable`, so the training flag is set per layer by wrapping its call.
 */
export function wrapLayerCall(layer: tf.layers.Layer, wrap: (original: LayerCall) => LayerCall): void {
  const target = layer as unknown as { call: LayerCall };
  target.call = wrap(target.call.bind(layer) as LayerCall);
}

/**
 * Adam's running β1^t and β2^t (tfjs multiplies them step by step, but setWeights recomputes them with
 * pow, which differs in the last bits after a few dozen steps): saved and put back so a resume is exact.
 */
export function adamAccumulators(opt: tf.Optimizer): tf.Variable[] {
  const o = opt as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  return o.accBeta1 && o.accBeta2 ? [o.accBeta1, o.accBeta2] : [];
}

/** A Dropout layer's seed (tfjs keeps it private; its call reads it each time). */
export function setLayerSeed(layer: tf.layers.Layer, seed: number | undefined): void {
  (layer as unknown as { seed?: number }).seed = seed;
}

/** SGD and Momentum cache the lr as a tensor and need setLearningRate; Adam and RMSProp read the field. */
export function setOptimizerLr(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** A pthread of emscripten's pool: a Node Worker whose 'error' events go to `onerror`. */
export interface PoolWorker {
  unref(): void;
  onerror: (e: unknown) => void;
}

/** The wasm backend's pthread pool workers (emscripten's module), when the wasm backend runs. */
export function wasmPoolWorkers(backend: tf.KernelBackend): PoolWorker[] {
  const wasm = (backend as unknown as { wasm?: { PThread?: { runningWorkers: PoolWorker[] } } }).wasm;
  return wasm?.PThread?.runningWorkers ?? [];
}

/** Wrap a backend's synchronous read (tfjs-backend-webgpu's needs OffscreenCanvas, absent in Node). */
export function wrapReadSync(
  backend: tf.KernelBackend,
  wrap: (original: (id: object) => unknown) => (id: object) => unknown,
): void {
  const b = backend as unknown as { readSync: (id: object) => unknown };
  b.readSync = wrap(b.readSync.bind(backend));
}

/**
 * The wasm backend's heap: emscripten keeps the memory it made for the threaded build as wasmMemory,
 * the single-threaded build's module exports its own. freezeflow's SIMD kernels import it, so their
 * pointers are tensors' memory offsets.
 */
export function wasmHeap(backend: tf.KernelBackend): WebAssembly.Memory | undefined {
  const wasm = (backend as unknown as { wasm?: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: unknown } } }).wasm;
  const m = wasm?.wasmMemory ?? wasm?.asm?.memory;
  return m instanceof WebAssembly.Memory ? m : undefined;
}

export interface AdamSlot {
  originalName: string;
  variable: tf.Variable;
}

/** What a fused Adam step reads and updates of tfjs' AdamOptimizer (its fields are not public API). */
export interface AdamInternals {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  /** Slots by the position of the variable in the gradient map, as tfjs keeps them (tfjs#4290). */
  accumulatedFirstMoment: (AdamSlot | undefined)[];
  accumulatedSecondMoment: (AdamSlot | undefined)[];
  incrementIterations(): void;
}

/** tfjs' AdamOptimizer's fields, when `opt` is one. */
export function adamInternals(opt: tf.Optimizer): AdamInternals | undefined {
  const o = opt as unknown as Partial<AdamInternals> & { getClassName(): string };
  return o.getClassName() === 'Adam' && o.accBeta1 && o.accumulatedFirstMoment ? (o as AdamInternals) : undefined;
}

/** What a training-mode BatchNormalization call reads and updates (tfjs-layers keeps these private). */
export interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

export function batchNormFields(layer: tf.layers.Layer): BatchNormFields {
  return layer as unknown as BatchNormFields;
}

/** What a Conv2D layer's call reads (tfjs-layers keeps these private). */
export interface ConvFields {
  rank: number;
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: [number, number];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: [number, number];
  activation: { apply(x: tf.Tensor): tf.Tensor; getClassName(): string };
}

export function convFields(layer: tf.layers.Layer): ConvFields {
  return layer as unknown as ConvFields;
}
