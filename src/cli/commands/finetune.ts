// `freezeflow finetune`: one command for your model and pictures: the head on cached features, then the last blocks, then all, each lr from a range test.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { Option } from 'commander';
import { backendOption, wholeNumber } from '../args.js';
import { STRATEGIES } from '../init.js';

export function addFinetune(program: Command): void {
  program
    .command('finetune')
    .addHelpText(
      'after',
      examples([
        'freezeflow finetune --model tm-model/model.json --data photos',
        'freezeflow finetune -m resnet18.onnx -d photos --epochs 12 --out runs/first',
      ]),
    )
    .description(
      'one command for your model and pictures: the head on cached features, then the last blocks, then all, each lr from a range test',
    )
    .requiredOption('-m, --model <model>', 'the pretrained model (model.json, .onnx, URL)')
    .requiredOption('-d, --data <folder>', 'the image folder (one sub-folder per class)')
    .option(
      '-e, --epochs <n>',
      "total epochs, shared out as the strategy's stages are (default: the template's)",
      wholeNumber(1),
    )
    .addOption(
      new Option(
        '--strategy <name>',
        'progressive, full-freeze, full-unfreeze or auto (default: by image count)',
      ).choices(STRATEGIES),
    )
    .option('--samples <n>', 'use this many training images (default: all)', wholeNumber(1))
    .option('-o, --out <dir>', 'run directory (default runs/<strategy>-<model>-<timestamp>)')
    .addOption(backendOption('compute backend (default auto)'))
    .option('--json', 'stream NDJSON events on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (opts: import('../finetune.js').FinetuneOptions) => {
      const { runFinetune } = await import('../finetune.js');
      process.exitCode = await runFinetune(opts, (s) => process.stderr.write(`${s}\n`));
    });
}
