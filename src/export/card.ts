// MODEL.md, the model card written beside every export (pure: facts in, Markdown out).
import type { Measurement } from './measure.js';

export interface CardFacts {
  title: string;
  date: string;
  version: string;
  format: string;
  quantize: string | null;
  /** The model the run started from (or the exported model itself, for a bare model). */
  sourceModel: string;
  exportedFrom: string;
  run?: {
    schedule: string;
    data: string;
    train?: number;
    validation?: number;
    bestValAcc?: number;
    finalValAcc?: number;
    stages: { name: string; epochs: number; lr: number; optimizer: string; trainable: string }[];
  };
  labels: string[];
  input: { shape: number[]; preprocess: string; layout: string };
  sizes: { float32: number; exported: number };
  measurement: Measurement | null;
  notes: string[];
}

export const megabytes = (n: number): string => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 2)} MB`;
const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(2)} %`);

function runSection(run: NonNullable<CardFacts['run']>): string[] {
  return [
    '## Training',
    '',
    `- Schedule: ${run.schedule}`,
    `- Data: ${run.data}${run.train !== undefined ? ` (${run.train} training, ${run.validation} validation images)` : ''}`,
    `- Validation accuracy: ${pct(run.finalValAcc)} at the end, ${pct(run.bestValAcc)} at best`,
    '',
    '| stage | epochs | optimizer | lr | trains |',
    '| ----- | ------ | --------- | -- | ------ |',
    ...run.stages.map((s) => `| ${s.name} | ${s.epochs} | ${s.optimizer} | ${s.lr} | ${s.trainable} |`),
    '',
  ];
}

function costSection(f: CardFacts): string[] {
  const m = f.measurement;
  const rows = [
    '## What the export costs',
    '',
    `| model | size | accuracy | largest output difference | same top class |`,
    `| ----- | ---- | -------- | ------------------------- | -------------- |`,
    `| float32 (tfjs) | ${megabytes(f.sizes.float32)} | ${m?.accuracy ? pct(m.accuracy.float32) : '—'} | — | — |`,
  ];
  const name = `${f.format}${f.quantize ? ` ${f.quantize}` : ''}`;
  if (!m) return [...rows, `| ${name} | ${megabytes(f.sizes.exported)} | not measured | — | — |`, ''];
  return [
    ...rows,
    `| ${name} | ${megabytes(f.sizes.exported)} | ${m.accuracy ? pct(m.accuracy.exported) : '—'} | ${m.maxOutputDiff.toExponential(2)} | ${m.agreement.toFixed(2)} % |`,
    '',
    `Measured on ${m.on}, the export run by ${m.engine}.`,
    '',
  ];
}

export function modelCard(f: CardFacts): string {
  return [
    `# ${f.title}`,
    '',
    `Exported ${f.date} by freezeflow ${f.version} as ${f.format}${f.quantize ? ` (${f.quantize} weights)` : ''}.`,
    '',
    `- Source model: ${f.sourceModel}`,
    `- Exported from: ${f.exportedFrom}`,
    `- Input: ${f.input.shape.join('×')} (${f.input.layout}), ${f.input.preprocess}`,
    `- Classes (${f.labels.length}, in output order): ${f.labels.join(', ')}`,
    '',
    ...(f.run ? runSection(f.run) : []),
    ...costSection(f),
    ...(f.notes.length ? ['## Notes', '', ...f.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}
