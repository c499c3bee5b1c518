// reduceOnPlateau: the lr factor after stale epochs (PyTorch's rule).
import type { StagePlan } from '../../schedule/plan.js';
import { Patience } from './counters.js';
import type { EpochOutcome, Policy, PolicyAction } from './policy.js';

type PatienceState = { best: number | null; stale: number };

/** reduceOnPlateau: multiplies the stage's lr by `factor` after patience+1 stale epochs (PyTorch's rule). */
export class PlateauLr implements Policy {
  readonly key = 'plateau';
  factor = 1;
  private patience?: Patience;
  private loaded?: { factor: number; patience?: PatienceState };
  startStage(stage: StagePlan, _si: number, resumed: boolean): PolicyAction[] {
    const sc = stage.scheduler;
    this.patience = sc.type === 'reduceOnPlateau' ? new Patience(sc.patience + 1) : undefined;
    this.factor = resumed && this.loaded ? this.loaded.factor : 1;
    if (resumed && this.loaded?.patience) this.patience?.load(this.loaded.patience);
    this.loaded = undefined;
    return [{ type: 'scale-lr', factor: this.factor }];
  }
  endEpoch(o: EpochOutcome): PolicyAction[] {
    const sc = o.stage.scheduler;
    if (sc.type !== 'reduceOnPlateau' || !this.patience?.observe(o.valLoss)) return [];
    this.factor = Math.max(this.factor * sc.factor, sc.minLr / o.stage.lr);
    this.patience.reset(); // then count afresh
    return [{ type: 'scale-lr', factor: this.factor }];
  }
  save() {
    return { factor: this.factor, patience: this.patience?.save() };
  }
  load(s: unknown): void {
    this.loaded = s as { factor: number; patience?: PatienceState };
  }
}
