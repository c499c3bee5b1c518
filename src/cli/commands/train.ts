// `freezeflow train`: run a schedule: freeze/unfreeze stage by stage, train, checkpoint, report.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { backendOption, setOption, threadsOption, wholeNumber } from '../args.js';

export function addTrain(program: Command): void {
  program
    .command('train')
    .addHelpText(
      'after',
      examples([
        'freezeflow train -s schedules/progressive.yaml',
        'freezeflow train -s photos.yaml --out runs/try1 --backend webgpu',
        'freezeflow train --resume runs/try1                # after Ctrl-C or a crash',
        'freezeflow train -s my.yaml --json | jq -c \'select(.type=="epoch-end")\'',
        'freezeflow train -s my.yaml --set stages.1.lr=3e-4 --set data.batchSize=32 --print-config',
        "sed 's/0.001/0.0003/' my.yaml | freezeflow train -s -",
      ]),
    )
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
