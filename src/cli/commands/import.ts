// `freezeflow import`: convert an ONNX file exported from PyTorch into a tfjs layers model freezeflow can fine-tune.
import { examples } from '../help.js';
import { out } from '../output.js';
import type { Command } from 'commander';
import * as importArgs from '../import-args.js';

export function addImport(program: Command): void {
  program
    .command('import')
    .addHelpText(
      'after',
      examples([
        'freezeflow import resnet18.onnx -o models/resnet18',
        'freezeflow import net.onnx --preprocess symmetric --input-size 160,160 --json',
      ]),
    )
    .description('convert an ONNX file exported from PyTorch into a tfjs layers model freezeflow can fine-tune')
    .argument('<model.onnx>', 'the ONNX file (torch.onnx.export)')
    .option('-o, --out <dir>', 'output folder (default: the file name without .onnx, here)')
    .option(
      '--preprocess <p>',
      "the pixels the model was trained on: imagenet (default), unit, symmetric or '{mean: [..], std: [..]}'",
      (v: string) => importArgs.preprocessArg(v),
    )
    .option('--input-size <H,W>', 'the image size, for an export with a dynamic spatial size', (v: string) =>
      importArgs.inputSizeArg(v),
    )
    .option('--json', 'one JSON object on stdout')
    .action(async (file: string, opts: import('../import.js').ImportCliOptions) => {
      const { runImport } = await import('../import.js');
      process.exitCode = await runImport(file, opts, out);
    });
}
