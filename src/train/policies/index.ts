// The policies, one file each, in the order they see every epoch. Adding one: a file beside these that
// implements Policy (policy.ts) with the actions it needs, and a line here.
import type { Plan } from '../../schedule/plan.js';
import { StageAdvance } from './advance.js';
import { CheckpointTiming } from './checkpoints.js';
import { GuardPolicy } from './guard.js';
import { PlateauLr } from './plateau.js';
import type { Policy } from './policy.js';

export type { BestEpoch, EpochOutcome, Policy, PolicyAction } from './policy.js';
export { Patience, UnfreezeGuard } from './counters.js';
export { CheckpointTiming, GuardPolicy, PlateauLr, StageAdvance };

export const POLICIES: readonly ((plan: Plan) => Policy)[] = [
  (plan) => new CheckpointTiming(plan.output.checkpoints),
  () => new PlateauLr(),
  (plan) => new GuardPolicy(plan.guard),
  () => new StageAdvance(),
];

export const makePolicies = (plan: Plan): Policy[] => POLICIES.map((make) => make(plan));
