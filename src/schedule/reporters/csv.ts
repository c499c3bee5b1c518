import { Type } from '@sinclair/typebox';
import { defineReporter } from './kind.js';

export const csv = defineReporter({
  type: 'csv',
  schema: Type.Object(
    {
      type: Type.Literal('csv'),
      layers: Type.Optional(
        Type.Boolean({ description: 'Also write layers.csv, the per-layer telemetry (default true).' }),
      ),
    },
    {
      additionalProperties: false,
      description: 'metrics.csv: one row per epoch; layers.csv: one per layer and epoch.',
    },
  ),
  normalize: (o) => ({ type: 'csv' as const, layers: o.layers ?? true }),
  files: 'metrics.csv, layers.csv',
  describe: (o) => (o.layers ? 'csv' : 'csv (no layers.csv)'),
});
