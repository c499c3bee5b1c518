// advance.onPlateau (earlyStopping): ends the stage when the monitored value stops improving.
import { count } from '../../core/format.js';
import type { StagePlan } from '../../schedule/plan.js';
import { Patience } from './counters.js';
import type { EpochOutcome, Policy, PolicyAction } from './policy.js';

type PatienceState = { best: number | null; stale: number };

/**
 * advance.onPlateau (or earlyStopping): ends the stage (not the run) when the monitored value stops
 * improving; the runner starts the next stage at the next epoch.
 */
export class StageAdvance implements Policy {
  readonly key = 'earlyStopping'; // the name checkpoints of earlier versions saved it under
  private patience?: Patience;
  private monitor: 'val_loss' | 'val_acc' = 'val_loss';
  private loaded?: PatienceState;
  startStage(stage: StagePlan, _si: number, resumed: boolean): PolicyAction[] {
    const a = stage.advance;
    this.patience = a ? new Patience(a.patience, a.minDelta) : undefined;
    this.monitor = a?.monitor ?? 'val_loss';
    if (resumed && this.loaded) this.patience?.load(this.loaded);
    this.loaded = undefined;
    return [];
  }
  endEpoch(o: EpochOutcome): PolicyAction[] {
    // Patience wants lower-is-better: accuracy goes in negated
    const value = this.monitor === 'val_acc' ? -o.valAcc : o.valLoss;
    if (!this.patience?.observe(value)) return [];
    return [
      { type: 'advance', reason: `no ${this.monitor} improvement for ${count(this.patience.staleEpochs, 'epoch')}` },
    ];
  }
  save() {
    return { patience: this.patience?.save() };
  }
  load(s: unknown): void {
    this.loaded = (s as { patience?: PatienceState }).patience;
  }
}
