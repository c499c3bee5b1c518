// Policies decide *when* to act; the runner does the acting (as Lightning keeps BaseFinetuning's
// mechanics apart from the schedule callback). Each policy owns its state and hands it out for a
// checkpoint (`save`) and takes it back on --resume (`load`), so a resumed run decides as the
// uninterrupted one would.
import { count } from '../core/format.js';
import type { Plan, StagePlan } from '../schedule/plan.js';

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

/** What an epoch ended with, as the policies see it. */
export interface EpochOutcome {
  stage: StagePlan;
  stageIndex: number;
  epoch: number;
  valLoss: number;
  valAcc: number;
}

/** What a policy asks the runner to do after an epoch. */
export type PolicyAction =
  | { type: 'checkpoint'; kind: 'best' | 'top' | 'epoch' }
  | { type: 'end-stage'; reason: string }
  | { type: 'guard'; action: 'stop-unfreezing' | 'rollback' | 'stop'; reason: string };

export interface Policy {
  /** Key of the policy's state in a checkpoint. */
  readonly key: string;
  /** A stage begins; `resumed` when a checkpoint re-enters it mid-way (its counters were loaded). */
  startStage(stage: StagePlan, stageIndex: number, resumed: boolean): void;
  endEpoch(o: EpochOutcome): PolicyAction[];
  save(): unknown;
  load(state: unknown): void;
}

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
  startStage(): void {}
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
    return out;
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

type PatienceState = { best: number | null; stale: number };

/** reduceOnPlateau: multiplies the stage's lr by `factor` after patience+1 stale epochs (PyTorch's rule). */
export class PlateauLr implements Policy {
  readonly key = 'plateau';
  factor = 1;
  private patience?: Patience;
  private loaded?: { factor: number; patience?: PatienceState };
  startStage(stage: StagePlan, _si: number, resumed: boolean): void {
    const sc = stage.scheduler;
    this.patience = sc.type === 'reduceOnPlateau' ? new Patience(sc.patience + 1) : undefined;
    this.factor = resumed && this.loaded ? this.loaded.factor : 1;
    if (resumed && this.loaded?.patience) this.patience?.load(this.loaded.patience);
    this.loaded = undefined;
  }
  endEpoch(o: EpochOutcome): PolicyAction[] {
    const sc = o.stage.scheduler;
    if (sc.type !== 'reduceOnPlateau' || !this.patience?.observe(o.valLoss)) return [];
    this.factor = Math.max(this.factor * sc.factor, sc.minLr / o.stage.lr);
    this.patience.reset(); // then count afresh
    return [];
  }
  save() {
    return { factor: this.factor, patience: this.patience?.save() };
  }
  load(s: unknown): void {
    this.loaded = s as { factor: number; patience?: PatienceState };
  }
}

/** The guard: after an unfreeze, val loss rising `patience` epochs in a row stops unfreezing (or the run). */
export class GuardPolicy implements Policy {
  readonly key = 'guard';
  /** Unfreezing was stopped: later stages keep the trainable set. */
  stopped = false;
  private watch?: UnfreezeGuard;
  private lastValLoss = Infinity;
  constructor(private readonly guard: Plan['guard']) {}
  startStage(stage: StagePlan, si: number, resumed: boolean): void {
    if (resumed || !this.guard || this.stopped) return;
    if ((stage.unfreeze.length > 0 || stage.unfreezeLastBlocks !== undefined) && si > 0)
      this.watch = new UnfreezeGuard(this.guard.patience, this.guard.minDelta, this.lastValLoss);
  }
  endEpoch(o: EpochOutcome): PolicyAction[] {
    this.lastValLoss = o.valLoss;
    if (!this.guard || !this.watch?.observe(o.valLoss)) return [];
    const reason = `val loss rose ${count(this.watch.risingEpochs, 'epoch')} in a row after unfreezing in stage '${o.stage.name}'`;
    this.watch = undefined;
    if (this.guard.action === 'stop-unfreezing') this.stopped = true;
    return [{ type: 'guard', action: this.guard.action, reason }];
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

/**
 * advance.onPlateau (or earlyStopping): ends the stage (not the run) when the monitored value stops
 * improving; the runner starts the next stage at the next epoch.
 */
export class StageAdvance implements Policy {
  readonly key = 'earlyStopping'; // the name checkpoints of earlier versions saved it under
  private patience?: Patience;
  private monitor: 'val_loss' | 'val_acc' = 'val_loss';
  private loaded?: PatienceState;
  startStage(stage: StagePlan, _si: number, resumed: boolean): void {
    const a = stage.advance;
    this.patience = a ? new Patience(a.patience, a.minDelta) : undefined;
    this.monitor = a?.monitor ?? 'val_loss';
    if (resumed && this.loaded) this.patience?.load(this.loaded);
    this.loaded = undefined;
  }
  endEpoch(o: EpochOutcome): PolicyAction[] {
    // Patience wants lower-is-better: accuracy goes in negated
    const value = this.monitor === 'val_acc' ? -o.valAcc : o.valLoss;
    if (!this.patience?.observe(value)) return [];
    return [
      { type: 'end-stage', reason: `no ${this.monitor} improvement for ${count(this.patience.staleEpochs, 'epoch')}` },
    ];
  }
  save() {
    return { patience: this.patience?.save() };
  }
  load(s: unknown): void {
    this.loaded = (s as { patience?: PatienceState }).patience;
  }
}

/** The run's policies, in the order they see each epoch. */
export function makePolicies(plan: Plan) {
  return {
    checkpoints: new CheckpointTiming(plan.output.checkpoints),
    plateau: new PlateauLr(),
    guard: new GuardPolicy(plan.guard),
    earlyStopping: new StageAdvance(),
  };
}
export type Policies = ReturnType<typeof makePolicies>;
