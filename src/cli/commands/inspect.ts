// `freezeflow inspect`: list the layers of a model: paths, classes, shapes, parameters, trainable flags.
import { examples } from '../help.js';
import { out } from '../output.js';
import type { Command } from 'commander';
import { wholeNumber } from '../args.js';

export function addInspect(program: Command): void {
  program
    .command('inspect')
    .addHelpText(
      'after',
      examples([
        'freezeflow inspect builtin:resnet-mini',
        "freezeflow inspect model.json --grep 'block_16*' --schedule photos.yaml",
      ]),
    )
    .description('list the layers of a model: paths, classes, shapes, parameters, trainable flags')
    .argument('<model>', 'model.json path, http(s) URL, or builtin:<name>')
    .option('--json', 'print JSON')
    .option('-s, --schedule <file>', 'add a column per stage: which layers are trainable there')
    .option('-g, --grep <pattern>', 'show only the layers a pattern matches')
    .option(
      '--depth <n>',
      'show N levels (nested models, modules, blocks); deeper layers count in their totals',
      wholeNumber(1),
    )
    .option('--blocks', 'one line per block of the backbone, as lastBlocks and lrDecay use them')
    .action(
      async (
        model: string,
        opts: { json?: boolean; schedule?: string; grep?: string; depth?: number; blocks?: boolean },
      ) => {
        const { runInspect } = await import('../inspect.js');
        process.exitCode = await runInspect(model, opts, out);
      },
    );
}
