// `freezeflow import`'s option values, checked by commander before any work (no tfjs here).
import { InvalidArgumentError } from 'commander';
import { parse } from 'yaml';
import { normalizePreprocess, type Preprocess } from '../core/preprocess.js';

/** imagenet | unit | symmetric | '{mean: [..], std: [..]}' */
export function preprocessArg(v: string): Preprocess {
  if (v === 'imagenet' || v === 'unit' || v === 'symmetric') return normalizePreprocess(v);
  let o: unknown;
  try {
    o = parse(v);
  } catch {
    o = undefined;
  }
  const ok = (a: unknown) =>
    Array.isArray(a) && a.length > 0 && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  const rec = o as { mean?: unknown; std?: unknown } | undefined;
  if (!rec || typeof rec !== 'object' || !ok(rec.mean) || !ok(rec.std) || (rec.std as number[]).some((s) => s <= 0))
    throw new InvalidArgumentError("expected imagenet, unit, symmetric or '{mean: [..], std: [..]}' (std > 0)");
  return normalizePreprocess({ mean: rec.mean as number[], std: rec.std as number[] });
}

/** "224,224" or "224" → [H, W] */
export function inputSizeArg(v: string): [number, number] {
  const parts = v.split(/[,x×]/).map((s) => Number(s.trim()));
  if (parts.length > 2 || parts.some((n) => !Number.isInteger(n) || n < 1))
    throw new InvalidArgumentError('expected H,W (or one number for a square input), whole numbers ≥ 1');
  return [parts[0]!, parts[1] ?? parts[0]!];
}
