// The metrics-file kinds the schedule declares (schedule/reporters) paired with what writes each one
// (report/reporters). The mapped type fails to compile when a declared kind has no reporter or the
// reporter's settings do not fit the kind's normalized options.
import type { Reporter } from '../core/events.js';
import { FILE_REPORTERS, type FileReporterOptions } from '../report/reporters/index.js';
import type { NormalizedMetric } from '../schedule/reporters/index.js';

type Factories = { [K in NormalizedMetric as K['type']]: (o: FileReporterOptions, settings: K) => Reporter };
const FACTORIES: Factories = FILE_REPORTERS;

export function fileReporter(m: NormalizedMetric, o: FileReporterOptions): Reporter {
  // indexing a mapped type by a union gives a union of functions: one call shape stands in for them
  return (FACTORIES[m.type] as (o: FileReporterOptions, settings: NormalizedMetric) => Reporter)(o, m);
}
