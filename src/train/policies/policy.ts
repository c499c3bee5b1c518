// What a policy is: it decides *when* to act and says so as actions; the runner does the acting and names
// no policy (as Lightning keeps BaseFinetuning's mechanics apart from the schedule callback). Each policy
// owns its state and hands it out for a checkpoint (`save`) and takes it back on --resume (`load`), so a
// resumed run decides as the uninterrupted one would.
import type { StagePlan } from '../../schedule/plan.js';

/** What an epoch ended with, as the policies see it. */
export interface EpochOutcome {
  stage: StagePlan;
  stageIndex: number;
  epoch: number;
  valLoss: number;
  valAcc: number;
}

/** The best epoch so far by the monitored value, and the kept best epochs (checkpoints/top), best first. */
export interface BestEpoch {
  epoch: number;
  valLoss: number;
  valAcc: number;
  top: number[];
}

/** What a policy asks the runner to do, at a stage's start or after an epoch. */
export type PolicyAction =
  | { type: 'checkpoint'; kind: 'best' | 'top' | 'epoch' }
  /** The best epoch (and top list) as it stands now: restoreBest and the run state read it. */
  | ({ type: 'best' } & BestEpoch)
  /** Every lr × factor from the next epoch on, until the stage ends (reduceOnPlateau). */
  | { type: 'scale-lr'; factor: number }
  /** End the stage; the next one starts at the next epoch. */
  | { type: 'advance'; reason: string }
  /** Later stages keep the trainable set; a reason when it is decided now (not carried from a resume). */
  | { type: 'stop-unfreezing'; reason?: string }
  /** Back to the best epoch's weights, and end the run. */
  | { type: 'rollback'; reason: string }
  | { type: 'stop'; reason: string };

export interface Policy {
  /** Key of the policy's state in a checkpoint. */
  readonly key: string;
  /** A stage begins; `resumed` when a checkpoint re-enters it mid-way (its counters were loaded). */
  startStage(stage: StagePlan, stageIndex: number, resumed: boolean): PolicyAction[];
  endEpoch(o: EpochOutcome): PolicyAction[];
  save(): unknown;
  load(state: unknown): void;
}
