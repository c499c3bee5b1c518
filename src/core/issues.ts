// Problems found in a schedule, each pinned to a place in the file so an editor can jump there.

export interface Location {
  /** The file, or a command-line flag (then line and col are 0). */
  file: string;
  line: number; // 1-based
  col: number; // 1-based
}

export interface ScheduleIssue {
  /** JSON path of the offending node, e.g. ['stages', 1, 'lr']. */
  path: (string | number)[];
  message: string;
  location?: Location;
}

/** `stages[1].lr` from ['stages', 1, 'lr']. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(root)' : out;
}

export function formatIssue(issue: ScheduleIssue): string {
  const l = issue.location;
  const where = !l ? '' : l.line === 0 ? `${l.file}: ` : `${l.file}:${l.line}:${l.col}: `;
  return `${where}${issue.message}`;
}

/** Thrown when a schedule cannot be used; carries every issue found, not only the first. */
export class ScheduleError extends Error {
  constructor(readonly issues: ScheduleIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ScheduleError';
  }
}

/** Levenshtein distance, for did-you-mean hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + cost);
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The candidates closest to `word` (at most `max`), or none when nothing is reasonably close. */
export function closest(word: string, candidates: Iterable<string>, max = 1): string[] {
  const limit = Math.max(2, Math.floor(word.length / 3));
  return [...new Set(candidates)]
    .map((c) => ({ c, d: editDistance(word, c) }))
    .filter(({ c, d }) => d <= limit || c.toLowerCase().startsWith(word.toLowerCase()))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, max)
    .map(({ c }) => c);
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  const [best] = closest(word, candidates);
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}
