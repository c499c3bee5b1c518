// What a schedule that leaves a setting out gets: one place, for the plan and the checks before it.

/** The first stage's lr when it gives none; later stages carry the previous stage's over. */
export const DEFAULT_LR = 1e-3;
/** Likewise the optimizer and weight decay. */
export const DEFAULT_OPTIMIZER = 'adam';
export const DEFAULT_WEIGHT_DECAY = 0;
