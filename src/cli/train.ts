import { UserError } from './errors.js';
export async function runTrain(_o: unknown): Promise<number> {
  throw new UserError('train: not available yet');
}
