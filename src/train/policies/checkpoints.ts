// checkpoints/best, checkpoints/top and every-N-epochs checkpoints: when to write them, and which epoch is best.
import type { Plan } from '../../schedule/plan.js';
import type { EpochOutcome, Policy, PolicyAction } from './policy.js';

/**
 * The best epoch by the monitored value (checkpoints/best), the N best (checkpoints/top, keep > 1) and the
 * every-N-epochs checkpoints.
 */
export class CheckpointTiming implements Policy {
  readonly key = 'checkpoints';
  best = { valLoss: Infinity, valAcc: 0, epoch: 0 };
  /** The kept epochs and their monitored values, best first. */
  top: { epoch: number; value: number }[] = [];
  private readonly monitor: 'val_loss' | 'val_acc';
  constructor(private readonly output: Plan['output']['checkpoints']) {
    this.monitor = output.best ? output.best.monitor : 'val_loss';
  }
  /** The best epoch as loaded (or none yet): what the runner starts the stage with. */
  startStage(): PolicyAction[] {
    return [this.bestAction()];
  }
  private bestAction(): PolicyAction {
    return { type: 'best', ...this.best, top: this.top.map((t) => t.epoch) };
  }
  /** Strictly better; NaN never is. */
  private better(a: number, b: number): boolean {
    return this.monitor === 'val_acc' ? a > b : a < b;
  }
  private valueOf(o: { valLoss: number; valAcc: number }): number {
    return this.monitor === 'val_acc' ? o.valAcc : o.valLoss;
  }
  endEpoch(o: EpochOutcome): PolicyAction[] {
    const out: PolicyAction[] = [];
    const value = this.valueOf(o);
    const current =
      this.best.epoch === 0 ? (this.monitor === 'val_acc' ? -Infinity : Infinity) : this.valueOf(this.best);
    if (this.better(value, current)) {
      this.best = { valLoss: o.valLoss, valAcc: o.valAcc, epoch: o.epoch };
      if (this.output.best) out.push({ type: 'checkpoint', kind: 'best' });
    }
    const keep = this.output.best ? this.output.best.keep : 1;
    const last = this.top[keep - 1];
    if (keep > 1 && !Number.isNaN(value) && (!last || this.better(value, last.value))) {
      // ties keep the earlier epoch ahead
      const at = this.top.findIndex((t) => this.better(value, t.value));
      this.top.splice(at < 0 ? this.top.length : at, 0, { epoch: o.epoch, value });
      this.top.length = Math.min(this.top.length, keep);
      out.push({ type: 'checkpoint', kind: 'top' });
    }
    const every = this.output.everyEpochs;
    if (every && o.epoch % every === 0) out.push({ type: 'checkpoint', kind: 'epoch' });
    // every epoch, before the checkpoints: the one written now holds this epoch as best
    return [this.bestAction(), ...out];
  }
  save() {
    return { best: this.best, top: this.top };
  }
  load(s: unknown): void {
    const saved = s as {
      best: { valLoss: number | null; valAcc: number; epoch: number };
      top?: CheckpointTiming['top'];
    };
    this.best = { ...saved.best, valLoss: saved.best.valLoss ?? Infinity };
    this.top = saved.top ?? [];
  }
}
