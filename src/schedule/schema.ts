// The one source of truth for the schedule format: the JSON Schema is built here with TypeBox and the
// TypeScript types are derived from it (`Static`). `npm run schema` writes schemas/schedule.schema.json,
// and a test checks that the committed file equals what this module builds.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Literals } from '../core/typebox.js';
import { defaultMetrics, MetricSpec } from './reporters/index.js';
import { SchedulerSpec } from './schedulers/index.js';
import { OptimizerSpec } from './optimizers/index.js';
import { HeadLayer } from '../core/heads/index.js';
import { LoraSpec } from './adapters/lora.js';

export { OptimizerSpec, SchedulerSpec };
export type { OptimizerInput } from './optimizers/index.js';
export type { HeadLayerSpec } from '../core/heads/index.js';
export { HeadLayer };
export type { SchedulerInput } from './schedulers/index.js';

/** Names end up in folder names: no path separators, no control characters, not too long. */
const Name = (description: string) =>
  Type.String({ minLength: 1, maxLength: 100, pattern: '^[^/\\\\\\u0000-\\u001f]+$', description });

/** Epoch counts a run can really have (a plan for 2e9 epochs would exhaust memory). */
const MAX_EPOCHS = 100000;

const PositiveNumber = (description: string) => Type.Number({ exclusiveMinimum: 0, description });

/** training.accumulate and a stage's own. */
const Accumulate = Type.Integer({
  minimum: 1,
  maximum: 1024,
  description:
    'Gradient accumulation: one optimizer step per N batches, so the effective batch is batchSize × N (default 1).',
});
const Patterns = (description: string) =>
  Type.Array(Type.String({ minLength: 1 }), {
    description: `${description} Glob on the layer's full path ('*' within a segment, '**' across segments; a pattern without '/' matches any segment, so 'layer4*' matches 'backbone/layer4_0_conv1'); prefix 're:' for a regular expression.`,
  });

export const LayerPatterns = Patterns('Layer-name patterns.');

// ---- model -------------------------------------------------------------------------------------------

export const ModelSpec = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      description:
        "Pretrained tfjs LayersModel: a path to model.json (relative to the schedule file), an http(s) URL, or 'builtin:<name>' (e.g. builtin:resnet-mini).",
      examples: ['builtin:resnet-mini', './models/mobilenet/model.json'],
    }),
    cutAt: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Full path of the last layer kept from the pretrained network. Default: drop the last top-level layer (the old head).',
      }),
    ),
    head: Type.Optional(
      Type.Array(HeadLayer, {
        description:
          "Layers put on top of the cut network, in order, named head/<name>. Default: one dense layer with units 'auto' and softmax.",
      }),
    ),
  },
  { additionalProperties: false, description: 'Where the pretrained model comes from and the new head.' },
);

// ---- data --------------------------------------------------------------------------------------------

