// TypeBox helpers shared by the schema and the kind tables.
import { Type, type SchemaOptions, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';

/** A union of string literals that keeps the literal types (TypeBox's map() would widen them to string). */
export function Literals<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>;
}

/** Each kind's schema, as a tuple type (a generic mapped type, so a tuple maps to a tuple). */
type SchemaOf<K> = K extends { schema: infer S extends TSchema } ? S : never;
export type SchemasOf<T extends readonly unknown[]> = { -readonly [I in keyof T]: SchemaOf<T[I]> };
type NamesOf<T extends readonly unknown[]> = {
  -readonly [I in keyof T]: T[I] extends { type: infer N extends string } ? TLiteral<N> : never;
};

/** The union of a kind table's schemas. */
export const schemasUnion = <const T extends readonly { schema: TSchema }[]>(kinds: T, options: SchemaOptions) =>
  Type.Union(
    kinds.map((k) => k.schema),
    options,
  ) as unknown as TUnion<SchemasOf<T> & TSchema[]>;

/** A kind by its name alone, or as `{ type: name, …settings }`: the union a table of typed kinds accepts. */
export const nameOrSettings = <const T extends readonly { type: string; schema: TSchema }[]>(
  kinds: T,
  options: SchemaOptions,
) =>
  Type.Union(
    [
      Type.Union(
        kinds.map((k) => Type.Literal(k.type)),
        { description: kinds.map((k) => k.type).join(', ') },
      ),
      ...kinds.map((k) => k.schema),
    ],
    options,
  ) as unknown as TUnion<[TUnion<NamesOf<T> & TSchema[]>, ...SchemasOf<T>]>;

/** The kind named `type`; an unknown name is an error naming the known ones, never a fallback. */
export function kindNamed<K extends { type: string }>(kinds: readonly K[], type: string, noun: string): K {
  const k = kinds.find((x) => x.type === type);
  if (!k) throw new Error(`unknown ${noun} '${type}' (known: ${kinds.map((x) => x.type).join(', ')})`);
  return k;
}
