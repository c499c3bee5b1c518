// The terminal's lines, one formatter per event type (a table: a new event's line is one entry). Pure:
// the progress reporter (progress.ts) keeps the bars and their state, and logs what these return.
import type { ChalkInstance } from 'chalk';
import { backendLabel, type RunEvent } from '../core/events.js';
import { count, fmtLr } from '../core/format.js';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
type Format<T extends RunEvent['type']> = (e: Ev<T>, c: ChalkInstance, totalEpochs: number) => string[];

const skipped = (e: Ev<'run-start'>): string =>
  `skipped ${e.skippedFiles.length} file(s): ${e.skippedFiles
    .slice(0, 3)
    .map((f) => `${f.path} (${f.reason})`)
    .join('; ')}${e.skippedFiles.length > 3 ? '; …' : ''} — all listed in events.ndjson; --strict makes this an error`;

export const LINES: { [T in RunEvent['type']]?: Format<T> } = {
  'run-start': (e, c) => [
    `${c.bold('freezeflow')} ${e.name}: backend ${backendLabel(e)}${e.skippedBackends.length ? c.dim(` (not used: ${e.skippedBackends.map((s) => s.name).join(', ')}; 'freezeflow doctor' says why)`) : ''}`,
    `data: ${e.trainSamples} train / ${count(e.valSamples, 'validation sample')}, ${count(e.classes.length, 'class', 'classes')}; run dir ${e.runDir}${e.resumedFrom ? `; resumed ${e.resumedFrom.epoch ? `after epoch ${e.resumedFrom.epoch}` : 'in epoch 1'}` : ''}`,
    ...(e.preprocessFrom ? [`pixels: ${e.input.preprocess.name}, as ${e.preprocessFrom} says`] : []),
    ...(e.skippedFiles.length > 0 ? [c.yellow(skipped(e))] : []),
  ],
  'stage-start': (e, c) => [
    `${c.cyan(`stage ${e.stageIndex + 1}`)} ${e.stage}: epochs ${e.firstEpoch}–${e.lastEpoch}, ${count(e.layers ?? e.trainable.length, 'trainable layer')}${e.adapters ? ` + ${count(e.adapters, 'adapter')}` : ''}${e.variables ? ` + ${count(e.variables, 'variable')} in frozen layers` : ''} (${count(e.trainableParams, 'param')}), lr ${e.groups.map((g) => `${e.groups.length > 1 ? `${g.id} ` : ''}${fmtLr(g.lr)}${g.kept ? ' (state kept)' : ''}`).join(', ')}${e.frozenBatchNorm ? `, ${count(e.frozenBatchNorm, 'frozen BatchNorm layer')} in inference mode` : ''}${e.skippedUnfreeze ? c.yellow(' — unfreezing stopped by the guard') : ''}`,
  ],
  'gradient-report': (e, c) => {
    const top = [...e.layers].sort((a, b) => b.norm - a.norm).slice(0, 3);
    return [
      `  gradients: ${count(e.layers.length, 'trainable layer')} or variable${e.layers.length === 1 ? ' receives' : 's receive'} gradients${top.length ? `; largest ${top.map((l) => `${l.path} ${l.norm.toExponential(2)}`).join(', ')}` : ''}`,
      ...e.warnings.map((w) => c.yellow(`  warning: ${w}`)),
    ];
  },
  'epoch-end': (e, _c, totalEpochs) => [
    `epoch ${String(e.epoch).padStart(3)}/${totalEpochs} ${e.stage}  loss ${e.loss.toFixed(4)} acc ${(e.acc * 100).toFixed(2)}%  val_loss ${e.valLoss.toFixed(4)} val_acc ${(e.valAcc * 100).toFixed(2)}%  lr ${fmtLr(e.lr)}  ${e.samplesPerSec.toFixed(0)} samples/s  ${e.seconds.toFixed(1)} s`,
  ],
  guard: (e, c) => [c.yellow(`guard: ${e.action} at epoch ${e.epoch} — ${e.reason}`)],
  'feature-cache': (e, c) =>
    e.used
      ? [
          c.dim(
            `  feature cache: outputs of '${e.at}' (${e.featureShape?.join('×')}, ${e.megabytes?.toFixed(1)} MB) computed once${e.views ? ` on ${e.views} augmented views of each training image` : ''} in ${e.seconds?.toFixed(1)} s${e.foldedBatchNorm ? ` (${e.foldedBatchNorm} BatchNorms folded into their convs)` : ''}; only the layers after it run`,
          ),
        ]
      : e.reason
        ? [c.dim(`  feature cache: off (${e.reason})`)]
        : [],
  'lr-find': (e) => [
    `lr-find: stage ${e.stage} trains with lr ${fmtLr(e.lr)}${e.fallback ? ' (the sweep was too short to read: the carried-over lr)' : ` (${e.rule}, ${e.points.length} sweep steps)`}`,
  ],
  'early-stop': (e, c) => [
    c.yellow(
      `stage ${e.stage} ends at epoch ${e.epoch} — ${e.reason}${e.unusedEpochs ? `; ${count(e.unusedEpochs, 'unused epoch')}, the next stage starts at epoch ${e.epoch + 1}` : ''}`,
    ),
  ],
  'auto-probe': (e, c) => [
    ...(e.byLayers ? [c.dim(`  auto: ${e.byLayers}`)] : []),
    `auto: gradient probe over ${count(e.batches, 'batch', 'batches')}: ${e.reason}; unfreezing ${e.order.slice(0, e.stages).join(', ')}, a stage each`,
  ],
  'restore-best': (e, c) => [
    c.yellow(
      `stage ${e.stage} ends at epoch ${e.epoch}; restoreBest: back to epoch ${e.bestEpoch}'s weights (${e.monitor} ${e.monitor === 'val_acc' ? `${(e.value * 100).toFixed(2)}%` : e.value.toFixed(4)})`,
    ),
  ],
  warning: (e, c) => [c.yellow(`warning: ${e.message}`)],
};

/** The lines an event prints (none for most batch-level events). */
export function linesOf(e: RunEvent, c: ChalkInstance, totalEpochs: number): string[] {
  const format = LINES[e.type] as Format<RunEvent['type']> | undefined;
  return format ? format(e as never, c, totalEpochs) : [];
}
