// `freezeflow report`: report.
import { examples } from '../help.js';
import type { Command } from 'commander';

export function addReport(program: Command): void {
  program
    .command('report')
    .addHelpText('after', examples(['freezeflow report runs/try1 --png charts.png']))
    .description("(re)write RUN_DIR/report.html from the run's events; --png renders the charts to an image")
    .argument('<run-dir>', 'a run directory')
    .option('--png <file>', 'also write the charts as a PNG')
    .action(async (runDir: string, opts: { png?: string }) => {
      const { readRunEvents, writeChartsPng, writeReport } = await import('../../report/write.js');
      const events = readRunEvents(runDir);
      process.stdout.write(`${writeReport(runDir, events)}\n`);
      if (opts.png) {
        await writeChartsPng(events, opts.png);
        process.stdout.write(`${opts.png}\n`);
      }
    });
}
