// The fully resolved schedule: the plan with every default written out, as a schedule that loads again and
// plans the same (`--print-config`; every run folder keeps it as config.yaml).
import { Document, isScalar, visit } from 'yaml';
import type { Plan } from './plan.js';
import type { Schedule } from './schema.js';

type Stage = Schedule['stages'][number];

const present = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

function stageOf(s: Plan['stages'][number]): Stage {
  return {
    name: s.name,
    epochs: [s.firstEpoch, s.lastEpoch],
    freeze: s.freeze,
    unfreeze: s.unfreezeLastBlocks !== undefined ? { lastBlocks: s.unfreezeLastBlocks } : s.unfreeze,
    optimizer: s.optimizer,
    lr: s.lrFind ? 'find' : s.lr,
    ...(s.lrFind ? { lrFind: s.lrFind } : {}),
    weightDecay: s.weightDecay,
    weightDecayMode: s.weightDecayMode,
    scheduler: s.scheduler as Stage['scheduler'],
    ...(s.lrGroups.length > 0
      ? {
          lrGroups: s.lrGroups.map((g) =>
            g.multiplier !== undefined
              ? { layers: g.patterns, lrMultiplier: g.multiplier }
              : { layers: g.patterns, lr: g.lr },
          ),
        }
      : {}),
    ...(s.lrDecay ? { lrDecay: s.lrDecay } : {}),
    keepOptimizerState: s.keepOptimizerState,
    ...(s.restoreBest ? { restoreBest: true } : {}),
    accumulate: s.accumulate,
    ...(s.advance ? { advance: { onPlateau: s.advance } } : {}),
    ...(s.adapters.length > 0
      ? {
          adapters: s.adapters.map((a) => ({
            type: a.type,
            layers: a.patterns,
            rank: a.rank,
            alpha: a.alpha,
            dropout: a.dropout,
          })),
        }
      : {}),
    ...(s.train.biases !== undefined || s.train.norms !== undefined ? { train: { ...s.train } } : {}),
  };
}

function dataOf(d: Plan['data']): Schedule['data'] {
  const p = d.preprocess;
  return {
    source: d.source,
    ...present({ samples: d.samples, imageSize: d.imageSize }),
    validation: d.validationFolder ? { folder: d.validationFolder } : { split: d.validationSplit },
    batchSize: d.batchSize,
    seed: d.seed,
    shuffle: d.shuffle,
    resize: d.resize,
    preprocess: p.name === 'custom' ? { mean: p.mean, std: p.std } : p.name,
    cacheMB: d.cacheMB,
    augment: { ...d.augment },
  };
}

export function resolvedSchedule(plan: Plan): Schedule {
  const ck = plan.output.checkpoints;
  return {
    name: plan.name,
    model: { source: plan.model.source, ...present({ cutAt: plan.model.cutAt }), head: plan.model.head },
    data: dataOf(plan.data),
    training: { ...plan.training },
    stages: plan.stages.map(stageOf),
    ...(plan.guard ? { guard: plan.guard } : {}),
    output: {
      ...present({ dir: plan.output.dir }),
      checkpoints: { everyStage: ck.everyStage, ...present({ everyEpochs: ck.everyEpochs }), best: ck.best },
      metrics: plan.output.metrics,
    },
  };
}

/** As YAML: lists of plain values on one line (`epochs: [1, 5]`), the rest in block style. */
export function resolvedYaml(plan: Plan): string {
  const doc = new Document(resolvedSchedule(plan), { aliasDuplicateObjects: false });
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((i) => isScalar(i))) node.flow = true;
    },
  });
  return doc.toString();
}
