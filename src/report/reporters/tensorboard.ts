// tensorboard/{train,validation}/events.out.tfevents.*: the epoch scalars laid out as Keras' TensorBoard
// callback lays them out (`tensorboard --logdir runs/`): train and validation are two runs with the same
// tags (epoch_loss, epoch_accuracy), so their curves overlay in one chart, and the per-layer scalars sit
// under one prefix (layers/) that can be folded away. One file per process and run; a resumed process
// first tells TensorBoard to drop the epochs it redoes.
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Reporter, RunEvent } from '../../core/events.js';
import { fileVersionEvent, scalarsEvent, sessionStartEvent, tfRecord } from '../tfevents.js';
import type { FileReporterOptions } from './options.js';

const now = () => Date.now() / 1000;

/** An event file created on first write, in `dir`. */
function eventWriter(dir: string): (data: Uint8Array) => void {
  let file: string | undefined;
  return (data) => {
    if (!file) {
      mkdirSync(dir, { recursive: true });
      file = join(dir, `events.out.tfevents.${Math.floor(now())}.${hostname()}.${process.pid}.freezeflow`);
      appendFileSync(file, tfRecord(fileVersionEvent(now())));
    }
    appendFileSync(file, tfRecord(data));
  };
}

type Telemetry = Extract<RunEvent, { type: 'layer-telemetry' }>;
type EpochEnd = Extract<RunEvent, { type: 'epoch-end' }>;

function layerScalars(e: Telemetry): Record<string, number> {
  const scalars: Record<string, number> = {};
  for (const l of e.layers.filter((x) => x.trainable)) {
    if (l.gradNorm !== undefined) scalars[`layers/grad_norm/${l.path}`] = l.gradNorm;
    scalars[`layers/weight_change/${l.path}`] = l.change;
  }
  scalars['layers/frozen_max_change'] = Math.max(0, ...e.layers.filter((x) => !x.trainable).map((x) => x.change));
  return scalars;
}

function trainScalars(e: EpochEnd): Record<string, number> {
  const scalars: Record<string, number> = {
    epoch_loss: e.loss,
    epoch_accuracy: e.acc,
    epoch_learning_rate: e.lr,
    trainable_params: e.trainableParams,
    samples_per_sec: e.samplesPerSec,
  };
  // one curve per param group when a stage has several (lr groups, lrDecay blocks)
  if (e.groups.length > 1) for (const g of e.groups) scalars[`learning_rate/${g.id}`] = g.lr;
  return scalars;
}

/** output.metrics' tensorboard options (src/schedule/reporters/tensorboard.ts declares them). */
export interface TensorboardSettings {
  layers: boolean;
}

export function tensorboardReporter({ runDir }: FileReporterOptions, settings: TensorboardSettings): Reporter {
  const train = eventWriter(join(runDir, 'tensorboard', 'train'));
  const validation = eventWriter(join(runDir, 'tensorboard', 'validation'));
  return {
    onEvent(e) {
      if (e.type === 'run-start' && e.resumedFrom) {
        const restart = sessionStartEvent(now(), e.resumedFrom.epoch + 1);
        train(restart);
        validation(restart);
      }
      if (e.type === 'layer-telemetry' && settings.layers) train(scalarsEvent(now(), e.epoch, layerScalars(e)));
      if (e.type !== 'epoch-end') return;
      train(scalarsEvent(now(), e.epoch, trainScalars(e)));
      validation(scalarsEvent(now(), e.epoch, { epoch_loss: e.valLoss, epoch_accuracy: e.valAcc }));
    },
  };
}
