// The counters policies keep: epochs without improvement (plateaus, advance) and rises after an unfreeze
// (the guard). Each saves and loads its state, so a resumed run counts on where it stood.
/** Counts epochs without improvement of at least minDelta; true when patience is exhausted. */
export class Patience {
  private best = Infinity;
  private stale = 0;
  constructor(
    private readonly patience: number,
    private readonly minDelta = 0,
  ) {}
  observe(value: number): boolean {
    if (value < this.best - this.minDelta) {
      this.best = value;
      this.stale = 0;
      return false;
    }
    this.stale++;
    return this.stale >= this.patience;
  }
  reset(): void {
    this.stale = 0;
  }
  get staleEpochs(): number {
    return this.stale;
  }
  save(): { best: number; stale: number } {
    return { best: this.best, stale: this.stale };
  }
  load(s: { best: number | null; stale: number }): void {
    this.best = s.best ?? Infinity; // JSON has no Infinity
    this.stale = s.stale;
  }
}

/** Fires when val loss has risen `patience` epochs in a row after an unfreeze. */
export class UnfreezeGuard {
  private rises = 0;
  constructor(
    private readonly patience: number,
    private readonly minDelta: number,
    private last: number,
  ) {}
  /** Feed one epoch's val loss; true when the guard fires. */
  observe(valLoss: number): boolean {
    this.rises = valLoss > this.last + this.minDelta ? this.rises + 1 : 0;
    this.last = valLoss;
    return this.rises >= this.patience;
  }
  get risingEpochs(): number {
    return this.rises;
  }
  save(): { last: number; rises: number } {
    return { last: this.last, rises: this.rises };
  }
  load(s: { last: number | null; rises: number }): void {
    this.last = s.last ?? Infinity;
    this.rises = s.rises;
  }
}
