// Writing the run report files from a run directory (events.ndjson, summary.json).
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { writeAtomic } from '../core/files.js';
import type { RunEvent } from '../core/events.js';
import { readRunEvents, RUN_FILES } from '../core/run-files.js';
import { readSummary } from '../core/summary.js';
import { chartsSvg, renderReport } from './html.js';

export { readRunEvents };

/** Write RUN_DIR/report.html; returns its path. */
export function writeReport(runDir: string, events: readonly RunEvent[] = readRunEvents(runDir)): string {
  const out = join(runDir, RUN_FILES.report);
  writeAtomic(out, renderReport(events, readSummary(runDir) ?? {}));
  return out;
}

/** Render the run's charts to a PNG (sharp rasterises the SVG; no browser needed). */
export async function writeChartsPng(events: readonly RunEvent[], file: string): Promise<void> {
  mkdirSync(dirname(resolve(file)), { recursive: true }); // as any file a run writes, its folder is made
  // 144 dpi: twice the SVG's pixel size, sharp enough for a CI artifact
  await sharp(Buffer.from(chartsSvg(events)), { density: 144 })
    .png()
    .toFile(file);
}
