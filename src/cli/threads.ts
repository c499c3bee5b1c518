// The wasm thread count: --threads, else FREEZEFLOW_THREADS (so compare's child runs and scripts can
// set it once), else the default (every core; at most 2 for images under 64×64, such as the builtin digits).
import { EXIT_USAGE, UserError } from '../core/errors.js';

export function threadsSetting(flag?: string): number | undefined {
  const [v, from] =
    flag !== undefined ? [flag, '--threads'] : [process.env['FREEZEFLOW_THREADS'], 'FREEZEFLOW_THREADS'];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 8)
    throw new UserError(`${from} must be a whole number from 1 to 8 (got '${v}')`, EXIT_USAGE);
  return n;
}
