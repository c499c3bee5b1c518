// YAML text → validated Schedule. Pure apart from readScheduleFile; errors carry file:line:col.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parse, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { Schedule, ScheduleInput } from './schema.js';
import { autoIssues, expandAuto } from './auto.js';
import { scheduleValidator } from './validator.js';
import { closest, didYouMean, formatPath, ScheduleError, type Location, type ScheduleIssue } from '../core/issues.js';
import { semanticIssues } from './semantic.js';
import { keyHomeHint } from './key-home.js';
import {
  AggregatePatternError,
  replanAuto,
  resolvePlan,
  type LayerInfo,
  type Plan,
  type ResolvedStage,
} from './plan.js';

function validate(data: unknown): ErrorObject[] {
  const validator = scheduleValidator();
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** Maps JSON paths in the parsed document back to line/column positions (or to the --set flag). */
export class SourceMap {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly file: string,
    private readonly sets: readonly SetOverride[] = [],
  ) {}

  private at(offset: number): Location {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /** Position of the node at `path`; `key` = point at the key of the last segment instead of its value. */
  locate(path: readonly (string | number)[], key = false): Location {
    const set = [...this.sets].reverse().find((o) => o.owned.every((seg, i) => String(path[i]) === String(seg)));
    if (set) return { file: set.flag, line: 0, col: 0 };
    let node: unknown = this.doc.contents;
    let keyNode: YamlNode | undefined;
    let last: YamlNode | undefined = node as YamlNode | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        keyNode = pair.key as YamlNode;
        node = pair.value;
      } else if (node && typeof node === 'object' && 'items' in node && Array.isArray(node.items)) {
        keyNode = undefined;
        node = (node.items as unknown[])[Number(seg)];
      } else break;
      if (node && typeof node === 'object' && 'range' in node) last = node as YamlNode;
      else if (keyNode) last = keyNode;
    }
    const target = key && keyNode ? keyNode : last;
    return this.at(target?.range?.[0] ?? 0);
  }

  /** Position of a key inside the map at `path` (for unknown-key errors). */
  locateKey(path: readonly (string | number)[], name: string): Location {
    return this.locate([...path, name], true);
  }
}

