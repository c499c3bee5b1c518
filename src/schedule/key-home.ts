// Where a key belongs: "batchSize" put at the top level lives under data. Pure, from the schema alone.
import { scheduleJsonSchema } from './schema.js';

type Json = Record<string, unknown>;
/** Deep enough for data.augment.* and stages.N.optimizer.*; head layers and lrGroups are left out. */
const MAX_DEPTH = 3;

let homes: Map<string, string[]> | undefined;

/** Every `a.b.c` (lists as `N`, the --set spelling) where the schema allows the key `name`. */
export function keyHomes(name: string): string[] {
  homes ??= collect(scheduleJsonSchema(), [], new Map());
  return homes.get(name) ?? [];
}

function collect(schema: Json, path: string[], into: Map<string, string[]>): Map<string, string[]> {
  if (path.length > MAX_DEPTH) return into;
  for (const branch of [...list(schema['anyOf']), ...list(schema['oneOf']), ...list(schema['allOf'])])
    collect(branch, path, into);
  if (schema['items'] && typeof schema['items'] === 'object') collect(schema['items'] as Json, [...path, 'N'], into);
  const props = (schema['properties'] ?? {}) as Record<string, Json>;
  for (const [key, sub] of Object.entries(props)) {
    const at = [...path, key].join('.');
    const seen = into.get(key) ?? [];
    if (!seen.includes(at)) into.set(key, [...seen, at]);
    collect(sub, [...path, key], into);
  }
  return into;
}

const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

/** "; it goes in data (data.batchSize)" for a key put where it does not belong, or '' when unknown anywhere. */
export function keyHomeHint(name: string, at: readonly (string | number)[]): string {
  const here = at.map((s) => (typeof s === 'number' ? 'N' : s)).join('.');
  const found = keyHomes(name).filter((h) => h !== (here ? `${here}.${name}` : name));
  if (found.length === 0) return '';
  const shown = found.slice(0, 3).join(', ');
  return `; '${name}' belongs at ${shown}${found.length > 3 ? ', …' : ''}`;
}
