// Number formats shared by the terminal views (plan, progress).

export const fmtLr = (x: number): string =>
  x === 0 ? '0' : x >= 0.01 && x < 1000 ? String(+x.toPrecision(3)) : x.toExponential(1).replace('.0e', 'e');

/** "1 epoch", "3 epochs": a count with its noun. */
export const count = (n: number, noun: string, plural = `${noun}s`): string =>
  `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
