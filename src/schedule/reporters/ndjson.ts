import { Type } from '@sinclair/typebox';
import { defineReporter } from './kind.js';

export const ndjson = defineReporter({
  type: 'ndjson',
  schema: Type.Object(
    {
      type: Type.Literal('ndjson'),
      batches: Type.Optional(
        Type.Boolean({
          description: "Also write every batch's batch-end event (default false: one line per batch is a lot).",
        }),
      ),
    },
    { additionalProperties: false, description: 'events.ndjson: every event of the run, one JSON object per line.' },
  ),
  normalize: (o) => ({ type: 'ndjson' as const, batches: o.batches ?? false }),
  files: 'events.ndjson',
  describe: (o) => (o.batches ? 'ndjson (with batches)' : 'ndjson'),
});
