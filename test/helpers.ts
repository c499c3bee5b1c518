// Shared test helpers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';

export const ROOT = packageRoot();

export function tempDir(prefix = 'ff-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs the real CLI (bin/freezeflow) as a pipeline would: no TTY, captured output. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/freezeflow'), ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...opts.env },
    timeout: 600_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
