// `freezeflow evaluate`: accuracy, per-class precision/recall/F1 and confusion matrix on a folder of labelled images.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { backendOption } from '../args.js';

export function addEvaluate(program: Command): void {
  program
    .command('evaluate')
    .addHelpText(
      'after',
      examples([
        'freezeflow evaluate -m runs/try1 -d photos/',
        'freezeflow evaluate -m runs/try1 -d photos/ --all --json',
      ]),
    )
    .description('accuracy, per-class precision/recall/F1 and confusion matrix on a folder of labelled images')
    .requiredOption(
      '-m, --model <path>',
      'run directory (its final model/), model directory, model.json, http(s) URL or builtin:NAME',
    )
    .requiredOption('-d, --data <folder>', 'folder with one sub-folder per class (or train/ and val/)')
    .option('--json', 'one JSON object on stdout')
    .addOption(backendOption('compute backend', 'auto'))
    .option('--checkpoint <name>', 'with a run directory: use checkpoints/<name> (best, last, …) instead of model/')
    .option('--all', "score every image of the folder, not only the run's own validation images")
    .option('--strict', 'fail on unreadable or non-image files instead of skipping them')
    .action(async (opts: import('../predict.js').EvaluateOptions) => {
      const { runEvaluate } = await import('../predict.js');
      process.exitCode = await runEvaluate(opts);
    });
}
