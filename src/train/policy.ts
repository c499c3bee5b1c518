// Policies that decide *when* to act, kept apart from the mechanics of freezing and training
// (as PyTorch Lightning keeps BaseFinetuning's mechanics apart from the schedule callback).

/** Fires when val loss has risen `patience` epochs in a row after an unfreeze. */
export class UnfreezeGuard {
  private last: number;
  private rises = 0;
  constructor(
    private readonly patience: number,
    private readonly minDelta: number,
    lastValLoss: number,
  ) {
    this.last = lastValLoss;
  }
  /** Feed one epoch's val loss; true when the guard fires. */
  observe(valLoss: number): boolean {
    this.rises = valLoss > this.last + this.minDelta ? this.rises + 1 : 0;
    this.last = valLoss;
    return this.rises >= this.patience;
  }
  get risingEpochs(): number {
    return this.rises;
  }
}

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
}
