// The fully resolved schedule: the plan with every default written out, as a schedule that loads again and
// plans the same (`--print-config`; every run folder keeps it as config.yaml).
import { Document, isScalar, visit } from 'yaml';
import type { Plan } from './plan.js';
import { metricInput } from './reporters/index.js';
import type { Schedule, ScheduleInput, StageInput } from './schema.js';

type Stage = StageInput;

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

/** The plan as a schedule; an auto plan as `stages: auto` with its settings (it plans the same again). */
export function resolvedSchedule(plan: Plan): ScheduleInput {
  const ck = plan.output.checkpoints;
  const stages = plan.auto ? { stages: 'auto' as const, auto: { ...plan.auto } } : { stages: plan.stages.map(stageOf) };
  return {
    name: plan.name,
    model: { source: plan.model.source, ...present({ cutAt: plan.model.cutAt }), head: plan.model.head },
    data: dataOf(plan.data),
    training: { ...plan.training },
    ...stages,
    ...(plan.guard ? { guard: plan.guard } : {}),
    output: {
      ...present({ dir: plan.output.dir }),
      checkpoints: { everyStage: ck.everyStage, ...present({ everyEpochs: ck.everyEpochs }), best: ck.best },
      metrics: plan.output.metrics.map(metricInput),
      ...(plan.output.reporters.length > 0 ? { reporters: plan.output.reporters } : {}),
    },
  };
}

/** As YAML: lists of plain values on one line (`epochs: [1, 5]`), the rest in block style. */
function toYaml(schedule: ScheduleInput, comments: (doc: Document) => void = () => {}): string {
  const doc = new Document(schedule, { aliasDuplicateObjects: false });
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((i) => isScalar(i))) node.flow = true;
    },
  });
  comments(doc);
  return doc.toString();
}

export const resolvedYaml = (plan: Plan): string => toYaml(resolvedSchedule(plan));

/** A stage of an auto run as it ran: its epochs, the lr its range test found, and why it went as it did. */
export interface RanStage {
  index: number;
  first: number;
  last: number;
  lr: number;
  note: string;
}

/**
 * stages: auto written down (chosen-schedule.yaml): the stages that ran, each with the epochs it ran and
 * the lr it found instead of lr: find and advance — ordinary stages that train exactly as the auto run did.
 */
export function chosenYaml(plan: Plan, ran: readonly RanStage[], header: string): string {
  const schedule = resolvedSchedule({ ...plan, auto: undefined });
  schedule.stages = ran.map((r) => {
    const stage = stageOf(plan.stages[r.index]!);
    delete stage.lrFind;
    delete stage.advance;
    return { ...stage, epochs: [r.first, r.last], lr: r.lr };
  });
  return toYaml(schedule, (doc) => {
    doc.commentBefore = header;
    const seq = doc.get('stages', true) as { items: { commentBefore?: string }[] };
    ran.forEach((r, i) => (seq.items[i]!.commentBefore = r.note));
  });
}
