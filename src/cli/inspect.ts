import { UserError } from './errors.js';
export async function runInspect(_m: string, _o: unknown, _out: (s: string) => void): Promise<number> {
  throw new UserError('inspect: not available yet');
}
