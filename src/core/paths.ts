// Locations inside the installed package (works from src/ via tsx and from dist/src/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json')) || !existsSync(resolve(dir, 'schedules'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the freezeflow package root');
    dir = up;
  }
  root = dir;
  return dir;
}

/** freezeflow's own version (package.json). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(resolve(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
