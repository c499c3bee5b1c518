// What an optimizer kind is: its part of the schema, defaults, construction, decay default and
// description. One file per kind; index.ts lists them. Construction takes tfjs's `train` namespace as
// an argument, so the schedule stays free of tensors (the runner passes tf.train in).
import type { Static, TSchema } from '@sinclair/typebox';

/**
 * The part of tfjs' `train` namespace the kinds call, declared here rather than imported: the schedule's
 * types reach the library's public .d.ts, and tfjs' own declarations fail a strict consumer's compile.
 * `tf.train` fits it with O = tf.Optimizer.
 */
export interface TfTrain<O> {
  sgd(lr: number): O;
  momentum(lr: number, momentum: number, useNesterov?: boolean): O;
  adam(lr?: number, beta1?: number, beta2?: number, epsilon?: number): O;
  rmsprop(lr: number, decay?: number, momentum?: number, epsilon?: number, centered?: boolean): O;
}

export interface OptimizerKind<S extends TSchema, N extends { type: string }> {
  type: N['type'];
  /** The object form, `{ type: <kind>, … }`; the bare name is accepted too. */
  schema: S;
  normalize(input: Static<S>): N;
  build<O>(train: TfTrain<O>, o: N, lr: number): O;
  /** Weight decay mode when the stage gives none. */
  decay: 'decoupled' | 'l2';
  describe(o: N): string;
}

export const defineOptimizer = <S extends TSchema, N extends { type: string }>(k: OptimizerKind<S, N>) => k;
