// The optimizer kinds. A new kind: one file beside this one, and one entry in OPTIMIZERS.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { adam } from './adam.js';
import { adamw } from './adamw.js';
import type { TfTrain } from './kind.js';
import { rmsprop } from './rmsprop.js';
import { sgd } from './sgd.js';

export const OPTIMIZERS = [sgd, adam, adamw, rmsprop] as const;

type Kinds = typeof OPTIMIZERS;
type SchemaOf<K> = K extends { schema: infer S extends TSchema } ? S : never;
type SchemasOf<T extends readonly unknown[]> = { -readonly [I in keyof T]: SchemaOf<T[I]> };
type NamesOf<T extends readonly unknown[]> = {
  -readonly [I in keyof T]: T[I] extends { type: infer N extends string } ? ReturnType<typeof Type.Literal<N>> : never;
};

export const OptimizerSpec = Type.Union(
  [
    Type.Union(OPTIMIZERS.map((k) => Type.Literal(k.type)) as unknown as NamesOf<Kinds>, {
      description: OPTIMIZERS.map((k) => k.type).join(', '),
    }),
    ...(OPTIMIZERS.map((k) => k.schema) as unknown as SchemasOf<Kinds>),
  ],
  { description: 'The optimizer: a name, or { type: name, …settings }.' },
);
export type OptimizerInput = Static<typeof OptimizerSpec>;
export type NormalizedOptimizer = ReturnType<Kinds[number]['normalize']>;
export type OptimizerType = Kinds[number]['type'];

/** The kind's entry; an unknown type is an error, never a fallback. */
export function optimizerKind(type: string) {
  const k = OPTIMIZERS.find((o) => o.type === type);
  if (!k) throw new Error(`unknown optimizer '${type}' (known: ${OPTIMIZERS.map((o) => o.type).join(', ')})`);
  return k as unknown as {
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
