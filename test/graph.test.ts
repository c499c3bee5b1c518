// The module graph is enforced by lint: an import against its direction fails `npm run lint`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { ESLint } from 'eslint';
import { ROOT } from './helpers.js';

const eslint = new ESLint({ cwd: ROOT });
const lint = async (file: string, code: string) =>
  (await eslint.lintText(code, { filePath: join(ROOT, file) }))[0]!.messages.map((m) => m.message);

test('module graph: back edges fail lint, forward edges pass', async () => {
  const back: [string, string][] = [
    ['src/core/x.ts', "import { runStages } from '../train/runner.js';"],
    ['src/data/x.ts', "import { UserError } from '../cli/errors.js';"],
    ['src/schedule/x.ts', "import { openData } from '../data/open.js';"],
    ['src/report/x.ts', "import type { RunState } from '../train/runner.js';"],
    ['src/model/x.ts', "import { initBackend } from '../backend/index.js';"],
  ];
  for (const [file, code] of back)
    assert.match((await lint(file, `${code}\nexport const x = 1;\n`)).join('\n'), /may not import/, file);
  const forward: [string, string][] = [
    ['src/train/x.ts', "import { loadModel } from '../model/io.js';"],
    ['src/model/x.ts', "import { UserError } from '../core/errors.js';"],
    ['src/cli/x.ts', "import { runStages } from '../train/runner.js';"],
  ];
  for (const [file, code] of forward)
    assert.deepEqual(
      (await lint(file, `${code}\nexport const x = 1;\n`)).filter((m) => /may not import/.test(m)),
      [],
      file,
    );
});

/** Every file under src/ with the src files it imports: static, type-only and dynamic import(). */
function srcImports(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(join(ROOT, 'src'));
  const known = new Set(files);
  return new Map(
    files.map((f) => {
      const specs = ts.preProcessFile(readFileSync(f, 'utf8'), true, true).importedFiles.map((i) => i.fileName);
      const local = specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts')));
      return [f, local.filter((p) => known.has(p))];
    }),
  );
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) visit(w);
      if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, low.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do scc.push((w = stack.pop()!));
    while (w !== v);
    if (scc.length > 1) out.push(scc.map((p) => relative(ROOT, p)));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

test('no file-level import cycle in src/, counting type-only and dynamic imports', () => {
  const graph = srcImports();
  assert.ok(graph.size > 100);
  assert.deepEqual(cycles(graph), []);
  // the check sees what it must: a cycle made up is found
  const a = join(ROOT, 'src/core/a.ts');
  const b = join(ROOT, 'src/core/b.ts');
  assert.deepEqual(
    cycles(
      new Map([
        [a, [b]],
        [b, [a]],
      ]),
    ).length,
    1,
  );
});

/** Imports against the folder order, as 'from → to'. */
function backEdges(graph: Map<string, string[]>, allowed: Record<string, string[]>): string[] {
  // src/tf.ts and src/index.ts sit above the folders: everyone may import tf.ts, index.ts re-exports
  const folder = (p: string) => relative(join(ROOT, 'src'), p).split(sep)[0]!;
  const ruled = (p: string) => allowed[folder(p)] !== undefined;
  return [...graph].flatMap(([file, deps]) =>
    deps
      .filter(
        (d) => ruled(file) && ruled(d) && folder(d) !== folder(file) && !allowed[folder(file)]!.includes(folder(d)),
      )
      .map((d) => `${relative(ROOT, file)} → ${relative(ROOT, d)}`),
  );
}

test('dynamic import() follows the module graph too (the lint rule sees static imports only)', async () => {
  const { ALLOWED } = (await import(join(ROOT, 'eslint.config.js'))) as { ALLOWED: Record<string, string[]> };
  const graph = srcImports();
  // the CLI loads training lazily: such edges are in the graph the check reads
  assert.ok(graph.get(join(ROOT, 'src/cli/commands/validate.ts'))!.includes(join(ROOT, 'src/train/describe.ts')));
  assert.deepEqual(backEdges(graph, ALLOWED), []);
  // every folder of src/ is ruled: a new one cannot slip past the graph
  const folders = readdirSync(join(ROOT, 'src')).filter((f) => statSync(join(ROOT, 'src', f)).isDirectory());
  assert.deepEqual(
    folders.filter((f) => ALLOWED[f] === undefined),
    [],
  );
  const core = join(ROOT, 'src/core/x.ts');
  const train = join(ROOT, 'src/train/runner.ts');
  assert.deepEqual(backEdges(new Map([[core, [train]]]), ALLOWED), ['src/core/x.ts → src/train/runner.ts']);
});

/** Functions (declarations, methods, arrows) longer than `limit` lines in a source text, as 'name:line (n)'. */
function longFunctions(file: string, text: string, limit: number): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const [a, b] = [n.getStart(sf), n.getEnd()].map((p) => sf.getLineAndCharacterOfPosition(p).line);
      if (b! - a! + 1 > limit) out.push(`${relative(ROOT, file)}:${a! + 1} (${b! - a! + 1} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

test('no function in src/ is longer than 80 lines (#30: short enough to read at once)', () => {
  const long = [...srcImports().keys()].flatMap((f) => longFunctions(f, readFileSync(f, 'utf8'), 80));
  assert.deepEqual(long, []);
  const made = `function f() {\n${'  x();\n'.repeat(85)}}\n`;
  assert.equal(longFunctions(join(ROOT, 'src/x.ts'), made, 80).length, 1, 'a long one is found');
});