export const DataSpec = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      description: "'builtin:mnist-0-4' / 'builtin:mnist-5-9', or a folder of images with one sub-folder per class.",
    }),
    samples: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Use at most this many training samples (stratified, seeded).' }),
    ),
    validation: Type.Optional(
      Type.Object(
        {
          split: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Fraction held out for validation.' }),
          ),
          folder: Type.Optional(Type.String({ description: 'A separate folder of validation images.' })),
        },
        {
          additionalProperties: false,
          description: 'Validation data: a split of the source or a folder (default split 0.2).',
        },
      ),
    ),
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536, description: 'Batch size (default 64).' })),
    seed: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2147483647,
        description: 'Seed for shuffling, splitting and augmentation (default 42).',
      }),
    ),
    shuffle: Type.Optional(Type.Boolean({ description: 'Shuffle the training set every epoch (default true).' })),
    imageSize: Type.Optional(
      Type.Tuple([Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })], {
        description: '[height, width] images are resized to (default: the model input size).',
      }),
    ),
    resize: Type.Optional(
      Literals(['cover', 'contain', 'stretch'], {
        description:
          "How image files are fitted to the input size: 'cover' (scale, centre-crop; default), 'contain' (scale, pad with black), 'stretch' (ignore the aspect ratio).",
      }),
    ),
    preprocess: Type.Optional(
      Type.Union(
        [
          Literals(['unit', 'symmetric', 'imagenet'], {
            description:
              "'unit': pixels in [0, 1] (default); 'symmetric': [-1, 1], as MobileNet and Teachable Machine expect; 'imagenet': (x/255 − ImageNet mean) / std.",
          }),
          Type.Object(
            {
              mean: Type.Array(Type.Number(), {
                minItems: 1,
                maxItems: 3,
                description: 'Per channel, on the [0, 1] scale.',
              }),
              std: Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 1, maxItems: 3 }),
            },
            { additionalProperties: false, description: '(x/255 − mean) / std per channel.' },
          ),
        ],
        { description: 'Pixel preprocessing; recorded with the saved model so predict uses the same.' },
      ),
    ),
    cacheMB: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Memory for decoded images of a folder data set, in MB (default 1024); the rest is decoded again each epoch.',
      }),
    ),
    augment: Type.Optional(
      Type.Object(
        {
          flip: Type.Optional(Type.Boolean({ description: 'Random horizontal flip.' })),
          rotate: Type.Optional(Type.Number({ minimum: 0, maximum: 45, description: 'Max rotation in degrees.' })),
          crop: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 1,
              description: 'Random resized crop: min area fraction kept.',
            }),
          ),
          brightness: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Brightness jitter (±).' })),
          contrast: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Contrast jitter (±).' })),
          views: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 64,
              description:
                'Draw each image from K fixed augmented views (seeded), so a frozen prefix can be cached on all K once per stage; off: fresh augmentation every epoch.',
            }),
          ),
        },
        { additionalProperties: false, description: 'Training-time augmentation (never applied to validation data).' },
      ),
    ),
  },
  { additionalProperties: false, description: 'The training and validation data.' },
);

// ---- optimisation ------------------------------------------------------------------------------------

export const LrGroupSpec = Type.Object(
  {
    layers: Patterns('Layers in this group.'),
    lr: Type.Optional(PositiveNumber('Learning rate of this group.')),
    lrMultiplier: Type.Optional(PositiveNumber("Multiplier on the stage's lr.")),
  },
  { additionalProperties: false, description: 'Discriminative lr: a group of layers with its own lr.' },
);

export const LrDecaySpec = Type.Object(
  {
    factor: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Each earlier block gets lr × factor.' }),
    blocks: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 2,
        description:
          "Block patterns from the input to the output; the last block gets the full lr. Default: the model's own blocks (as `plan --model` lists them) and then the new head.",
      }),
    ),
  },
  { additionalProperties: false, description: 'Per-block lr decay (layer-wise lr decay).' },
);

// ---- stages ------------------------------------------------------------------------------------------

