// Option values checked by commander before any work: a bad value is a usage error (exit 2) naming the
// option, never a failure later on ("the training split is empty" for --samples 0).
import { InvalidArgumentError, Option } from 'commander';
import { BACKENDS } from '../backend/names.js';

export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        `expected a whole number ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}`,
      );
    return n;
  };
}

/** "200,1000,4000": whole numbers ≥ 1, comma-separated. */
export function numberList(v: string): number[] {
  return v.split(',').map((x) => wholeNumber(1)(x.trim()));
}

export const backendOption = (description: string, fallback?: string) => {
  const o = new Option('--backend <name>', description).choices(BACKENDS);
  return fallback === undefined ? o : o.default(fallback);
};

/** --threads N, or FREEZEFLOW_THREADS (so compare's child runs and scripts can set it once). */
export const threadsOption = () =>
  new Option('--threads <n>', 'wasm threads (default: every core, at most 2 for images under 64×64)')
    .argParser(wholeNumber(1, 8))
    .env('FREEZEFLOW_THREADS');

/** --set KEY=VALUE, as often as needed (the schedule loader checks key and value against the schema). */
export const setOption = () =>
  new Option('--set <key=value>', 'override any schedule key, e.g. --set stages.1.lr=3e-4 (repeatable)').argParser(
    (v: string, all: string[] | undefined) => [...(all ?? []), v],
  );

/** A number ≥ 0 (accuracy points for --max-drop). */
export function nonNegative(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
}
