// What a metrics-file reporter kind is to the schedule: its name in output.metrics, its options (schema
// part and defaults) and a description. What it writes is src/report/reporters/<name>.ts (effects stay out
// of the schedule); train/file-reporters.ts pairs the two, and fails to compile when a kind declared here
// has no reporter there or their settings disagree.
import type { Static, TSchema } from '@sinclair/typebox';

export interface ReporterKind<S extends TSchema, N extends { type: string }> {
  type: N['type'];
  /** The object form, `{ type: <name>, … }`; the bare name means every option at its default. */
  schema: S;
  normalize(input: Static<S>): N;
  /** The files it writes, for plan's summary and the docs. */
  files: string;
  describe(n: N): string;
}

export const defineReporter = <S extends TSchema, N extends { type: string }>(k: ReporterKind<S, N>) => k;
