// `freezeflow init`: write a commented schedule for a strategy, or recommend one from the data-set size.
import { examples } from '../help.js';
import { out } from '../output.js';
import type { Command } from 'commander';
import { Option } from 'commander';
import { wholeNumber } from '../args.js';
import { runInit, STRATEGIES, type InitOptions } from '../init.js';

export function addInit(program: Command): void {
  program
    .command('init')
    .addHelpText(
      'after',
      examples([
        'freezeflow init --samples 3000            # recommends a strategy',
        'freezeflow init --strategy selective -o my.yaml',
        'freezeflow init --model tm-model/model.json --data photos -o photos.yaml   # for your model and pictures',
      ]),
    )
    .description('write a commented schedule for a strategy, or recommend one from the data-set size')
    .addOption(new Option('--strategy <name>', 'fine-tuning strategy').choices(STRATEGIES))
    .option('--auto', 'stages: auto — the run chooses the stages from the data (the same as --strategy auto)')
    .option(
      '--samples <n>',
      'number of training samples (recommends a strategy when --strategy is absent)',
      wholeNumber(1),
    )
    .option('-m, --model <model>', "your model (model.json, .onnx, URL): real block names, the model's pixels")
    .option(
      '-d, --data <folder>',
      'your image folder (one sub-folder per class): counts the images, picks the strategy',
    )
    .option('-o, --out <file>', 'where to write the schedule (default: <strategy>.yaml; - for stdout)')
    .option('-f, --force', 'overwrite an existing file')
    .action(async (opts: InitOptions) => {
      process.exitCode = await runInit(opts, out, (s) => process.stderr.write(`${s}\n`));
    });
}
