// LoRA (Hu et al. 2021): a frozen kernel W trains as W + (alpha/rank)·A·B, B starting at zero so the model
// is unchanged at step 0. Dense: A is in×rank, B rank×out. Conv2D: A is a k×k conv with `rank` filters,
// B a 1×1 conv (Keras 3's enable_lora). The parameter count here is what `plan` reports.
import { Type, type Static } from '@sinclair/typebox';

export const LoraSpec = Type.Object(
  {
    type: Type.Literal('lora'),
    layers: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        "Layers that get an adapter (Dense and Conv2D): glob patterns on the layer's full path, as in unfreeze.",
    }),
    rank: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 4096, description: 'Rank r of the update A·B (default 8).' }),
    ),
    alpha: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'Scale: the update is (alpha/rank)·A·B (default: rank).' }),
    ),
    dropout: Type.Optional(
      Type.Number({
        minimum: 0,
        exclusiveMaximum: 1,
        description: "Dropout on the adapter's input in training (default 0; PEFT's lora_dropout).",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'A low-rank adapter on each matched layer; its base weights stay frozen.',
  },
);
export type LoraInput = Static<typeof LoraSpec>;

/** Classes that take a LoRA adapter, and why the near misses do not. */
export const LORA_CLASSES = new Set(['Dense', 'Conv2D']);
export const LORA_REFUSED: Record<string, string> = {
  DepthwiseConv2D:
    'a depthwise conv has one k×k filter per channel, so even a rank-1 adapter has more parameters than the layer (PEFT #2202); unfreeze it instead',
  SeparableConv2D: 'adapt its pointwise part by unfreezing it; LoRA takes Dense and Conv2D',
};

export { loraParams, loraShapes, maxLoraRank } from '../../core/lora-shapes.js';