export const StageSpec = Type.Object(
  {
    name: Name('Stage name (shown in progress and reports; part of checkpoint folder names).'),
    epochs: Type.Union(
      [
        Type.Integer({
          minimum: 1,
          maximum: MAX_EPOCHS,
          description: 'Number of epochs, following the previous stage.',
        }),
        Type.Tuple(
          [Type.Integer({ minimum: 1, maximum: MAX_EPOCHS }), Type.Integer({ minimum: 1, maximum: MAX_EPOCHS })],
          {
            description: '[first, last] epoch, inclusive, 1-based.',
          },
        ),
      ],
      { description: 'Epoch count or inclusive 1-based range [first, last].' },
    ),
    freeze: Type.Optional(Patterns('Layers to freeze at the start of this stage (applied before unfreeze).')),
    unfreeze: Type.Optional(
      Type.Union(
        [
          Patterns('Layers to unfreeze at the start of this stage.'),
          Type.Object(
            {
              lastBlocks: Type.Integer({
                minimum: 1,
                maximum: 10000,
                description:
                  "Unfreeze the backbone's last N blocks (fastai's freeze_to(-N)); blocks come from the layer names, as `plan --model` lists them.",
              }),
            },
            { additionalProperties: false },
          ),
        ],
        { description: 'Layers to unfreeze at the start of this stage: patterns, or { lastBlocks: N }.' },
      ),
    ),
    adapters: Type.Optional(
      Type.Array(LoraSpec, {
        description:
          'Adapters added at the start of this stage (LoRA); they stay, and keep training, in later stages unless a later stage freezes their layers.',
      }),
    ),
    train: Type.Optional(
      Type.Object(
        {
          biases: Type.Optional(
            Type.Boolean({ description: 'Train every bias vector, the rest of each layer frozen (BitFit).' }),
          ),
          norms: Type.Optional(
            Type.Boolean({
              description:
                "Train every normalisation layer's scale and shift (BatchNorm γ and β; its statistics stay as training.batchNorm says).",
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Variables to train in layers that are otherwise frozen, from this stage on (a later stage may set them false).',
        },
      ),
    ),
    optimizer: Type.Optional(OptimizerSpec),
    lr: Type.Optional(
      Type.Union(
        [PositiveNumber('Base learning rate (default: the previous stage’s, or 1e-3).'), Type.Literal('find')],
        {
          description:
            "Base learning rate (default: the previous stage’s, or 1e-3), or 'find': an lr range test at the stage's start picks it (lrFind).",
        },
      ),
    ),
    lrFind: Type.Optional(
      Type.Object(
        {
          min: Type.Optional(PositiveNumber('First lr of the sweep (default 1e-7).')),
          max: Type.Optional(PositiveNumber('Last lr of the sweep (default 10).')),
          steps: Type.Optional(Type.Integer({ minimum: 10, maximum: 1000, description: 'Sweep steps (default 100).' })),
          rule: Type.Optional(
            Literals(['valley', 'steepest'], {
              description: "How the lr is picked from the curve: 'valley' (default, fastai's) or 'steepest' descent.",
            }),
          ),
        },
        { additionalProperties: false, description: "Settings of lr: find's range test." },
      ),
    ),
    weightDecay: Type.Optional(Type.Number({ minimum: 0, description: 'Weight decay (default 0).' })),
    weightDecayMode: Type.Optional(
      Type.Union([Type.Literal('decoupled'), Type.Literal('l2')], {
        description: "'decoupled' (AdamW; default for adamw) or 'l2' (added to the gradient; default otherwise).",
      }),
    ),
    scheduler: Type.Optional(SchedulerSpec),
    lrGroups: Type.Optional(Type.Array(LrGroupSpec, { description: 'Discriminative learning rates.' })),
    lrDecay: Type.Optional(LrDecaySpec),
    accumulate: Type.Optional(Accumulate),
    restoreBest: Type.Optional(
      Type.Boolean({
        description:
          "At the stage's end, put back the best epoch's weights (checkpoints/best, by its monitor) before the next stage, when the best epoch is not the stage's last (finetuning-scheduler's restore_best; default false).",
      }),
    ),
    keepOptimizerState: Type.Optional(
      Type.Boolean({ description: 'Keep optimizer state of variables that stay trainable (default false).' }),
    ),
    advance: Type.Optional(
      Type.Object(
        {
          onPlateau: Type.Object(
            {
              patience: Type.Integer({ minimum: 1, description: 'Epochs without improvement before moving on.' }),
              minDelta: Type.Optional(
                Type.Number({ minimum: 0, description: 'Smallest change that counts (default 0).' }),
              ),
              monitor: Type.Optional(
                Literals(['val_loss', 'val_acc'], { description: 'What must improve (default val_loss).' }),
              ),
            },
            { additionalProperties: false },
          ),
        },
        {
          additionalProperties: false,
          description:
            "End this stage when validation stops improving and start the next one at once: the stage's epochs are a budget, later stages move up.",
        },
      ),
    ),
    earlyStopping: Type.Optional(
      Type.Object(
        {
          patience: Type.Integer({ minimum: 1, description: 'Epochs without val-loss improvement.' }),
          minDelta: Type.Optional(Type.Number({ minimum: 0 })),
        },
        {
          additionalProperties: false,
          description: 'The same as advance: { onPlateau: { patience, minDelta, monitor: val_loss } }.',
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'One training stage.' },
);

export const TrainingSpec = Type.Object(
  {
    loss: Type.Optional(
      Type.Union([Type.Literal('categoricalCrossentropy'), Type.Literal('sparseCategoricalCrossentropy')], {
        description: 'Loss function (default categoricalCrossentropy).',
      }),
    ),
    metrics: Type.Optional(Type.Array(Type.Literal('accuracy'), { description: 'Metrics (default [accuracy]).' })),
    batchNorm: Type.Optional(
      Type.Union([Type.Literal('frozen'), Type.Literal('train')], {
        description:
          "'frozen' (default): frozen BatchNorm layers run in inference mode, their statistics fixed. 'train': BN layers always train (fastai train_bn).",
      }),
    ),
    backend: Type.Optional(
      Literals(['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'], {
        description: 'Compute backend (default auto).',
      }),
    ),
    gradientReport: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Also report gradients every N steps (0 = only at stage start).' }),
    ),
    cacheFeatures: Type.Optional(Type.Boolean({ description: 'Cache outputs of a frozen prefix (default true).' })),
    accumulate: Type.Optional(Accumulate),
    telemetry: Type.Optional(
      Type.Boolean({
        description:
          'Per-layer gradient norms and weight movement every epoch (default true; false saves its small cost).',
      }),
    ),
  },
  { additionalProperties: false, description: 'Settings shared by all stages.' },
);

export const GuardSpec = Type.Object(
  {
    patience: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Epochs of rising val loss after an unfreeze before acting (default 2).',
      }),
    ),
    action: Type.Union([Type.Literal('stop-unfreezing'), Type.Literal('rollback'), Type.Literal('stop')], {
      description:
        "'stop-unfreezing': finish with the current trainable set; 'rollback': restore the best checkpoint and end; 'stop': end now.",
    }),
    minDelta: Type.Optional(Type.Number({ minimum: 0, description: 'A rise smaller than this does not count.' })),
  },
  { additionalProperties: false, description: 'Watch validation loss after each unfreeze.' },
);

export const OutputSpec = Type.Object(
  {
    dir: Type.Optional(
      Type.String({
        description:
          "Folder for this schedule's runs, relative to the schedule file: each run gets DIR/version_N (default: runs/<name>-<timestamp> in the working directory).",
      }),
    ),
    checkpoints: Type.Optional(
      Type.Object(
        {
          everyStage: Type.Optional(
            Type.Boolean({ description: 'Checkpoint at the end of every stage (default true).' }),
          ),
          everyEpochs: Type.Optional(Type.Integer({ minimum: 1, description: 'Also every N epochs.' })),
          best: Type.Optional(
            Type.Union(
              [
                Type.Boolean(),
                Type.Object(
                  {
                    monitor: Type.Optional(
                      Literals(['val_loss', 'val_acc'], {
                        description: 'What "best" means: lowest val_loss (default) or highest val_acc.',
                      }),
                    ),
                    keep: Type.Optional(
                      Type.Integer({
                        minimum: 1,
                        maximum: 100,
                        description: 'Also keep the N best epochs in checkpoints/top/epoch-E (default 1: only best).',
                      }),
                    ),
                  },
                  { additionalProperties: false },
                ),
              ],
              {
                description:
                  'checkpoints/best: the best epoch (true = by val_loss; false = none), or { monitor, keep } (default true).',
              },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    metrics: Type.Optional(
      Type.Array(MetricSpec, {
        description: `Metric files written to the run directory (default [${defaultMetrics()
          .map((m) => m.type)
          .join(', ')}]).`,
      }),
    ),
    reporters: Type.Optional(
      Type.Array(
        Type.Object(
          {
            module: Type.String({
              minLength: 1,
              description:
                'An ES module (relative to this file) whose default export is (options, context) => ({ onEvent(event), close() }).',
            }),
            options: Type.Optional(
              Type.Record(Type.String(), Type.Unknown(), {
                description: 'Handed to the module as its first argument.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        { description: 'Your own reporters: each receives every event of the run (see docs/runs.md).' },
      ),
    ),
  },
  { additionalProperties: false, description: 'Where results go.' },
);

export const AutoSpec = Type.Object(
  {
    epochs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_EPOCHS,
        description:
          'The whole budget in epochs (default 20): the linear probe, then the unfreezing stages; a stage that plateaus hands its unused epochs back by ending the run earlier.',
      }),
    ),
    maxDepth: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        description: 'At most this many blocks unfrozen, one stage each (default: as many as the budget allows).',
      }),
    ),
    monitor: Type.Optional(
      Literals(['val_loss', 'val_acc'], {
        description: "What a stage must improve to go on (default: checkpoints.best's monitor, val_loss).",
      }),
    ),
    patience: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Epochs without improvement before the next stage; also the guard’s patience (default 2).',
      }),
    ),
    rank: Type.Optional(
      Literals(['gain', 'rgn', 'top-down'], {
        description:
          "The order blocks unfreeze in: 'gain' (default) by ‖g‖₁, the loss a first Adam step on the block would remove; 'rgn' by ‖g‖/‖w‖ (surgical fine-tuning's Auto-RGN); 'top-down' from the head down (fastai's).",
      }),
    ),
    lrDecay: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description:
          "Each block's lr is the stage's found lr × lrDecay^(blocks between it and the head, + 1) (default 1: every block at the found lr, which measured best on the main task).",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'stages: auto — a linear probe, a gradient probe that ranks the blocks, then one unfreezing stage per block (see the README).',
  },
);

export const ScheduleSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: Type.Optional(Name('Name of the run (default: the file name); part of the run folder name.')),
    description: Type.Optional(Type.String()),
    model: ModelSpec,
    data: DataSpec,
    training: Type.Optional(TrainingSpec),
    stages: Type.Union(
      [
        Type.Array(StageSpec, { minItems: 1, description: 'Training stages, in epoch order.' }),
        Type.Literal('auto', {
          description:
            'Let the data choose the stages (auto: sets the budget); the run writes them to chosen-schedule.yaml.',
        }),
      ],
      { description: "Training stages, in epoch order, or 'auto'." },
    ),
    auto: Type.Optional(AutoSpec),
    guard: Type.Optional(GuardSpec),
    output: Type.Optional(OutputSpec),
  },
  {
    $id: 'https://freezeflow.dev/schemas/schedule.schema.json',
    title: 'freezeflow schedule',
    description: 'A fine-tuning run: pretrained model, data, and freeze/unfreeze stages.',
    additionalProperties: false,
  },
);

/** A schedule as written: `stages` may be 'auto'. */
export type ScheduleInput = Static<typeof ScheduleSchema>;
/** A schedule with its stages written out (`stages: auto` expanded by schedule/auto.ts). */
export type Schedule = Omit<ScheduleInput, 'stages'> & { stages: StageInput[] };
export type AutoInput = Static<typeof AutoSpec>;
export type StageInput = Static<typeof StageSpec>;
export type DataInput = Static<typeof DataSpec>;
export type ModelInput = Static<typeof ModelSpec>;
export type GuardInput = Static<typeof GuardSpec>;
export type TrainingInput = Static<typeof TrainingSpec>;
export type OutputInput = Static<typeof OutputSpec>;

/** The schema as plain JSON (TypeBox adds symbol keys that JSON.stringify drops). */
export function scheduleJsonSchema(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(ScheduleSchema as TSchema)) as Record<string, unknown>;
}
