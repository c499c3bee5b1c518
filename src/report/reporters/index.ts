// The file reporters a schedule can ask for in output.metrics (names in core/summary.ts METRIC_FILES).
// A new one: a file beside this one, its name in METRIC_FILES, and one entry here.
import type { Reporter } from '../../core/events.js';
import type { MetricFile } from '../../core/summary.js';
import { csvReporter } from './csv.js';
import { ndjsonReporter } from './ndjson.js';
import { tensorboardReporter } from './tensorboard.js';
import type { FileReporterOptions } from './options.js';

export type { FileReporterOptions };

export const FILE_REPORTERS: Record<MetricFile, (o: FileReporterOptions) => Reporter> = {
  csv: csvReporter,
  ndjson: ndjsonReporter,
  tensorboard: tensorboardReporter,
};
