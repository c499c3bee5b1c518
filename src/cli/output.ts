// What every command writes with: stdout lines, and a schedule problem as one line.
import { formatIssue, type ScheduleIssue } from '../core/issues.js';

export const out = (s: string): void => void process.stdout.write(`${s}\n`);

/** A schedule problem as one line: at its position, or (a missing file) under freezeflow's name. */
export const issueLine = (i: ScheduleIssue): string => `${i.location ? '' : 'freezeflow: '}${formatIssue(i)}`;
