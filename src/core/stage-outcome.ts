// How a stage went, read back from a run's events (pure): the epochs it ran, what ended it, and the epoch
// restoreBest went back to. chosen-schedule.yaml's notes and the report's auto section both word it.
import type { RunEvent } from './events.js';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

export type StageEnd =
  | { by: 'guard'; action: Ev<'guard'>['action']; reason: string }
  | { by: 'plateau'; epoch: number; reason: string }
  | { by: 'budget' };

export interface StageOutcome {
  first: number;
  last: number;
  end: StageEnd;
  /** restoreBest put this epoch's weights back at the stage's end. */
  restoredTo?: number;
}

/** Stage `si`'s outcome, or undefined when it ran no epoch. */
export function stageOutcome(events: readonly RunEvent[], si: number): StageOutcome | undefined {
  const epochs = events.flatMap((e) => (e.type === 'epoch-end' && e.stageIndex === si ? [e.epoch] : []));
  if (epochs.length === 0) return undefined;
  const [first, last] = [Math.min(...epochs), Math.max(...epochs)];
  const guard = events.find((e): e is Ev<'guard'> => e.type === 'guard' && e.epoch === last);
  const stop = events.find((e): e is Ev<'early-stop'> => e.type === 'early-stop' && e.stageIndex === si);
  const end: StageEnd = guard
    ? { by: 'guard', action: guard.action, reason: guard.reason }
    : stop
      ? { by: 'plateau', epoch: stop.epoch, reason: stop.reason }
      : { by: 'budget' };
  const back = events.find((e): e is Ev<'restore-best'> => e.type === 'restore-best' && e.stageIndex === si);
  return { first, last, end, ...(back ? { restoredTo: back.bestEpoch } : {}) };
}
