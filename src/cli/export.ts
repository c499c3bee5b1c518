// `freezeflow export RUN_DIR|MODEL`: deployable files (tfjs, ONNX, Teachable Machine), with the accuracy
// cost of the format measured and written beside them.
import { backendChoice, initBackend } from '../backend/index.js';
import { checkExport, runExport, type ExportOptions } from '../export/run.js';
import { threadsSetting } from './threads.js';
import { style } from './style.js';

export interface ExportCliOptions extends Omit<ExportOptions, 'source'> {
  json?: boolean;
  backend?: string;
}

export async function runExportCli(source: string, opts: ExportCliOptions): Promise<number> {
  checkExport({ ...opts, source }); // a bad option is one line before a backend starts
  await initBackend(backendChoice(opts.backend ?? 'auto'), { threads: threadsSetting() });
  const r = await runExport({ ...opts, source });
  if (opts.json) process.stdout.write(`${JSON.stringify({ out: r.out, written: r.code === 0, ...r.record })}\n`);
  else {
    const [first, ...rest] = r.lines;
    process.stdout.write(`${r.code === 0 ? style.green(first!) : first}\n${rest.join('\n')}\n`);
  }
  if (r.code !== 0) process.stderr.write(`freezeflow: ${r.lines.at(-1)}\n`);
  return r.code;
}
