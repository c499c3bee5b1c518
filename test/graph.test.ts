// The module graph is enforced by lint: an import against its direction fails `npm run lint`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
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
