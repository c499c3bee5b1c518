// The images a run held out for validation (data-split.json), found again in its data folder: what
// `evaluate` scores by default and what `export` measures an export's accuracy cost on.
import { existsSync, realpathSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { readDataSplit } from '../core/run-files.js';
import type { FolderLayout, ImageFile } from './images.js';

/**
 * The images to score: a run's own validation images when `model` is a run directory trained on this
 * folder (data-split.json), unless `all`; else the folder's val/ part, else the whole folder.
 */
export function heldOutFiles(
  model: string,
  data: string,
  layout: FolderLayout,
  all?: boolean,
): { files: ImageFile[]; which: string } {
  const whole = { files: layout.val ?? layout.train, which: layout.val ? 'its val/ part' : 'every image' };
  const split = all ? undefined : readDataSplit(model);
  if (!split) return whole;
  // the run saved absolute paths; the folder may be given relative, through a link, or moved since
  const moved = !existsSync(split.root);
  if (!moved && real(split.root) !== real(data)) return whole;
  const keep = new Set(split.val.map((v) => relative(split.root, v)));
  const files = [...layout.train, ...(layout.val ?? [])].filter((f) => keep.has(relative(data, f.path)));
  if (files.length === 0) return whole;
  return { files, which: "the run's validation images (--all for every image)" };
}

/** A path as the file system resolves it (links followed), or as given when it does not exist. */
function real(p: string): string {
  try {
    return realpathSync(resolve(p));
  } catch {
    return resolve(p);
  }
}
