// Terminal progress: bars on a TTY (cli-progress), one plain line per epoch in pipelines, nothing with
// --quiet, NDJSON events on stdout with --json.
import cliProgress from 'cli-progress';
import type { ChalkInstance } from 'chalk';
import { backendLabel, type Reporter, type RunEvent } from '../core/events.js';
import { count, fmtLr } from '../core/format.js';

export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet';

/** The terminal reporter for `mode`: bars, lines, NDJSON on stdout, or only warnings (quiet). */
export function progressReporter(
  mode: ProgressMode,
  c: ChalkInstance,
  write: (s: string) => void,
  err: (s: string) => void,
): Reporter {
  if (mode === 'quiet') return { onEvent: (e) => (e.type === 'warning' ? err(`warning: ${e.message}`) : undefined) };
  if (mode === 'json') return { onEvent: (e) => write(JSON.stringify(e)) };
  return terminal(c, write, mode === 'bars');
}

function terminal(c: ChalkInstance, write: (s: string) => void, withBars: boolean): Reporter {
  let bars: cliProgress.MultiBar | undefined;
  let total: cliProgress.SingleBar | undefined;
  let epochBar: cliProgress.SingleBar | undefined;
  let totalEpochs = 0;
  let stageName = '';
  let epochStart = Date.now();
  // above the bars, and at once: the bars redraw on a timer that a busy training loop rarely lets run
  // (the last epoch's line used to vanish with the final stop)
  const log = (s: string) => {
    if (!bars) return write(s);
    // rows cut to the width and each cleared first: a wrapped row would leave the old bar's tail behind
    const rows = wrapVisible(s, process.stdout.columns || 80);
    bars.log(rows.map((r) => `\x1b[2K${r}\n`).join(''));
    bars.update();
  };
  // a bar line must fit the terminal: a wrapped one breaks the redraw and leaves fragments behind
  const fit = (info: string) => info.slice(0, Math.max(10, (process.stdout.columns || 80) - 44));
  const onEvent = (e: RunEvent) => {
    switch (e.type) {
      case 'run-start':
        totalEpochs = e.totalEpochs;
        log(
          `${c.bold('freezeflow')} ${e.name}: backend ${backendLabel(e)}${e.skippedBackends.length ? c.dim(` (not used: ${e.skippedBackends.map((s) => s.name).join(', ')}; 'freezeflow doctor' says why)`) : ''}`,
        );
        log(
          `data: ${e.trainSamples} train / ${count(e.valSamples, 'validation sample')}, ${count(e.classes.length, 'class', 'classes')}; run dir ${e.runDir}${e.resumedFrom ? `; resumed ${e.resumedFrom.epoch ? `after epoch ${e.resumedFrom.epoch}` : 'in epoch 1'}` : ''}`,
        );
        if (e.preprocessFrom) log(`pixels: ${e.input.preprocess.name}, as ${e.preprocessFrom} says`);
        if (e.skippedFiles.length > 0)
          log(
            c.yellow(
              `skipped ${e.skippedFiles.length} file(s): ${e.skippedFiles
                .slice(0, 3)
                .map((f) => `${f.path} (${f.reason})`)
                .join(
                  '; ',
                )}${e.skippedFiles.length > 3 ? '; …' : ''} — all listed in events.ndjson; --strict makes this an error`,
            ),
          );
        if (withBars) {
          bars = new cliProgress.MultiBar(
            {
              clearOnComplete: false,
              hideCursor: true,
              // keep the terminal's line wrapping: long log lines wrap instead of being cut at its width
              linewrap: true,
              format: '{label} [{bar}] {value}/{total} {info}',
              barsize: 24,
            },
            cliProgress.Presets.shades_classic,
          );
          total = bars.create(totalEpochs, e.resumedFrom?.epoch ?? 0, { label: 'run  ', info: '' });
          epochBar = bars.create(e.stepsPerEpoch, 0, { label: 'epoch', info: '' });
        }
        break;
      case 'stage-start':
        stageName = e.stage;
        log(
          `${c.cyan(`stage ${e.stageIndex + 1}`)} ${e.stage}: epochs ${e.firstEpoch}–${e.lastEpoch}, ${count(e.layers ?? e.trainable.length, 'trainable layer')}${e.adapters ? ` + ${count(e.adapters, 'adapter')}` : ''}${e.variables ? ` + ${count(e.variables, 'variable')} in frozen layers` : ''} (${count(e.trainableParams, 'param')}), lr ${e.groups.map((g) => `${e.groups.length > 1 ? `${g.id} ` : ''}${fmtLr(g.lr)}${g.kept ? ' (state kept)' : ''}`).join(', ')}${e.frozenBatchNorm ? `, ${count(e.frozenBatchNorm, 'frozen BatchNorm layer')} in inference mode` : ''}${e.skippedUnfreeze ? c.yellow(' — unfreezing stopped by the guard') : ''}`,
        );
        break;
      case 'gradient-report': {
        const top = [...e.layers].sort((a, b) => b.norm - a.norm).slice(0, 3);
        log(
          `  gradients: ${count(e.layers.length, 'trainable layer')} or variable${e.layers.length === 1 ? ' receives' : 's receive'} gradients${top.length ? `; largest ${top.map((l) => `${l.path} ${l.norm.toExponential(2)}`).join(', ')}` : ''}`,
        );
        for (const w of e.warnings) log(c.yellow(`  warning: ${w}`));
        break;
      }
      case 'batch-end':
        if (e.batch === 1) epochStart = Date.now();
        epochBar?.setTotal(e.batches);
        epochBar?.update(e.batch, {
          info: fit(
            `${stageName} ep ${e.epoch} loss ${e.loss.toFixed(4)} acc ${(e.acc * 100).toFixed(1)}% lr ${fmtLr(e.lr)} ${((e.batch / (Date.now() - epochStart + 1)) * 1000).toFixed(1)} batch/s`,
          ),
        });
        break;
      case 'epoch-end':
        total?.update(e.epoch, {
          info: e.best?.epoch ? `best: epoch ${e.best.epoch}, val_acc ${(e.best.valAcc * 100).toFixed(2)}%` : '',
        });
        log(
          `epoch ${String(e.epoch).padStart(3)}/${totalEpochs} ${e.stage}  loss ${e.loss.toFixed(4)} acc ${(e.acc * 100).toFixed(2)}%  val_loss ${e.valLoss.toFixed(4)} val_acc ${(e.valAcc * 100).toFixed(2)}%  lr ${fmtLr(e.lr)}  ${e.samplesPerSec.toFixed(0)} samples/s  ${e.seconds.toFixed(1)} s`,
        );
        break;
      case 'guard':
        log(c.yellow(`guard: ${e.action} at epoch ${e.epoch} — ${e.reason}`));
        break;
      case 'feature-cache':
        if (e.used)
          log(
            c.dim(
              `  feature cache: outputs of '${e.at}' (${e.featureShape?.join('×')}, ${e.megabytes?.toFixed(1)} MB) computed once${e.views ? ` on ${e.views} augmented views of each training image` : ''} in ${e.seconds?.toFixed(1)} s${e.foldedBatchNorm ? ` (${e.foldedBatchNorm} BatchNorms folded into their convs)` : ''}; only the layers after it run`,
            ),
          );
        else if (e.reason) log(c.dim(`  feature cache: off (${e.reason})`));
        break;
      case 'lr-find':
        log(
          `lr-find: stage ${e.stage} trains with lr ${fmtLr(e.lr)}${e.fallback ? ' (the sweep was too short to read: the carried-over lr)' : ` (${e.rule}, ${e.points.length} sweep steps)`}`,
        );
        break;
      case 'early-stop':
        log(
          c.yellow(
            `stage ${e.stage} ends at epoch ${e.epoch} — ${e.reason}${e.unusedEpochs ? `; ${count(e.unusedEpochs, 'unused epoch')}, the next stage starts at epoch ${e.epoch + 1}` : ''}`,
          ),
        );
        break;
      case 'auto-probe': {
        const chosen = e.order.slice(0, e.stages).join(', ');
        if (e.byLayers) log(c.dim(`  auto: ${e.byLayers}`));
        log(
          `auto: gradient probe over ${count(e.batches, 'batch', 'batches')}: ${e.reason}; unfreezing ${chosen}, a stage each`,
        );
        break;
      }
      case 'restore-best':
        log(
          c.yellow(
            `stage ${e.stage} ends at epoch ${e.epoch}; restoreBest: back to epoch ${e.bestEpoch}'s weights (${e.monitor} ${e.monitor === 'val_acc' ? `${(e.value * 100).toFixed(2)}%` : e.value.toFixed(4)})`,
          ),
        );
        break;
      case 'warning':
        log(c.yellow(`warning: ${e.message}`));
        break;
      case 'run-end':
        bars?.stop();
        bars = undefined;
        write(
          e.bestEpoch > 0
            ? `${e.status === 'completed' ? c.green('done') : c.yellow(e.status)}: ${count(e.epochs, 'epoch')} in ${e.seconds.toFixed(0)} s; best epoch ${e.bestEpoch} (val_loss ${e.bestValLoss.toFixed(4)}, val_acc ${(e.bestValAcc * 100).toFixed(2)}%); final val_acc ${(e.finalValAcc * 100).toFixed(2)}%${e.modelDir ? `; model: ${e.modelDir} (${e.modelEpoch ? `epoch ${e.modelEpoch}'s, restoreBest` : "the last epoch's"}; predict/evaluate -m RUN_DIR use it, --checkpoint best the best epoch's)` : ''}`
            : `${c.yellow(e.status)}: no epoch finished (${e.seconds.toFixed(0)} s)`,
        );
        break;
      default:
        break;
    }
  };
  return { onEvent, close: () => bars?.stop() };
}

/** `s` cut into rows of at most `width` visible characters (colour codes take no room). */
export function wrapVisible(s: string, width: number): string[] {
  const rows: string[] = [];
  let row = '';
  let used = 0;
  for (const m of s.matchAll(/\x1b\[[0-9;]*m|[\s\S]/gu)) {
    const tok = m[0];
    if (tok.startsWith('\x1b')) {
      row += tok;
      continue;
    }
    if (used === width) {
      rows.push(row);
      row = '';
      used = 0;
    }
    row += tok;
    used++;
  }
  rows.push(row);
  return rows;
}
