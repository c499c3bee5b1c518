// `freezeflow predict`: classify image files with a trained model (top-k labels with probabilities).
import { examples } from '../help.js';
import type { Command } from 'commander';
import { backendOption, wholeNumber } from '../args.js';

export function addPredict(program: Command): void {
  program
    .command('predict')
    .addHelpText(
      'after',
      examples([
        'freezeflow predict -m runs/try1 cat.jpg dog.jpg',
        'freezeflow predict -m runs/try1 --checkpoint best -k 1 *.jpg',
      ]),
    )
    .description('classify image files with a trained model (top-k labels with probabilities)')
    .argument('<images...>', 'image files')
    .requiredOption(
      '-m, --model <path>',
      'run directory (its final model/), model directory, model.json, model.onnx, http(s) URL or builtin:NAME',
    )
    .option('-k, --top <k>', 'how many labels to show per image', wholeNumber(1), 3)
    .option('--json', 'one JSON object on stdout')
    .option('--raw', "print the model's raw output vector per image instead of labels")
    .addOption(backendOption('compute backend', 'auto'))
    .option('--checkpoint <name>', 'with a run directory: use checkpoints/<name> (best, last, …) instead of model/')
    .action(async (images: string[], opts: import('../predict.js').PredictOptions) => {
      const { runPredict } = await import('../predict.js');
      process.exitCode = await runPredict(images, opts);
    });
}
