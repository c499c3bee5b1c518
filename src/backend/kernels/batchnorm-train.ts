// BatchNorm in training mode (batch statistics) on freezeflow's SIMD module: the batch's moments, the
// normalisation and the whole backward pass (dx through μ and σ² included, dγ, dβ) each in one or two
// passes over the activations. tfjs composes them from ~30 kernels per layer (moments, tiles,
// broadcasts, and their gradients), which made BatchNorm most of a MobileNetV2 step on wasm.
import * as tf from '../../tf.js';
import type { NamedAttrMap, TensorInfo } from '../../tf.js';
import type { KernelEntry } from '../kernel-entry.js';
import { simdKernels, type WasmBackend } from '../simd.js';

const MOMENTS = 'FreezeflowBatchNormMoments';
const NORMALIZE = 'FreezeflowBatchNormNormalize';
const BACKWARD = 'FreezeflowBatchNormBackward';

type Args = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap };

/** The kernel's backend, its SIMD module, a tensor's offset and scratch memory freed afterwards. */
function context(args: Args) {
  const b = args.backend as WasmBackend;
  const simd = simdKernels(b);
  if (!simd) throw new Error('the SIMD module is not loaded on this backend');
  const x = args.inputs['x']!;
  const c = x.shape.at(-1)!;
  const scratch: TensorInfo[] = [];
  return {
    b,
    simd,
    c,
    rows: tf.util.sizeFromShape(x.shape) / c,
    at: (t: TensorInfo | undefined) => (t ? b.getMemoryOffset(t.dataId) : 0),
    scratch: (n: number) => {
      const t = b.makeOutput([n], 'float32');
      scratch.push(t);
      return b.getMemoryOffset(t.dataId);
    },
    free: () => scratch.forEach((t) => b.disposeData(t.dataId, true)),
  };
}

function moments(args: Args): TensorInfo[] {
  const k = context(args);
  const [mean, variance] = [k.b.makeOutput([k.c], 'float32'), k.b.makeOutput([k.c], 'float32')];
  k.simd.bn_moments(k.at(args.inputs['x']), k.at(mean), k.at(variance), k.scratch(3 * k.c), k.rows, k.c);
  k.free();
  return [mean, variance];
}

function normalize(args: Args): TensorInfo {
  const k = context(args);
  const { x, mean, variance, gamma, beta } = args.inputs;
  const y = k.b.makeOutput(x!.shape, 'float32');
  const eps = (args.attrs as { epsilon: number }).epsilon;
  k.simd.bn_normalize(
    k.at(x),
    k.at(mean),
    k.at(variance),
    k.at(gamma),
    k.at(beta),
    k.at(y),
    k.scratch(2 * k.c),
    k.rows,
    k.c,
    eps,
  );
  k.free();
  return y;
}

function backward(args: Args): TensorInfo[] {
  const k = context(args);
  const { x, dy, mean, variance, gamma } = args.inputs;
  const dx = k.b.makeOutput(x!.shape, 'float32');
  const [dgamma, dbeta] = [k.b.makeOutput([k.c], 'float32'), k.b.makeOutput([k.c], 'float32')];
  const eps = (args.attrs as { epsilon: number }).epsilon;
  const s = k.scratch(9 * k.c); // 2c doubles of block totals, then 5c floats
  k.simd.bn_backward(
    k.at(x),
    k.at(dy),
    k.at(mean),
    k.at(variance),
    k.at(gamma),
    k.at(dx),
    k.at(dgamma),
    k.at(dbeta),
    s,
    k.rows,
    k.c,
    eps,
  );
  k.free();
  return [dx, dgamma, dbeta];
}

export const batchNormTrain: KernelEntry = {
  kernels: [MOMENTS, NORMALIZE, BACKWARD],
  impl: 'simd',
  over: 'none',
  what: "training BatchNorm: the batch's statistics, normalization and gradient",
  register: () => {
    for (const [kernelName, kernelFunc] of [
      [MOMENTS, moments],
      [NORMALIZE, normalize],
      [BACKWARD, backward],
    ] as const)
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  },
};

/**
 * y = γ·(x − μ)/√(σ² + ε) + β over the batch's own statistics (channels last), with its gradient for
 * x, γ and β; also the statistics (for the moving averages). Undefined where the kernels do not apply
 * (another backend, FREEZEFLOW_SIMD=0, not float32): the caller runs tfjs' own.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } | undefined {
  const c = x.shape.at(-1)!;
  const fits = x.dtype === 'float32' && x.rank >= 2 && gamma.size === c && beta.size === c;
  if (!fits || !simdKernels(tf.backend()) || !tf.getKernel(MOMENTS, tf.getBackend())) return undefined;
  const [mean, variance] = tf.engine().runKernel(MOMENTS, { x }) as tf.Tensor[];
  const attrs = { epsilon } as unknown as NamedAttrMap;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    save([xi!, g!, mean!, variance!]);
    const value = tf
      .engine()
      .runKernel(NORMALIZE, { x: xi!, mean: mean!, variance: variance!, gamma: g!, beta: b! }, attrs) as tf.Tensor;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sg, sm, sv] = saved;
      return tf
        .engine()
        .runKernel(BACKWARD, { x: sx!, dy, mean: sm!, variance: sv!, gamma: sg! }, attrs) as tf.Tensor[];
    };
    return { value, gradFunc };
  });
  return { y: op(x, gamma, beta), mean: mean!, variance: variance! };
}
