#!/usr/bin/env node
// npm pack hooks. `prepare` builds dist/ in a clone; in the tarball it would only make npm 11 list
// freezeflow among the packages whose install scripts need approval (and fail if approved: the
// package ships no tsconfig or TypeScript). `strip` (prepack) drops it from package.json and keeps
// the original beside it; `restore` (postpack) puts the original back.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const [file, saved] = ['package.json', 'package.json.prepack'];
const mode = process.argv[2];
if (mode === 'strip') {
  if (!existsSync(saved)) renameSync(file, saved); // a pack cut off earlier left the original here
  const manifest = JSON.parse(readFileSync(saved, 'utf8'));
  delete manifest.scripts.prepare;
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (mode === 'restore') {
  if (existsSync(saved)) renameSync(saved, file);
} else {
  process.stderr.write('usage: pack-manifest.mjs strip|restore\n');
  process.exit(2);
}
