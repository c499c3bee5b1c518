// `freezeflow merge`: merge.
import { examples } from '../help.js';
import { out } from '../output.js';
import type { Command } from 'commander';

export function addMerge(program: Command): void {
  program
    .command('merge')
    .addHelpText(
      'after',
      examples([
        'freezeflow merge builtin:resnet-mini runs/lora -o merged/',
        'freezeflow merge ../models/tm/model.json runs/photos-lora/adapters -o merged/ --json',
      ]),
    )
    .description("rebuild a run's trained model from the pretrained model and the run's adapters/ (LoRA merged in)")
    .argument(
      '<base>',
      'the model the run started from (its model.source: a model folder, model.json, .onnx or builtin:NAME)',
    )
    .argument('<adapters>', 'a run directory of a run with adapters, or its adapters/ folder')
    .requiredOption('-o, --out <dir>', 'a new folder for the merged model')
    .option('--json', 'one JSON object on stdout')
    .action(async (base: string, adapters: string, opts: import('../merge.js').MergeCliOptions) => {
      const { runMerge } = await import('../merge.js');
      process.exitCode = await runMerge(base, adapters, opts, out);
    });
}
