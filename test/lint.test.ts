// .ci/run runs `npm run lint` before the tests; this checks that its type-checked promise rules are on:
// a promise nobody awaits loses its error (a reporter's close, a checkpoint write).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { ROOT } from './helpers.js';

const eslint = new ESLint({ cwd: ROOT });

test('a floating or misused promise fails lint (type-checked rules)', async () => {
  const lint = async (code: string) =>
    (await eslint.lintText(code, { filePath: join(ROOT, 'src/core/format.ts') }))[0]!.messages.map((m) => m.ruleId);
  const floating = 'export async function f(): Promise<number> { return 1; }\nexport function g(): void { f(); }\n';
  assert.deepEqual(await lint(floating), ['@typescript-eslint/no-floating-promises']);
  const misused = 'export function g(xs: number[]): void { xs.forEach(async (x) => { await Promise.resolve(x); }); }\n';
  assert.deepEqual(await lint(misused), ['@typescript-eslint/no-misused-promises']);
  assert.deepEqual(await lint('export async function g(): Promise<void> { await Promise.resolve(); }\n'), []);
});
