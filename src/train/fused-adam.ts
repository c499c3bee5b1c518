// Adam and AdamW as one kernel per variable where the backend has freezeflow's SIMD module (wasm): the
// same slots, accumulators and iteration count as tfjs' AdamOptimizer, so checkpoints, resume and a
// switch between the paths see one optimizer. Elsewhere (cpu, webgpu) tfjs' own ops run.
import * as tf from '../tf.js';
import { ADAM_UPDATE, type AdamUpdateAttrs } from '../backend/kernels/index.js';
import { simdKernels } from '../backend/simd.js';
import { adamInternals, type AdamInternals, type AdamSlot } from '../core/tfjs-internals.js';

/** The slot tfjs would create at position i (zeros, not trainable, named '<variable>/m' or '/v'). */
function slot(slots: (AdamSlot | undefined)[], i: number, v: tf.Variable, suffix: string): tf.Variable {
  slots[i] ??= { originalName: `${v.name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(v).variable(false)) };
  return slots[i].variable;
}

function update(o: AdamInternals, v: tf.Variable, g: tf.Tensor, i: number, decay: number): void {
  const m = slot(o.accumulatedFirstMoment, i, v, 'm');
  const s = slot(o.accumulatedSecondMoment, i, v, 'v');
  const attrs: AdamUpdateAttrs = {
    beta1: o.beta1,
    beta2: o.beta2,
    epsilon: o.epsilon,
    learningRate: o.learningRate,
    decay,
  };
  const inputs = { w: v, g, m, v: s, accBeta1: o.accBeta1, accBeta2: o.accBeta2 };
  const [w2, m2, v2] = tf.engine().runKernel(ADAM_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  m.assign(m2!);
  s.assign(v2!);
  v.assign(w2!);
}

/**
 * One Adam step over `named` (variable name → gradient) with decoupled decay factors from `decayOf`
 * (1: none); false when the optimizer is not Adam or the backend has no fused kernel.
 */
export function fusedAdamStep(
  opt: tf.Optimizer,
  named: tf.NamedTensorMap,
  vars: ReadonlyMap<string, tf.Variable>,
  decayOf: (v: tf.Variable) => number,
): boolean {
  const o = adamInternals(opt);
  if (!o || !simdKernels(tf.backend()) || !tf.getKernel(ADAM_UPDATE, tf.getBackend())) return false;
  tf.tidy(() => {
    Object.keys(named).forEach((name, i) => {
      const v = vars.get(name);
      const g = named[name];
      if (v && g) update(o, v, g, i, decayOf(v));
    });
    o.accBeta1.assign(tf.mul(o.accBeta1, o.beta1));
    o.accBeta2.assign(tf.mul(o.accBeta2, o.beta2));
  });
  o.incrementIterations();
  return true;
}
