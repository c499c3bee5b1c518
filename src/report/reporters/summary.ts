// summary.json, built from the events and written when the run ends (core/summary.ts has its format
// and its one reader).
import { join } from 'node:path';
import type { Reporter, RunEvent } from '../../core/events.js';
import { writeAtomic } from '../../core/files.js';
import { epochRow, type EpochRow, type RunSummary } from '../../core/summary.js';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

/** What the summary needs that no event carries: the schedule's names and data settings. */
export interface SummaryContext {
  runDir: string;
  schedule: string;
  data: { source: string; seed: number; samples?: number };
  stages: { name: string; first: number; last: number }[];
  /** Epochs of earlier processes of a resumed run (the resumed part replaces any later ones). */
  history?: EpochRow[];
}

export function summaryReporter(ctx: SummaryContext): Reporter {
  let start: Ev<'run-start'> | undefined;
  let end: Ev<'run-end'> | undefined;
  let history = ctx.history ?? [];
  const guard: RunEvent[] = [];
  const earlyStops: RunEvent[] = [];
  const warnings: string[] = [];
  return {
    onEvent(e) {
      if (e.type === 'run-start') {
        start = e;
        // a resumed run redoes what came after its checkpoint: those rows are replaced, not repeated
        history = history.filter((h) => h.epoch <= (e.resumedFrom?.epoch ?? 0));
      } else if (e.type === 'epoch-end') {
        history.push(epochRow(e));
      } else if (e.type === 'guard') guard.push(e);
      else if (e.type === 'early-stop') earlyStops.push(e);
      else if (e.type === 'warning') warnings.push(e.message);
      else if (e.type === 'run-end') end = e;
    },
    close() {
      if (!end) return;
      writeAtomic(
        join(ctx.runDir, 'summary.json'),
        `${JSON.stringify(build(ctx, start, end, history, guard, earlyStops, warnings), null, 2)}\n`,
      );
    },
  };
}

function build(
  ctx: SummaryContext,
  start: Ev<'run-start'> | undefined,
  end: Ev<'run-end'>,
  history: EpochRow[],
  guard: RunEvent[],
  earlyStops: RunEvent[],
  warnings: string[],
): RunSummary {
  const { decodeCache, tensors, ...rest } = end;
  const result: Omit<typeof rest, 'type'> & { type?: string } = { ...rest };
  delete result.type;
  const last = history.at(-1);
  return {
    ...result,
    schedule: ctx.schedule,
    // a last stage with restoreBest ends on the best epoch's weights: the run's own number says so
    finalValAcc: end.modelEpoch !== undefined ? end.finalValAcc : (last?.valAcc ?? NaN),
    backend: {
      used: start?.backend ?? 'none',
      skipped: start?.skippedBackends ?? [],
      threads: start?.threads,
      threadsNote: start?.threadsNote,
    },
    data: {
      ...ctx.data,
      train: start?.trainSamples ?? 0,
      validation: start?.valSamples ?? 0,
      classes: start?.classes ?? [],
      skippedFiles: start?.skippedFiles ?? [],
      decodeCache,
    },
    stages: ctx.stages.map((s, i) => ({
      name: s.name,
      epochs: [s.first, s.last],
      ran: history.filter((h) => h.stageIndex === i).length,
    })),
    trainValGap: last ? last.valLoss - last.loss : NaN,
    guard,
    earlyStops,
    warnings,
    tensors,
    history,
  };
}
