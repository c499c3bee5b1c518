// `freezeflow export`: write a trained model for deployment (tfjs, ONNX, Teachable Machine) and measure what it costs.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { Option } from 'commander';
import { backendOption, nonNegative } from '../args.js';

export function addExport(program: Command): void {
  program
    .command('export')
    .addHelpText(
      'after',
      examples([
        'freezeflow export runs/try1 --quantize uint8 --max-drop 1   # refuses if accuracy drops > 1 point',
        'freezeflow export runs/try1 --format onnx --nchw             # for PyTorch-style callers',
        'freezeflow export runs/try1 --format tm -o site/model       # Teachable Machine layout',
      ]),
    )
    .description('write a trained model for deployment (tfjs, ONNX, Teachable Machine) and measure what it costs')
    .argument('<source>', 'run directory (its model/, adapters merged) or model directory, model.json, model.onnx')
    .addOption(new Option('-f, --format <name>', 'what to write').choices(['tfjs', 'onnx', 'tm']).default('tfjs'))
    .addOption(
      new Option('-q, --quantize <dtype>', 'store kernels as float16 or uint8 (tfjs, tm)').choices([
        'float16',
        'uint8',
      ]),
    )
    .option('-o, --out <dir>', 'output folder (default: RUN_DIR/exports/<format>[-<dtype>], or <model>-<format> here)')
    .option('--checkpoint <name>', 'with a run directory: export checkpoints/<name> (best, last, …) instead of model/')
    .option('--max-drop <points>', 'fail (exit 1, nothing written) if accuracy drops by more than this', nonNegative)
    .option('--nchw', 'ONNX: take NCHW input (a transpose in front), as PyTorch-style callers pass images')
    .option('-d, --data <folder>', "measure on these labelled images (default: the run's validation images)")
    .option('--force', 'replace an existing --out folder that is not an earlier export')
    .option('--json', 'one JSON object on stdout (what export.json holds)')
    .addOption(backendOption('compute backend for the measurement', 'auto'))
    .action(async (source: string, opts: import('../export.js').ExportCliOptions) => {
      const { runExportCli } = await import('../export.js');
      process.exitCode = await runExportCli(source, opts);
    });
}
