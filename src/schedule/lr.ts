// Learning-rate schedules as pure functions of the step within a stage, so `plan` can print exactly the
// curve the runner will apply. Steps count epochs or batches depending on `stepPer`.

export type NormalizedScheduler =
  | { type: 'constant'; warmup: number; stepPer: 'epoch' | 'batch' }
  | { type: 'step'; stepSize: number; gamma: number; warmup: number; stepPer: 'epoch' | 'batch' }
  | { type: 'exponential'; gamma: number; warmup: number; stepPer: 'epoch' | 'batch' }
  | { type: 'cosine'; minLr: number; warmup: number; stepPer: 'epoch' | 'batch' }
  | {
      type: 'onecycle';
      pctStart: number;
      divFactor: number;
      finalDivFactor: number;
      warmup: 0;
      stepPer: 'epoch' | 'batch';
    }
  | { type: 'reduceOnPlateau'; factor: number; patience: number; minLr: number; warmup: 0; stepPer: 'epoch' };

function cosineBetween(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (1 + Math.cos(Math.PI * pct));
}

/**
 * The lr at step `t` (0-based) of a stage of `total` steps with base lr `lr`.
 * - warm-up: lr × (t+1)/warmup for t < warmup; the main schedule then runs over the remaining steps.
 * - step: lr × gamma^⌊t/stepSize⌋; exponential: lr × gamma^t.
 * - cosine: from lr at the first step to minLr at the last step of the stage.
 * - onecycle: PyTorch's OneCycleLR (cosine phases) with the stage lr as the peak.
 * - reduceOnPlateau: the base lr (reductions depend on val loss and are applied by the runner).
 */
export function lrAt(s: NormalizedScheduler, lr: number, t: number, total: number): number {
  if (s.warmup > 0 && t < s.warmup) return (lr * (t + 1)) / s.warmup;
  const u = t - s.warmup;
  const n = Math.max(1, total - s.warmup);
  switch (s.type) {
    case 'constant':
    case 'reduceOnPlateau':
      return lr;
    case 'step':
      return lr * s.gamma ** Math.floor(u / s.stepSize);
    case 'exponential':
      return lr * s.gamma ** u;
    case 'cosine':
      return n <= 1 ? lr : cosineBetween(lr, s.minLr, Math.min(u, n - 1) / (n - 1));
    case 'onecycle': {
      const initial = lr / s.divFactor;
      const min = initial / s.finalDivFactor;
      const upEnd = s.pctStart * n - 1;
      if (u <= upEnd) return upEnd <= 0 ? lr : cosineBetween(initial, lr, u / upEnd);
      const downLen = n - 1 - upEnd;
      return downLen <= 0 ? min : cosineBetween(lr, min, (u - upEnd) / downLen);
    }
  }
}

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
