// `freezeflow train`: run a schedule: freeze/unfreeze stage by stage, train, checkpoint, report.
import type { Command } from 'commander';
import { backendOption, setOption, threadsOption, wholeNumber } from '../args.js';

export function addTrain(program: Command): void {
  program
    .command('train')
    .description('run a schedule: freeze/unfreeze stage by stage, train, checkpoint, report')
    .option('-s, --schedule <file>', 'schedule YAML file (required unless --resume)')
    .option('-o, --out <dir>', 'run directory (default runs/<schedule>-<timestamp>)')
    .addOption(backendOption("compute backend (default: the schedule's, else auto)"))
    .addOption(threadsOption())
    .option('--json', 'stream NDJSON events on stdout')
    .option('-q, --quiet', 'no progress output')
    .option('--resume <dir>', 'continue an interrupted run from its last checkpoint')
    .option('--strict', 'fail on unreadable or non-image files in an image folder instead of skipping them')
    .option('--samples <n>', 'override data.samples (training-set size)', wholeNumber(1))
    .option('--seed <n>', 'override data.seed', wholeNumber(0, 2147483647))
    .addOption(setOption())
    .option('--print-config', 'print the fully resolved schedule (every default written out) as YAML and exit')
    .action(async (opts: import('../train.js').TrainOptions) => {
      const { runTrain } = await import('../train.js');
      process.exitCode = await runTrain(opts);
    });
}
