// The guard: after an unfreeze, val loss rising `patience` epochs in a row stops unfreezing, rolls back or stops.
import { count } from '../../core/format.js';
import type { Plan, StagePlan } from '../../schedule/plan.js';
import { UnfreezeGuard } from './counters.js';
import type { EpochOutcome, Policy, PolicyAction } from './policy.js';

/** The guard: after an unfreeze, val loss rising `patience` epochs in a row stops unfreezing (or the run). */
export class GuardPolicy implements Policy {
  readonly key = 'guard';
  /** Unfreezing was stopped: later stages keep the trainable set. */
  stopped = false;
  private watch?: UnfreezeGuard;
  private lastValLoss = Infinity;
  constructor(private readonly guard: Plan['guard']) {}
  startStage(stage: StagePlan, si: number, resumed: boolean): PolicyAction[] {
    if (this.stopped) return [{ type: 'stop-unfreezing' }];
    if (resumed || !this.guard) return [];
    if ((stage.unfreeze.length > 0 || stage.unfreezeLastBlocks !== undefined) && si > 0)
      this.watch = new UnfreezeGuard(this.guard.patience, this.guard.minDelta, this.lastValLoss);
    return [];
  }
  endEpoch(o: EpochOutcome): PolicyAction[] {
    this.lastValLoss = o.valLoss;
    if (!this.guard || !this.watch?.observe(o.valLoss)) return [];
    const reason = `val loss rose ${count(this.watch.risingEpochs, 'epoch')} in a row after unfreezing in stage '${o.stage.name}'`;
    this.watch = undefined;
    if (this.guard.action === 'stop-unfreezing') this.stopped = true;
    return [{ type: this.guard.action, reason }];
  }
  save() {
    return { stopped: this.stopped, lastValLoss: this.lastValLoss, watch: this.watch?.save() };
  }
  load(s: unknown): void {
    const v = s as { stopped: boolean; lastValLoss: number | null; watch?: { last: number | null; rises: number } };
    this.stopped = v.stopped;
    this.lastValLoss = v.lastValLoss ?? Infinity;
    this.watch = undefined;
    if (v.watch && this.guard) {
      this.watch = new UnfreezeGuard(this.guard.patience, this.guard.minDelta, Infinity);
      this.watch.load(v.watch);
    }
  }
}
