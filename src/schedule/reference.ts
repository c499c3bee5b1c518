// The schedule reference (docs/schedule-reference.md), generated from the schema and the kind tables so it
// cannot drift from them: `npm run docs` writes it and a test checks the file is current. Pure.
import type { TSchema } from '@sinclair/typebox';
import { HEADS, HeadLayer } from '../core/heads/index.js';
import { OPTIMIZERS, OptimizerSpec } from './optimizers/index.js';
import { REPORTERS, MetricSpec } from './reporters/index.js';
import { SCHEDULERS, SchedulerSpec } from './schedulers/index.js';
import { ScheduleSchema } from './schema.js';

/** Where `npm run schema` writes it, relative to the package. */
export const REFERENCE_FILE = 'docs/schedule-reference.md';

interface Json {
  description?: string;
  type?: string;
  properties?: Record<string, Json>;
  required?: string[];
  anyOf?: Json[];
  items?: Json | Json[];
  const?: unknown;
  enum?: unknown[];
  additionalProperties?: boolean | Json;
  [constraint: string]: unknown;
}

const json = (s: TSchema): Json => JSON.parse(JSON.stringify(s)) as Json;

/** A union of kinds (optimizers, …): shown by name in the key tables, each kind's options in its section. */
interface KindUnion {
  title: string;
  noun: string;
  union: string;
  kinds: { name: string; schema: Json; description: string }[];
}

const kind = (s: Json, key?: string) => (key ? (s.properties?.[key] ?? s) : s);

const KIND_UNIONS: KindUnion[] = [
  { title: 'Optimizers', noun: 'optimizer', spec: OptimizerSpec, table: OPTIMIZERS.map((k) => [k.type, k.schema]) },
  { title: 'Schedulers', noun: 'scheduler', spec: SchedulerSpec, table: SCHEDULERS.map((k) => [k.type, k.schema]) },
  { title: 'Head layers', noun: 'head layer', spec: HeadLayer, table: HEADS.map((k) => [k.key, k.schema, k.key]) },
  { title: 'Metrics files', noun: 'metrics file', spec: MetricSpec, table: REPORTERS.map((k) => [k.type, k.schema]) },
].map(({ title, noun, spec, table }) => ({
  title,
  noun,
  union: JSON.stringify(json(spec)),
  kinds: (table as [string, TSchema, string?][]).map(([name, schema, key]) => ({
    name,
    schema: kind(json(schema), key),
    description: json(schema).description ?? kind(json(schema), key).description ?? '',
  })),
}));

const anchor = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
const unionOf = (s: Json) => KIND_UNIONS.find((k) => k.union === JSON.stringify(s));

/** Bounds and lengths, as a reader writes them. */
function constraints(s: Json): string {
  const c: string[] = [];
  const add = (key: string, text: (v: unknown) => string) => s[key] !== undefined && c.push(text(s[key]));
  add('minimum', (v) => `≥ ${String(v)}`);
  add('exclusiveMinimum', (v) => `> ${String(v)}`);
  add('maximum', (v) => `≤ ${String(v)}`);
  add('exclusiveMaximum', (v) => `< ${String(v)}`);
  add('minItems', (v) => `at least ${String(v)}`);
  add('maxItems', (v) => `at most ${String(v)}`);
  return c.length > 0 ? ` (${c.join(', ')})` : '';
}

/** The type of a schema node in a few characters: `integer (≥ 1) | [integer, integer]`. */
export function typeText(s: Json): string {
  const u = unionOf(s);
  if (u) return `${u.noun} (see [${u.title}](#${anchor(u.title)}))`;
  if (s.const !== undefined) return typeof s.const === 'string' ? `'${s.const}'` : JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v))).join(' | ');
  if (s.anyOf) return [...new Set(s.anyOf.map(typeText))].join(' | ');
  if (s.type === 'array') {
    if (Array.isArray(s.items)) return `[${s.items.map(typeText).join(', ')}]`;
    const item = s.items ? typeText(s.items) : 'any';
    return `${item.includes(' | ') ? `(${item})` : item}[]${constraints(s)}`;
  }
  if (s.type === 'object') return s.properties ? 'object' : 'map';
  return `${s.type ?? 'any'}${constraints(s)}`;
}

interface Row {
  path: string;
  type: string;
  required: boolean;
  description: string;
}

/** Every key under `s` (object properties, array items, the object variants of a union), depth first. */
function rows(path: string, s: Json, required: boolean): Row[] {
  const own: Row = { path, type: typeText(s), required, description: s.description ?? '' };
  if (unionOf(s)) return [own];
  const children: Row[] = [];
  for (const [key, child] of Object.entries(s.properties ?? {}))
    children.push(...rows(`${path}.${key}`, child, s.required?.includes(key) ?? false));
  if (s.type === 'array' && s.items && !Array.isArray(s.items) && !unionOf(s.items))
    children.push(...rows(`${path}[]`, s.items, false).slice(1));
  for (const v of s.anyOf ?? []) if (!v.const) children.push(...rows(path, v, required).slice(1));
  const seen = new Set<string>();
  return [own, ...children].filter((r) => !seen.has(r.path) && seen.add(r.path));
}

const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function table(list: readonly Row[]): string[] {
  return [
    '| key | type | |',
    '| --- | --- | --- |',
    ...list.map(
      (r) => `| \`${r.path}\` | ${cell(r.type)} | ${r.required ? '**required.** ' : ''}${cell(r.description)} |`,
    ),
  ];
}

function kindSection(u: KindUnion): string[] {
  return [
    `## ${u.title}`,
    '',
    ...u.kinds.flatMap((k) => {
      const options = rows('', k.schema, false)
        .slice(1)
        .filter((r) => r.path !== '.type')
        .map((r) => ({ ...r, path: r.path.slice(1) }));
      return [
        `### \`${k.name}\``,
        '',
        ...(k.description ? [k.description, ''] : []),
        ...(options.length > 0 ? [...table(options), ''] : ['No options.', '']),
      ];
    }),
  ];
}

/** The whole reference, as Markdown. */
export function scheduleReference(): string {
  const root = json(ScheduleSchema);
  const top = Object.entries(root.properties ?? {}).filter(([key]) => key !== '$schema');
  const lines = [
    '# Schedule reference',
    '',
    '<!-- generated by `npm run docs` from the schema (src/schedule/schema.ts) and the kind tables; do not edit -->',
    '',
    `${root.description ?? ''} Every key, its type and what it does; the kinds (optimizers, schedulers, head`,
    'layers, metrics files) each with their own options further down. [The schedule](schedule.md) explains',
    'how the keys work together.',
    '',
    ...top.flatMap(([key, s]) => [
      `## \`${key}\``,
      '',
      ...table(rows(key, s, root.required?.includes(key) ?? false)),
      '',
    ]),
    ...KIND_UNIONS.flatMap(kindSection),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}
