// The metrics-file reporter kinds (output.metrics). A new kind: one file beside this one, one entry in
// REPORTERS, and what it writes in src/report/reporters/ (the compiler asks for it).
import type { Static } from '@sinclair/typebox';
import { kindNamed, nameOrSettings } from '../../core/typebox.js';
import { csv } from './csv.js';
import { ndjson } from './ndjson.js';
import { tensorboard } from './tensorboard.js';

export const REPORTERS = [csv, ndjson, tensorboard] as const;

type Kinds = typeof REPORTERS;

export const MetricSpec = nameOrSettings(REPORTERS, {
  description: 'A metrics file: its name, or { type: name, …options }.',
});
export type MetricInput = Static<typeof MetricSpec>;
export type NormalizedMetric = ReturnType<Kinds[number]['normalize']>;
export type MetricType = Kinds[number]['type'];

/** The kind's entry; an unknown type is an error, never a fallback. */
export function reporterKind(type: string) {
  return kindNamed(REPORTERS, type, 'metrics file') as unknown as {
    normalize(o: { type: string }): NormalizedMetric;
    files: string;
    describe(n: NormalizedMetric): string;
  };
}

export const normalizeMetric = (m: MetricInput): NormalizedMetric =>
  reporterKind(typeof m === 'string' ? m : m.type).normalize(typeof m === 'string' ? { type: m } : m);

/** Every kind at its defaults: what a schedule without output.metrics writes. */
export const defaultMetrics = (): NormalizedMetric[] => REPORTERS.map((k) => normalizeMetric(k.type));

/** As a schedule would say it: the bare name when every option is at its default. */
export function metricInput(n: NormalizedMetric): MetricInput {
  const plain = normalizeMetric(n.type);
  return JSON.stringify(plain) === JSON.stringify(n) ? n.type : n;
}
