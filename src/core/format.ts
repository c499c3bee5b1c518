// Number formats shared by the terminal views (plan, progress).

export const fmtLr = (x: number): string =>
  x === 0 ? '0' : x >= 0.01 && x < 1000 ? String(+x.toPrecision(3)) : x.toExponential(1).replace('.0e', 'e');

/** "1 epoch", "3 epochs": a count with its noun. */
export const count = (n: number, noun: string, plural = `${noun}s`): string =>
  `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;

/** A parameter count at a glance, 3 significant digits: 950, 48.2k, 412k, 2.26M. */
export function fmtCount(n: number): string {
  const a = Math.abs(n);
  if (a < 999.5) return String(Math.round(n));
  if (a < 999_500) return `${+(n / 1e3).toPrecision(3)}k`;
  return `${+(n / 1e6).toPrecision(3)}M`;
}