function jsonPath(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function show(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function describeType(schema: Record<string, unknown>): string {
  const t = schema['type'];
  let base =
    t === 'integer'
      ? 'an integer'
      : t === 'number'
        ? 'a number'
        : t === 'string'
          ? 'a string'
          : t === 'boolean'
            ? 'true or false'
            : t === 'array'
              ? 'a list'
              : t === 'object'
                ? 'a mapping'
                : String(t);
  if (typeof schema['exclusiveMinimum'] === 'number') base += ` > ${schema['exclusiveMinimum']}`;
  if (typeof schema['minimum'] === 'number') base += ` >= ${schema['minimum']}`;
  if (typeof schema['exclusiveMaximum'] === 'number') base += ` < ${schema['exclusiveMaximum']}`;
  if (typeof schema['maximum'] === 'number') base += ` <= ${schema['maximum']}`;
  return base;
}

/** The literal values an anyOf of consts accepts, or undefined when it is not purely such a union. */
function literalChoices(schema: Record<string, unknown>): string[] | undefined {
  const branches = schema['anyOf'];
  if (!Array.isArray(branches)) return undefined;
  const out: string[] = [];
  for (const b of branches as Record<string, unknown>[]) {
    if ('const' in b) out.push(String(b['const']));
    else {
      const nested = Array.isArray(b['anyOf']) ? literalChoices(b) : undefined;
      if (!nested) return undefined;
      out.push(...nested);
    }
  }
  return out;
}

function branchIndex(err: ErrorObject, any: ErrorObject): number | undefined {
  // Array items share a schema path, so the instance path must lie inside the union's node too.
  const inside = err.instancePath === any.instancePath || err.instancePath.startsWith(`${any.instancePath}/`);
  if (!inside || !err.schemaPath.startsWith(`${any.schemaPath}/`)) return undefined;
  const n = Number(err.schemaPath.slice(any.schemaPath.length + 1).split('/')[0]);
  return Number.isInteger(n) ? n : undefined;
}

/** Every branch failed on the value itself, as a scalar (wrong type, bound or constant): one error. */
function scalarAlternatives(any: ErrorObject, groups: ErrorObject[][]): ErrorObject | undefined {
  const plain = ['type', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'];
  const flat = groups.flat();
  if (groups.length < 2 || !flat.every((e) => e.instancePath === any.instancePath && plain.includes(e.keyword)))
    return undefined;
  const kinds = groups.map((g) => {
    const schema = (g[0]!.parentSchema ?? {}) as Record<string, unknown>;
    return 'const' in schema ? `'${String(schema['const'])}'` : describeType(schema);
  });
  if (new Set(groups.map((g) => g[0]!.parentSchema)).size !== groups.length) return undefined;
  if (kinds.every((k) => k.startsWith("'"))) return undefined; // all words: 'one of …' with a did-you-mean
  return { ...any, keyword: 'alternatives', params: { kinds } };
}

/**
 * Ajv reports every failing branch of a union. Keep the errors of the branch the user most likely meant:
 * the one that got furthest (deepest error) with the fewest complaints, and which did not fail a const.
 */
function pickErrors(errors: ErrorObject[]): ErrorObject[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  let remaining = errors;
  for (const any of anyOfs) {
    if (!remaining.includes(any)) continue;
    const groups = new Map<number, ErrorObject[]>();
    for (const e of remaining) {
      const i = branchIndex(e, any);
      if (i !== undefined) groups.set(i, [...(groups.get(i) ?? []), e]);
    }
    const inside = new Set([...groups.values()].flat());
    const scalars = scalarAlternatives(any, [...groups.values()]);
    if (scalars) {
      // a value that fits none of several plain forms (a number, or 'find'): name them all
      remaining = remaining.filter((e) => e !== any && !inside.has(e)).concat([scalars]);
      continue;
    }
    const choices = literalChoices(any.parentSchema as Record<string, unknown>);
    const level = any.instancePath.split('/').length;
    const depth = (e: ErrorObject) => e.instancePath.split('/').length + (e.keyword === 'const' ? -0.5 : 0);
    // A failed const on the node or its direct child is a discriminator ('type: step') not chosen.
    const discriminator = (errs: ErrorObject[]) =>
      errs.find((e) => e.keyword === 'const' && e.instancePath.split('/').length <= level + 1);
    const score = (errs: ErrorObject[]) => ({
      // A branch of the wrong shape (a mapping where a string was given) is the least likely one.
      typeFail: errs.some((e) => e.keyword === 'type' && e.instancePath === any.instancePath) ? 1 : 0,
      constFail: discriminator(errs) ? 1 : 0,
      depth: Math.max(...errs.map(depth)),
      count: errs.length,
    });
    let best: ErrorObject[] | undefined;
    let replacement: ErrorObject | undefined;
    if (!choices) {
      const cmp = (a: ErrorObject[], b: ErrorObject[]) => {
        const sa = score(a);
        const sb = score(b);
        return sa.typeFail - sb.typeFail || sa.constFail - sb.constFail || sb.depth - sa.depth || sa.count - sb.count;
      };
      const ranked = [...groups.values()].sort(cmp);
      best = ranked[0];
      const discs = [...groups.values()].map(discriminator);
      if (discs.length > 1 && discs.every((d) => d && d.instancePath === discs[0]!.instancePath)) {
        // Every branch wants a different value of the same key: report that key's allowed values.
        best = undefined;
        replacement = {
          ...discs[0]!,
          keyword: 'enum',
          params: { allowedValues: discs.map((d) => (d!.params as { allowedValue: unknown }).allowedValue) },
        };
      } else if (ranked.length > 1 && cmp(ranked[0]!, ranked[1]!) === 0) {
        // No branch stands out (e.g. a head layer whose key is misspelt): report the union itself.
        best = undefined;
      }
    }
    remaining = remaining
      .filter((e) => (e === any ? !best && !replacement : !inside.has(e) || (best?.includes(e) ?? false)))
      .concat(replacement ? [replacement] : []);
  }
  return remaining;
}

function toIssue(err: ErrorObject, map: SourceMap): ScheduleIssue {
  const path = jsonPath(err.instancePath);
  const where = formatPath(path);
  const schema = (err.parentSchema ?? {}) as Record<string, unknown>;
  if (err.keyword === 'additionalProperties') {
    // the unknown key itself is what the line points at
    const name = String((err.params as { additionalProperty: string }).additionalProperty);
    const allowed = Object.keys((schema['properties'] as Record<string, unknown> | undefined) ?? {});
    return {
      path: [...path, name],
      message: `${where === '(root)' ? '' : `${where}: `}unknown key '${name}'${didYouMean(name, allowed) || keyHomeHint(name, path)}; allowed: ${allowed.join(', ')}`,
      location: map.locateKey(path, name),
    };
  }
  return { path, message: issueMessage(err, where, schema), location: map.locate(path) };
}

/** The one-line message for a schema error at `where`, by its keyword. */
function issueMessage(err: ErrorObject, where: string, schema: Record<string, unknown>): string {
  const got = `(got ${show(err.data)})`;
  switch (err.keyword) {
    case 'pattern':
      // the only patterns in the schema are the name ones
      return `${where} must not contain '/', '\\' or control characters: names become folder names (got ${JSON.stringify(err.data)})`;
    case 'required':
      return `${where} is missing the required key '${String((err.params as { missingProperty: string }).missingProperty)}'`;
    case 'anyOf':
      return anyOfMessage(err, where, schema);
    case 'enum': {
      const allowed = (err.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const hint = typeof err.data === 'string' ? didYouMean(err.data, allowed) : '';
      return `${where} must be one of ${allowed.map((c) => `'${c}'`).join(', ')} ${got}${hint}`;
    }
    case 'alternatives':
      return `${where} must be ${(err.params as { kinds: string[] }).kinds.join(' or ')} ${got}`;
    case 'const':
      return `${where} must be '${String(schema['const'])}' ${got}`;
    case 'type':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${where} must be ${describeType(schema)} ${got}`;
    case 'minItems':
    case 'maxItems':
      if (schema['type'] === 'array' && Array.isArray(schema['prefixItems'] ?? schema['items']))
        return `${where} must be a list of ${String(schema['minItems'])} items ${got}`;
      return `${where} ${err.message ?? 'has the wrong number of items'} ${got}`;
    default:
      return `${where} ${err.message ?? 'is invalid'} ${got}`;
  }
}

/** A union: its literal choices (with a did-you-mean), or the keys its mapping forms need. */
function anyOfMessage(err: ErrorObject, where: string, schema: Record<string, unknown>): string {
  const choices = literalChoices(schema);
  if (choices) {
    const hint = typeof err.data === 'string' ? didYouMean(err.data, choices) : '';
    return `${where} must be one of ${choices.map((c) => `'${c}'`).join(', ')} (got ${show(err.data)})${hint}`;
  }
  const keys = (schema['anyOf'] as Record<string, unknown>[])
    .flatMap((b) => (Array.isArray(b['required']) ? (b['required'] as string[]) : []))
    .filter((k, i, a) => a.indexOf(k) === i);
  const given = err.data && typeof err.data === 'object' ? Object.keys(err.data) : [];
  const hint = given.length === 1 ? didYouMean(given[0]!, keys) : '';
  const expected = keys.length > 0 ? `a mapping with one of the keys ${keys.join(', ')}` : 'one of the allowed forms';
  return `${where} must be ${expected} (got ${show(err.data)})${hint}`;
}

export interface LoadedSchedule {
  schedule: Schedule;
  file: string;
  /** Name of the run: `name:` in the file, or the file name without extension. */
  name: string;
  source: SourceMap;
  /** The text as read (a run folder keeps it as schedule.yaml; --set values are not in it). */
  text: string;
}

/**
 * Parse and validate schedule text, with `--set KEY=VALUE` overrides applied first. Throws ScheduleError
 * listing every problem with its position (in the file, or the flag that set the value).
 */
export function parseSchedule(text: string, file = '<schedule>', sets: readonly string[] = []): LoadedSchedule {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const display = file;
  if (doc.errors.length > 0) {
    // the parser's later errors mostly follow from its first: show that one
    const e = doc.errors[0]!;
    const { line, col } = lines.linePos(e.pos[0]);
    throw new ScheduleError([
      { path: [], message: `invalid YAML: ${e.message.split('\n')[0]}`, location: { file: display, line, col } },
    ]);
  }
  const setPaths = applySets(doc, sets);
  const map = new SourceMap(doc, lines, display, setPaths);
  const data = toData(doc, display);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScheduleError([
      { path: [], message: 'a schedule must be a YAML mapping with model, data and stages', location: map.locate([]) },
    ]);
  }
  const infinite = nonFinite(data).map((path) => ({
    path,
    message: `${formatPath(path)} must be a finite number (got ${String(pathValue(data, path))})`,
    location: map.locate(path),
  }));
  const errors = validate(data);
  // stages: auto is written out as its generated stages here; what is wrong with it is said of auto:
  const input = data as ScheduleInput;
  const schedule = input.stages === 'auto' ? expandAuto(input) : (data as Schedule);
  // the generated stages are checked by tests; what a user can fix is said at auto:
  const own = semanticOf(schedule).filter((i) => input.stages !== 'auto' || i.path[0] !== 'stages');
  const semantic = [...own, ...autoIssues(input)].map((i) => ({
    ...i,
    location: i.location ?? map.locate(i.path),
  }));
  if (errors.length > 0 || infinite.length > 0) {
    // every problem in one pass: the semantic ones too, where the schema found nothing wrong at that spot
    const issues = [...infinite, ...misspeltNotMissing(pickErrors(errors)).map((e) => toIssue(e, map))];
    const taken = issues.map((i) => formatPath(i.path));
    const more = semantic.filter(
      (i) => !taken.some((t) => formatPath(i.path).startsWith(t) || t.startsWith(formatPath(i.path))),
    );
    throw new ScheduleError(byPosition(dedupe([...issues, ...more])));
  }
  if (semantic.length > 0) throw new ScheduleError(byPosition(semantic));
  const name = schedule.name ?? (file === '<stdin>' ? 'stdin' : basename(file).replace(/\.ya?ml$/i, ''));
  return { schedule, file, name, source: map, text };
}

/** `{ lastBlock: 2 }`: the unknown key says it all; "missing 'lastBlocks'" beside it is the same mistake. */
function misspeltNotMissing(errors: ErrorObject[]): ErrorObject[] {
  const unknownAt = new Set(errors.filter((e) => e.keyword === 'additionalProperties').map((e) => e.instancePath));
  return errors.filter((e) => e.keyword !== 'required' || !unknownAt.has(e.instancePath));
}

/**
 * The document as plain data. Aliases are capped (a "billion laughs" document expands exponentially) and
 * an undefined alias or a document nested too deep is a position-less usage error, not a crash.
 */
function toData(doc: ReturnType<typeof parseDocument>, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const deep = err instanceof RangeError;
    const message = deep
      ? 'the document is nested too deeply'
      : `invalid YAML: ${(err as Error).message.split('\n')[0]}`;
    throw new ScheduleError([{ path: [], message, location: { file, line: 1, col: 1 } }]);
  }
}

/** The semantic checks, on data the schema may have rejected: whatever they cannot read is the schema's. */
function semanticOf(schedule: Schedule): ScheduleIssue[] {
  try {
    return semanticIssues(schedule);
  } catch {
    return [];
  }
}

/** Paths of numbers that are not finite (YAML's .inf and .nan pass a JSON Schema 'number'). */
function nonFinite(data: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof data === 'number') return Number.isFinite(data) ? [] : [path];
  if (Array.isArray(data)) return data.flatMap((v, i) => nonFinite(v, [...path, i]));
  if (data && typeof data === 'object') return Object.entries(data).flatMap(([k, v]) => nonFinite(v, [...path, k]));
  return [];
}

const pathValue = (data: unknown, path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], data);

function byPosition(issues: ScheduleIssue[]): ScheduleIssue[] {
  const key = (i: ScheduleIssue) => (i.location ? i.location.line * 1e5 + i.location.col : 0);
  return [...issues].sort((a, b) => key(a) - key(b));
}

function dedupe(issues: ScheduleIssue[]): ScheduleIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${formatPath(i.path)}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface SetOverride {
  path: (string | number)[];
  /** The part of `path` the flag created or replaced: errors at or under it are the flag's. */
  owned: (string | number)[];
  /** The flag as given, e.g. "--set stages.1.lr=3e-4": where errors in the value point. */
  flag: string;
}

const flagIssue = (flag: string, message: string): ScheduleError =>
  new ScheduleError([{ path: [], message, location: { file: flag, line: 0, col: 0 } }]);

/**
 * `stages.1.lr=3e-4`, `data.batchSize=32`, `stages.head.lr=1e-3` (a stage by name): the value is YAML
 * (a number, a word, `[a, b]`, `{ type: cosine }`), set into the document before validation.
 */
function applySets(doc: Document, sets: readonly string[]): SetOverride[] {
  return sets.map((raw) => {
    const flag = `--set ${raw}`;
    const eq = raw.indexOf('=');
    if (eq <= 0) throw flagIssue(flag, 'expected KEY=VALUE, e.g. --set stages.1.lr=3e-4 or --set data.batchSize=32');
    const path = setPath(doc, raw.slice(0, eq), flag);
    let value: unknown;
    try {
      value = parse(raw.slice(eq + 1));
    } catch (err) {
      throw flagIssue(flag, `the value is not valid YAML: ${(err as Error).message.split(' at line')[0]}`);
    }
    // `optimizer.epsilon` where no `optimizer` is: the flag made `optimizer`, so an error there is its
    const made = path.findIndex((_, i) => !doc.hasIn(path.slice(0, i + 1)));
    const owned = made < 0 ? path : path.slice(0, made + 1);
    const scalar = path.findIndex((_, i) => i < path.length - 1 && isScalar(doc.getIn(path.slice(0, i + 1), true)));
    if (scalar >= 0) {
      const at = path.slice(0, scalar + 1);
      const [kind, inner] = [doc.getIn(at), String(path[scalar + 1])];
      // `optimizer: adam` is short for `{ type: adam }`: say how to write the long form
      const longForm =
        at.length === 1 && at[0] === 'stages' && kind === 'auto'
          ? '; stages: auto makes its stages at run time: set auto.epochs, auto.maxDepth, auto.monitor, auto.patience or auto.lrDecay'
          : typeof kind === 'string'
            ? `; write it out: --set ${at.join('.')}='{ type: ${kind}, ${inner}: … }'`
            : '';
      throw flagIssue(flag, `${formatPath(at)} is ${show(kind)}, a single value with no '${inner}' inside${longForm}`);
    }
    doc.setIn(path, doc.createNode(value));
    return { path, owned, flag };
  });
}

/** The key as a document path: numbers index lists, and a stage may be named instead of numbered. */
function setPath(doc: Document, key: string, flag: string): (string | number)[] {
  const parts = key.split('.');
  if (parts.some((p) => p === '')) throw flagIssue(flag, `'${key}' is not a key path (e.g. stages.1.lr)`);
  const path: (string | number)[] = [];
  for (const part of parts) {
    const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
    if (isSeq(parent)) {
      const names = parent.items.map((it) => (isMap(it) ? String(it.get('name')) : ''));
      const index = /^\d+$/.test(part) ? Number(part) : names.indexOf(part);
      if (index < 0 || index >= parent.items.length)
        throw flagIssue(
          flag,
          `${formatPath(path)} has ${parent.items.length} items (0–${parent.items.length - 1}${names.some(Boolean) ? `, or by name: ${names.join(', ')}` : ''}), not '${part}'`,
        );
      path.push(index);
    } else path.push(part);
  }
  return path;
}

/** Read and parse a schedule file; a missing file is a ScheduleError too (exit code 2). */
export function readScheduleFile(file: string, sets: readonly string[] = []): LoadedSchedule {
  let text: string;
  try {
    // '-': the schedule comes on standard input (relative paths in it resolve against the working directory)
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String((err as Error).message);
    throw new ScheduleError([{ path: [], message: `cannot read schedule '${file}': ${why}` }]);
  }
  return parseSchedule(text, file === '-' ? '<stdin>' : file, sets);
}

export { closest };

/** resolvePlan, with pattern errors turned into a ScheduleError pointing at the pattern in the file. */
export function resolveLoaded(
  loaded: LoadedSchedule,
  plan: Plan,
  layers: readonly LayerInfo[],
  autoOrder?: string[],
): ResolvedStage[] {
  // stages: auto fits its stages to the model's blocks (in the order a resumed run's probe chose)
  if (plan.auto) replanAuto(plan, loaded.schedule, layers, autoOrder);
  try {
    return resolvePlan(plan, layers);
  } catch (err) {
    if (!(err instanceof AggregatePatternError)) throw err;
    throw new ScheduleError(
      err.errors.map((e) => ({ path: e.path, message: e.message, location: loaded.source.locate(e.path) })),
    );
  }
}
