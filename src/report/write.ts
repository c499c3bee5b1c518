// Writing the run report files from a run directory (events.ndjson, summary.json).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeAtomic } from '../core/files.js';
import type { RunEvent } from '../core/events.js';
import { readRunEvents } from '../core/run-files.js';
import { chartsSvg, renderReport } from './html.js';

export { readRunEvents };

/** Write RUN_DIR/report.html; returns its path. */
export function writeReport(runDir: string, events: readonly RunEvent[] = readRunEvents(runDir)): string {
  const summaryFile = join(runDir, 'summary.json');
  const summary = existsSync(summaryFile)
    ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as Record<string, unknown>)
    : {};
  const out = join(runDir, 'report.html');
  writeAtomic(out, renderReport(events, summary));
  return out;
}

/** Render the run's charts to a PNG (sharp rasterises the SVG; no browser needed). */
export async function writeChartsPng(events: readonly RunEvent[], file: string): Promise<void> {
  // 144 dpi: twice the SVG's pixel size, sharp enough for a CI artifact
  await sharp(Buffer.from(chartsSvg(events)), { density: 144 })
    .png()
    .toFile(file);
}
