// Writing files so that a crash or a full disk never leaves a half-written one under the real name.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { faultPoint } from './fault.js';

/** Write a file atomically: a temp file in the same directory, flushed to disk, then renamed. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeSynced(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

const COMPLETE = '.complete';

/** Write all of `data` and flush it: writeSync may write less than asked (a nearly full disk does). */
function writeSynced(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes.byteLength;) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replace the folder `dir` by one holding `files`, so that a crash at any point leaves either the old
 * folder or the new one, recoverable by recoverDirs: the new one is written to DIR.tmp-PID and flushed
 * (a `.complete` marker last), the old one moved to DIR.old-PID, the new one renamed into place, the old
 * one removed.
 */
export function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    for (const [name, data] of Object.entries(files)) writeSynced(join(tmp, name), data);
    writeSynced(join(tmp, COMPLETE), '');
    fsyncDir(tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  faultPoint('checkpoint-write');
  if (existsSync(dir)) renameSync(dir, old);
  faultPoint('checkpoint-swap');
  renameSync(tmp, dir);
  fsyncDir(dirname(dir));
  rmSync(old, { recursive: true, force: true });
}

/**
 * After a crash inside writeDirAtomic: every folder of `parent` is whole again (a missing one comes back
 * from its complete new copy, else from its old one), and no .tmp-/.old- leftovers remain. Returns what
 * it did, one line each.
 */
export function recoverDirs(parent: string): string[] {
  if (!existsSync(parent)) return [];
  const done: string[] = [];
  const leftovers = readdirSync(parent)
    .map((name) => ({ name, m: /^(.*)\.(tmp|old)-\d+$/.exec(name) }))
    .filter((e): e is { name: string; m: RegExpExecArray } => e.m !== null);
  for (const base of new Set(leftovers.map((e) => e.m[1]!))) {
    const mine = leftovers.filter((e) => e.m[1] === base);
    const target = join(parent, base);
    if (!existsSync(target)) {
      const fresh = mine.find((e) => e.m[2] === 'tmp' && existsSync(join(parent, e.name, COMPLETE)));
      const back = fresh ?? mine.find((e) => e.m[2] === 'old');
      if (back) {
        renameSync(join(parent, back.name), target);
        done.push(`${base}: restored from ${back.name}`);
      }
    }
    for (const e of mine)
      if (existsSync(join(parent, e.name))) rmSync(join(parent, e.name), { recursive: true, force: true });
  }
  return done;
}
