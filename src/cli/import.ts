// `freezeflow import MODEL.onnx`: a PyTorch export as a tfjs layers folder freezeflow (and any tfjs app
// that registers the few extra layers) can fine-tune.
import { basename } from 'node:path';
import { initInspectionBackend } from '../backend/index.js';
import { importOnnx } from '../model/onnx/import.js';
import type { Preprocess } from '../core/preprocess.js';
import { style } from './style.js';
import { EXIT_OK } from '../core/errors.js';

export interface ImportCliOptions {
  out?: string;
  preprocess?: Preprocess;
  inputSize?: [number, number];
  json?: boolean;
}

export async function runImport(file: string, opts: ImportCliOptions, out: (s: string) => void): Promise<number> {
  await initInspectionBackend();
  const dest = opts.out ?? basename(file).replace(/\.onnx$/i, '');
  const r = await importOnnx(file, dest, { preprocess: opts.preprocess, inputSize: opts.inputSize });
  const p = r.provenance;
  if (opts.json) {
    out(JSON.stringify({ dir: r.dir, ...p }));
    return EXIT_OK;
  }
  const ops = Object.values(p.opCounts).reduce((a, b) => a + b, 0);
  out(
    `${style.green('imported')} ${file} → ${r.dir} (${ops} ONNX nodes, opset ${p.opset}, input ${p.inputShape.join('×')}, ${p.seconds.toFixed(1)} s)`,
  );
  out(
    `preprocessing: ${p.preprocess.name} (put \`preprocess: ${p.preprocess.name === 'custom' ? JSON.stringify({ mean: p.preprocess.mean, std: p.preprocess.std }) : p.preprocess.name}\` under data: in a schedule)`,
  );
  if (p.batchNormFolded)
    process.stderr.write(
      'freezeflow: note: this export folded BatchNorm into the convolutions and lost the parameter names (the default eval-mode export); layers are named from the node scopes, and there are no BatchNorm layers to freeze or train. To keep them: torch.onnx.export(model.eval(), x, f, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)\n',
    );
  return EXIT_OK;
}
