// Learning-rate schedules are pure functions of the step within a stage (schedulers/), so `plan` can
// print exactly the curve the runner will apply; this file draws them.
export { lrAt, type NormalizedScheduler } from './schedulers/index.js';

/** A compact one-line sketch of values (log-scaled) with block characters. */
export function sparkline(values: readonly number[], width = 24): string {
  if (values.length === 0) return '';
  const blocks = '▁▂▃▄▅▆▇█';
  const sampled: number[] = [];
  const w = Math.min(width, values.length);
  for (let i = 0; i < w; i++) sampled.push(values[Math.floor((i * values.length) / w)]!);
  const logs = sampled.map((v) => Math.log(Math.max(v, 1e-30)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  if (hi - lo < 1e-9) return blocks[blocks.length - 1]!.repeat(w);
  return logs.map((l) => blocks[Math.round(((l - lo) / (hi - lo)) * (blocks.length - 1))]!).join('');
}
