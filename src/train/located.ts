// Failures about a schedule key, placed at that key's file:line:col.
import { UserError } from '../core/errors.js';
import { formatIssue, ScheduleError } from '../core/issues.js';
import type { LoadedSchedule } from '../schedule/load.js';

/** Errors found while building (model.cutAt against the real layers, a model or data path the schedule names) at their file position. */
export async function located<T>(loaded: LoadedSchedule, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UserError && err.key) throw atKey(loaded, err, err.key);
    if (!(err instanceof ScheduleError)) throw err;
    throw new ScheduleError(err.issues.map((i) => ({ ...i, location: i.location ?? loaded.source.locate(i.path) })));
  }
}

/** "m.yaml:2:11: model.source: cannot read …": a failure about a schedule key, at that key's line. */
function atKey(loaded: LoadedSchedule, err: UserError, key: readonly (string | number)[]): UserError {
  const where = formatIssue({ path: [...key], message: '', location: loaded.source.locate(key) });
  const name = key.join('.');
  const message = err.message.startsWith(name) ? err.message : `${name}: ${err.message}`;
  return new UserError(`${where}${message}`, err.exitCode);
}
