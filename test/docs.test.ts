// The docs stay true to the tree: every file they point at exists, every link between pages resolves, and
// the pages the README indexes are all there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './helpers.js';

const PAGES = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)];

/** Paths in backticks that name a file or folder of the repository (`src/train/epoch.ts`, `src/backend/wasm/`). */
function pathsIn(text: string): string[] {
  const found = text.match(/`((?:src|test|scripts|schemas|schedules|docs)\/[\w./-]*)`/g) ?? [];
  return found.map((p) => p.slice(1, -1)).filter((p) => !/[*{<]/.test(p));
}

test('every repository path the docs name exists', () => {
  const missing = PAGES.flatMap((page) =>
    pathsIn(readFileSync(join(ROOT, page), 'utf8'))
      .filter((p) => !existsSync(join(ROOT, p)))
      .map((p) => `${page}: ${p}`),
  );
  assert.deepEqual(missing, []);
  // the check sees a made-up path
  assert.deepEqual(pathsIn('open `src/nowhere/x.ts` or `src/train/`'), ['src/nowhere/x.ts', 'src/train/']);
});

test('every link between the pages resolves, to an existing heading where it names one', () => {
  const anchors = (page: string) =>
    new Set(
      (readFileSync(join(ROOT, page), 'utf8').match(/^#+ .*$/gm) ?? []).map((h) =>
        h
          .replace(/^#+ /, '')
          .toLowerCase()
          .replace(/[^\p{L}\p{N} -]/gu, '')
          .replace(/ /g, '-'),
      ),
    );
  const broken: string[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // http(s), mailto
      const [file, anchor] = target!.split('#') as [string, string?];
      const path = file === '' ? page : join(dirname(page), file);
      if (!existsSync(join(ROOT, path))) broken.push(`${page}: ${target}`);
      else if (anchor && path.endsWith('.md') && !anchors(path).has(anchor))
        broken.push(`${page}: ${target} (no heading)`);
    }
  }
  assert.deepEqual(broken, []);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const page of PAGES.filter((p) => p.startsWith('docs/')))
    assert.ok(readme.includes(`](${page})`), `the README's documentation table links ${page}`);
});
