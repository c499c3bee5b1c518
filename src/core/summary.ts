// summary.json: what a run ended with, written by the summary reporter and read back by readSummary
// (compare, report) — one format, one reader.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './errors.js';
import type { RunEvent } from './events.js';

export interface EpochRow {
  stage: string;
  stageIndex: number;
  epoch: number;
  lr: number;
  loss: number;
  acc: number;
  valLoss: number;
  valAcc: number;
  seconds: number;
}

/** An epoch-end event's numbers as summary.json keeps them. */
export function epochRow(e: Extract<RunEvent, { type: 'epoch-end' }>): EpochRow {
  const { stage, stageIndex, epoch, lr, loss, acc, valLoss, valAcc, seconds } = e;
  return { stage, stageIndex, epoch, lr, loss, acc, valLoss, valAcc, seconds };
}

/** How the run ended: the run-end event's numbers. */
type RunEnd = Omit<Extract<RunEvent, { type: 'run-end' }>, 'type' | 'decodeCache' | 'tensors'>;

export interface RunSummary extends RunEnd {
  schedule: string;
  backend: { used: string; skipped: { name: string; reason: string }[]; threads?: number; threadsNote?: string };
  data: {
    source: string;
    seed: number;
    samples?: number;
    train: number;
    validation: number;
    classes: string[];
    skippedFiles: { path: string; reason: string }[];
    decodeCache?: { hits: number; misses: number; peakMB: number };
  };
  stages: { name: string; epochs: [number, number]; ran: number }[];
  /** val loss − train loss at the last epoch: the overfitting signal the guard acts on. */
  trainValGap: number;
  guard: unknown[];
  earlyStops: unknown[];
  warnings: string[];
  tensors?: number;
  /** Every epoch of the run, across resumes. */
  history: EpochRow[];
}

const NUMBERS = ['bestValLoss', 'bestValAcc', 'finalValAcc', 'seconds', 'trainValGap'] as const;

/** The run's summary, or undefined when it has none (still running, or killed before the end). */
export function readSummary(runDir: string): RunSummary | undefined {
  const file = join(runDir, 'summary.json');
  if (!existsSync(file)) return undefined;
  let s: RunSummary;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as RunSummary;
  } catch (err) {
    throw new UserError(`${file} is damaged (${(err as Error).message}); rerun or delete that run directory`);
  }
  // JSON has no NaN or Infinity: they come back as null
  for (const k of NUMBERS) if (s[k] === null) s[k] = NaN;
  s.history = (s.history ?? []).map((h) => ({ ...h, valLoss: h.valLoss ?? NaN, loss: h.loss ?? NaN }));
  return s;
}
