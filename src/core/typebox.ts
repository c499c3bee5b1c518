// TypeBox helpers shared by the schema and the kind tables.
import { Type, type SchemaOptions, type TLiteral, type TUnion } from '@sinclair/typebox';

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
