// Classification metrics from (true, predicted) label pairs (pure).
import { count } from '../core/format.js';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of true samples of this class. */
  support: number;
}

export interface ClassificationReport {
  accuracy: number;
  samples: number;
  perClass: ClassMetrics[];
  /** Macro averages over classes with support > 0. */
  macro: { precision: number; recall: number; f1: number };
  /** confusion[true][predicted] */
  confusion: number[][];
  labels: string[];
}

export function classificationReport(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels: string[],
): ClassificationReport {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) {
    confusion[yTrue[i]!]![yPred[i]!]!++;
    if (yTrue[i] === yPred[i]) correct++;
  }
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    const predicted = confusion.reduce((s, row) => s + row[c]!, 0);
    const support = confusion[c]!.reduce((s, v) => s + v, 0);
    // 0/0 is reported as 0, as scikit-learn does with zero_division=0
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support };
  });
  const present = perClass.filter((m) => m.support > 0);
  const mean = (f: (m: ClassMetrics) => number) =>
    present.length === 0 ? 0 : present.reduce((s, m) => s + f(m), 0) / present.length;
  return {
    accuracy: yTrue.length === 0 ? NaN : correct / yTrue.length,
    samples: yTrue.length,
    perClass,
    macro: { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) },
    confusion,
    labels,
  };
}

/** Plain-text report: per-class table and confusion matrix (rows: true class, columns: predicted). */
export function formatClassificationReport(r: ClassificationReport): string {
  const w = Math.max(9, ...r.labels.map((l) => l.length));
  const pad = (s: string, n: number) => s.padStart(n);
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  const lines = [`accuracy ${pct(r.accuracy)} on ${count(r.samples, 'image')}`, ''];
  lines.push(`${'class'.padEnd(w)}  precision  recall     f1  support`);
  for (const m of r.perClass)
    lines.push(
      `${m.label.padEnd(w)}  ${pad(m.precision.toFixed(3), 9)}  ${pad(m.recall.toFixed(3), 6)}  ${pad(m.f1.toFixed(3), 5)}  ${pad(String(m.support), 7)}`,
    );
  lines.push(
    `${'macro avg'.padEnd(w)}  ${pad(r.macro.precision.toFixed(3), 9)}  ${pad(r.macro.recall.toFixed(3), 6)}  ${pad(r.macro.f1.toFixed(3), 5)}  ${pad(String(r.samples), 7)}`,
  );
  lines.push('', 'confusion matrix (rows: true, columns: predicted)');
  const cw = Math.max(5, ...r.labels.map((l) => l.length), ...r.confusion.flat().map((v) => String(v).length));
  lines.push(`${''.padEnd(w)}  ${r.labels.map((l) => pad(l, cw)).join(' ')}`);
  r.confusion.forEach((row, i) =>
    lines.push(`${r.labels[i]!.padEnd(w)}  ${row.map((v) => pad(String(v), cw)).join(' ')}`),
  );
  return lines.join('\n');
}
