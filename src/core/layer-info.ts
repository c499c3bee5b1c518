// What the plan needs to know of a model's layers (plain): model/ lists them, schedule/ selects from them.

export interface LayerInfo {
  path: string;
  className: string;
  trainableParams: number;
  nonTrainableParams: number;
  isBatchNorm: boolean;
  /** Layers of the new head start trainable; the pretrained body starts frozen. */
  isHead: boolean;
  /** Its weights by name (variable-level selection and adapters need them). */
  weights?: readonly WeightInfo[];
}

export interface WeightInfo {
  /** The weight's own name: kernel, bias, gamma, beta, moving_mean, … */
  name: string;
  shape: number[];
  /** Trains when its layer is unfrozen (moving statistics do not). */
  trainable: boolean;
}
