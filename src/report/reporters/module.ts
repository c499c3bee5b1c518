// A reporter of the user's own: an ES module named in output.reporters whose default export is
// (options, context) => ({ onEvent(event), close() }). Imported before the run folder exists, so a wrong
// path or shape is a schedule error (exit 2) that costs nothing; made once the run folder is known.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EXIT_USAGE, UserError } from '../../core/errors.js';
import type { Reporter } from '../../core/events.js';

/** What a user reporter is told besides its options. */
export interface ReporterContext {
  runDir: string;
  schedule: string;
  /** A resumed run: the events of the first process were already reported. */
  resumed: boolean;
}

export type ReporterFactory = (options: Record<string, unknown>, context: ReporterContext) => unknown;

const SHAPE = 'export default (options, context) => ({ onEvent(event) {…}, async close() {…} })';

/** Import `module` (relative to `baseDir`) and check its default export; errors name the key. */
export async function importReporter(module: string, baseDir: string, index: number): Promise<ReporterFactory> {
  const key = ['output', 'reporters', index, 'module'];
  let m: { default?: unknown };
  try {
    m = (await import(pathToFileURL(resolve(baseDir, module)).href)) as { default?: unknown };
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'no such module' : (err as Error).message;
    throw new UserError(`cannot import '${module}': ${why.split('\n')[0]}`, EXIT_USAGE, key);
  }
  if (typeof m.default !== 'function')
    throw new UserError(`'${module}' has no default export function; write ${SHAPE}`, EXIT_USAGE, key);
  return m.default as ReporterFactory;
}

/** The reporter the factory makes; a missing onEvent is refused by name (the bus guards the rest). */
export function makeReporter(
  module: string,
  factory: ReporterFactory,
  options: Record<string, unknown>,
  context: ReporterContext,
): Reporter {
  let r: Partial<Reporter> | undefined;
  try {
    r = factory(options, context) as Partial<Reporter> | undefined;
  } catch (err) {
    throw new UserError(`the reporter '${module}' failed to start: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof r?.onEvent !== 'function')
    throw new UserError(`the reporter '${module}' returned no onEvent function; write ${SHAPE}`, EXIT_USAGE, [
      'output',
      'reporters',
    ]);
  return { onEvent: (e) => r.onEvent!(e), close: () => r.close?.() };
}
