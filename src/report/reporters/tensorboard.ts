// tensorboard/events.out.tfevents.*: the epoch scalars as TensorBoard reads them (`tensorboard --logdir
// runs/`), one file per process; a resumed process first tells TensorBoard to drop the epochs it redoes.
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Reporter } from '../../core/events.js';
import { fileVersionEvent, scalarsEvent, sessionStartEvent, tfRecord } from '../tfevents.js';
import type { FileReporterOptions } from './index.js';

export function tensorboardReporter({ runDir }: FileReporterOptions): Reporter {
  const dir = join(runDir, 'tensorboard');
  const now = () => Date.now() / 1000;
  let file: string | undefined;
  let groups: string[] = [];
  const write = (data: Uint8Array) => {
    if (!file) {
      mkdirSync(dir, { recursive: true });
      file = join(dir, `events.out.tfevents.${Math.floor(now())}.${hostname()}.${process.pid}.freezeflow`);
      appendFileSync(file, tfRecord(fileVersionEvent(now())));
    }
    appendFileSync(file, tfRecord(data));
  };
  return {
    onEvent(e) {
      if (e.type === 'run-start' && e.resumedFrom) write(sessionStartEvent(now(), e.resumedFrom.epoch + 1));
      if (e.type === 'stage-start') groups = e.groups.map((g) => g.id);
      if (e.type === 'layer-telemetry') {
        const scalars: Record<string, number> = {};
        for (const l of e.layers.filter((x) => x.trainable)) {
          if (l.gradNorm !== undefined) scalars[`grad_norm/${l.path}`] = l.gradNorm;
          scalars[`weight_change/${l.path}`] = l.change;
        }
        scalars['frozen/max_change'] = Math.max(0, ...e.layers.filter((x) => !x.trainable).map((x) => x.change));
        write(scalarsEvent(now(), e.epoch, scalars));
      }
      if (e.type !== 'epoch-end') return;
      const scalars: Record<string, number> = {
        'loss/train': e.loss,
        'loss/val': e.valLoss,
        'accuracy/train': e.acc,
        'accuracy/val': e.valAcc,
        lr: e.lr,
        'params/trainable': e.trainableParams,
        'speed/samples_per_sec': e.samplesPerSec,
      };
      // one curve per param group when a stage has several (lr groups, lrDecay blocks)
      if (e.groupLrs && e.groupLrs.length > 1) e.groupLrs.forEach((lr, i) => (scalars[`lr/${groups[i] ?? i}`] = lr));
      write(scalarsEvent(now(), e.epoch, scalars));
    },
  };
}
