// The lr range test's arithmetic (no tensors): the exponential sweep, the smoothed loss, when to stop,
// and how a learning rate is picked from the curve (fastai's rules: valley, steepest descent).

export interface LrFindSettings {
  /** First and last lr of the sweep (exponential in between). */
  min: number;
  max: number;
  /** Steps of the sweep (batches); stops early when the loss diverges. */
  steps: number;
  rule: 'valley' | 'steepest';
}

export const LR_FIND_DEFAULTS: LrFindSettings = { min: 1e-7, max: 10, steps: 100, rule: 'valley' };

/** The lr of sweep step i (0-based) of n: min·(max/min)^(i/(n−1)). */
export const sweepLr = (s: LrFindSettings, i: number): number =>
  s.min * (s.max / s.min) ** (s.steps > 1 ? i / (s.steps - 1) : 0);

/** Exponential moving average of the loss with bias correction (β = 0.98, as fastai). */
export class SmoothedLoss {
  private avg = 0;
  private n = 0;
  private best = Infinity;
  value = NaN;
  constructor(private readonly beta = 0.98) {}
  /** Adds a step's loss; true when the sweep should stop (not finite, or 4× above the best so far). */
  add(loss: number): boolean {
    this.n++;
    this.avg = this.beta * this.avg + (1 - this.beta) * loss;
    this.value = this.avg / (1 - this.beta ** this.n);
    if (!Number.isFinite(this.value)) return true;
    this.best = Math.min(this.best, this.value);
    return this.n > 1 && this.value > 4 * this.best;
  }
}

export interface LrPoint {
  lr: number;
  loss: number;
}

/**
 * The suggested lr. Like fastai's lr_find, the first tenth of the sweep and its last 5 steps are left out
 * (warm-up noise; the blow-up). valley: the middle of the longest run of decreasing loss, a little towards
 * its steep end (fastai's default). steepest: where the loss falls fastest per decade of lr.
 */
export function suggestLr(points: readonly LrPoint[], rule: LrFindSettings['rule']): number | undefined {
  const end = points.length > 10 ? points.length - 5 : points.length;
  const use = points.slice(Math.floor(points.length / 10), end).filter((p) => Number.isFinite(p.loss));
  if (use.length < 5) return undefined;
  const losses = use.map((p) => p.loss);
  if (rule === 'steepest') {
    let best = 0;
    let slope = Infinity;
    for (let i = 1; i < use.length; i++) {
      const s = (losses[i]! - losses[i - 1]!) / (Math.log(use[i]!.lr) - Math.log(use[i - 1]!.lr));
      if (s < slope) [slope, best] = [s, i];
    }
    return use[best]!.lr;
  }
  // valley: longest decreasing subsequence ending at each point (fastai's O(n²) version)
  const lds = losses.map(() => 1);
  let [start, stop] = [0, 0];
  for (let i = 1; i < losses.length; i++) {
    for (let j = 0; j < i; j++) if (losses[i]! < losses[j]! && lds[i]! < lds[j]! + 1) lds[i] = lds[j]! + 1;
    if (lds[stop]! < lds[i]!) [stop, start] = [i, i - lds[i]!];
  }
  const sections = (stop - start) / 3;
  return use[Math.max(0, start + Math.floor(sections) + Math.floor(sections / 2))]!.lr;
}
