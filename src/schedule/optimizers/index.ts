// The optimizer kinds. A new kind: one file beside this one, and one entry in OPTIMIZERS.
import type { Static } from '@sinclair/typebox';
import { kindNamed, nameOrSettings } from '../../core/typebox.js';
import { adam } from './adam.js';
import { adamw } from './adamw.js';
import type { TfTrain } from './kind.js';
import { rmsprop } from './rmsprop.js';
import { sgd } from './sgd.js';

export const OPTIMIZERS = [sgd, adam, adamw, rmsprop] as const;

type Kinds = typeof OPTIMIZERS;

export const OptimizerSpec = nameOrSettings(OPTIMIZERS, {
  description: 'The optimizer: a name, or { type: name, …settings }.',
});
export type OptimizerInput = Static<typeof OptimizerSpec>;
export type NormalizedOptimizer = ReturnType<Kinds[number]['normalize']>;
export type OptimizerType = Kinds[number]['type'];

/** The kind's entry; an unknown type is an error, never a fallback. */
export function optimizerKind(type: string) {
  return kindNamed(OPTIMIZERS, type, 'optimizer') as unknown as {
    normalize(o: { type: string }): NormalizedOptimizer;
    build<O>(train: TfTrain<O>, o: NormalizedOptimizer, lr: number): O;
    decay: 'decoupled' | 'l2';
    describe(o: NormalizedOptimizer): string;
  };
}

export function normalizeOptimizer(o: OptimizerInput): NormalizedOptimizer {
  const spec = typeof o === 'string' ? { type: o } : o;
  return optimizerKind(spec.type).normalize(spec);
}
