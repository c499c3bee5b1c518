// What each metrics file of output.metrics writes (its options are declared in src/schedule/reporters/).
// A new one: a file beside this one and one entry here; train/file-reporters.ts checks every declared kind
// has one.
import { csvReporter } from './csv.js';
import { ndjsonReporter } from './ndjson.js';
import { tensorboardReporter } from './tensorboard.js';
import type { FileReporterOptions } from './options.js';

export type { FileReporterOptions };

export const FILE_REPORTERS = {
  csv: csvReporter,
  ndjson: ndjsonReporter,
  tensorboard: tensorboardReporter,
};
