// What an optimizer kind is: its part of the schema, defaults, construction, decay default and
// description. One file per kind; index.ts lists them. Construction takes tfjs's `train` namespace as
// an argument, so the schedule stays free of tensors (the runner passes tf.train in).
import type { Static, TSchema } from '@sinclair/typebox';
import type * as tf from '../../tf.js';

export type TfTrain = typeof tf.train;

export interface OptimizerKind<S extends TSchema, N extends { type: string }> {
  type: N['type'];
  /** The object form, `{ type: <kind>, … }`; the bare name is accepted too. */
  schema: S;
  normalize(input: Static<S>): N;
  build(train: TfTrain, o: N, lr: number): tf.Optimizer;
  /** Weight decay mode when the stage gives none. */
  decay: 'decoupled' | 'l2';
  describe(o: N): string;
}

export const defineOptimizer = <S extends TSchema, N extends { type: string }>(k: OptimizerKind<S, N>) => k;
