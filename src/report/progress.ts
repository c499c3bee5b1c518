// Terminal progress: bars on a TTY (cli-progress), one plain line per epoch in pipelines, nothing with
// --quiet, NDJSON events on stdout with --json.
import cliProgress from 'cli-progress';
import type { ChalkInstance } from 'chalk';
import type { Reporter, RunEvent } from '../core/events.js';
import { count, fmtLr } from '../core/format.js';
import { linesOf } from './progress-lines.js';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

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
  const startBars = (e: Ev<'run-start'>) => {
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
  };
  const onBatch = (e: Ev<'batch-end'>) => {
    if (e.batch === 1) epochStart = Date.now();
    epochBar?.setTotal(e.batches);
    epochBar?.update(e.batch, {
      info: fit(
        `${stageName} ep ${e.epoch} loss ${e.loss.toFixed(4)} acc ${(e.acc * 100).toFixed(1)}% lr ${fmtLr(e.lr)} ${((e.batch / (Date.now() - epochStart + 1)) * 1000).toFixed(1)} batch/s`,
      ),
    });
  };
  const onEnd = (e: Ev<'run-end'>) => {
    bars?.stop();
    bars = undefined;
    write(
      e.bestEpoch > 0
        ? `${e.status === 'completed' ? c.green('done') : c.yellow(e.status)}: ${count(e.epochs, 'epoch')} in ${e.seconds.toFixed(0)} s; best epoch ${e.bestEpoch} (val_loss ${e.bestValLoss.toFixed(4)}, val_acc ${(e.bestValAcc * 100).toFixed(2)}%); final val_acc ${(e.finalValAcc * 100).toFixed(2)}%${e.modelDir ? `; model: ${e.modelDir} (${e.modelEpoch ? `epoch ${e.modelEpoch}'s, restoreBest` : "the last epoch's"}; predict/evaluate -m RUN_DIR use it, --checkpoint best the best epoch's)` : ''}`
        : `${c.yellow(e.status)}: no epoch finished (${e.seconds.toFixed(0)} s)`,
    );
  };
  // the bars' state here; what each event prints comes from the table in progress-lines.ts
  const onEvent = (e: RunEvent) => {
    if (e.type === 'run-start') totalEpochs = e.totalEpochs;
    if (e.type === 'stage-start') stageName = e.stage;
    if (e.type === 'batch-end') return onBatch(e);
    if (e.type === 'run-end') return onEnd(e);
    if (e.type === 'epoch-end' && e.best?.epoch)
      total?.update(e.epoch, { info: `best: epoch ${e.best.epoch}, val_acc ${(e.best.valAcc * 100).toFixed(2)}%` });
    else if (e.type === 'epoch-end') total?.update(e.epoch, { info: '' });
    for (const line of linesOf(e, c, totalEpochs)) log(line);
    if (e.type === 'run-start' && withBars) startBars(e);
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
