// `freezeflow export`: a run's (or any model's) trained model written in a deployable format, measured
// against the float32 model on the run's validation images, with export.json and MODEL.md beside it. The
// folder appears whole or not at all; a --max-drop failure writes nothing.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { writeDirAtomic } from '../core/files.js';
import { packageVersion } from '../core/paths.js';
import { RUN_FILES } from '../core/run-files.js';
import { readSummary } from '../core/summary.js';
import { loadTrained, modelJsonPath, type TrainedModel } from '../train/trained.js';
import { readScheduleFile } from '../schedule/load.js';
import { buildPlan } from '../schedule/plan.js';
import { modelCard, megabytes, type CardFacts } from './card.js';
import { FORMATS, type Exported, type ExportFormat } from './formats/index.js';
import { layersModelFiles, modelRunner } from './formats/tfjs.js';
import { measure, type Measurement } from './measure.js';
import type { Quantization } from './quantize.js';
import { folderSource, isRunDir, randomSource, runSource } from './sources.js';

export interface ExportOptions {
  source: string;
  format: string;
  quantize?: string;
  out?: string;
  checkpoint?: string;
  maxDrop?: number;
  nchw?: boolean;
  force?: boolean;
  data?: string;
}

export const EXPORT_RECORD = 'export.json';

function pickFormat(opts: ExportOptions): { format: ExportFormat; quantize?: Quantization } {
  const format = FORMATS[opts.format as ExportFormat['name']];
  if (!format)
    throw new UserError(
      `unknown export format '${opts.format}'; choose ${Object.keys(FORMATS).join(', ')}`,
      EXIT_USAGE,
    );
  const q = opts.quantize as Quantization | undefined;
  if (q !== undefined && !format.quantize.includes(q))
    throw new UserError(
      format.quantize.length === 0
        ? `--quantize does not apply to --format ${format.name}: the ONNX export is float32 (quantize it with onnxruntime's quantization tools, or export --format tfjs --quantize ${q})`
        : `--quantize ${q} is not one of ${format.quantize.join(', ')}`,
      EXIT_USAGE,
    );
  if (opts.nchw && format.name !== 'onnx') throw new UserError('--nchw applies to --format onnx only', EXIT_USAGE);
  return { format, quantize: q };
}

function defaultOut(opts: ExportOptions, run: boolean): string {
  const name = `${opts.format}${opts.quantize ? `-${opts.quantize}` : ''}`;
  if (run) return join(opts.source, 'exports', opts.checkpoint ? `${opts.checkpoint}-${name}` : name);
  const model = opts.source.startsWith('builtin:')
    ? opts.source.slice('builtin:'.length)
    : basename(resolve(opts.source));
  return `${model.replace(/\.(json|onnx)$/, '')}-${name}`;
}

/** An existing --out is replaced only when it is an earlier export (or with --force). */
function checkOut(out: string, force?: boolean): void {
  if (!existsSync(out) || force) return;
  if (!statSync(out).isDirectory()) throw new UserError(`--out ${out} is a file; give a folder`, EXIT_USAGE);
  if (readdirSync(out).length > 0 && !existsSync(join(out, EXPORT_RECORD)))
    throw new UserError(
      `--out ${out} exists and is not an earlier export (no ${EXPORT_RECORD}); choose another folder or add --force`,
      EXIT_USAGE,
    );
}

function sourceModelPath(opts: ExportOptions, run: boolean): string {
  const path = modelJsonPath(opts.source, opts.checkpoint);
  if (run && !existsSync(path))
    throw new UserError(
      `${opts.source} has no model yet (training has not finished); export a checkpoint with --checkpoint last or best`,
      EXIT_USAGE,
    );
  return path;
}

async function measured(
  t: TrainedModel,
  exported: Exported,
  opts: ExportOptions,
  run: boolean,
): Promise<Measurement | null> {
  const runner = await exported.runner();
  if (!runner) return null;
  const source = opts.data ? folderSource(opts.data, t) : run ? await runSource(opts.source, t) : randomSource(t);
  const reference = modelRunner(t.model);
  try {
    return await measure(reference, runner, source, {
      classes: t.labels.length,
      softmaxReference: exported.softmaxAdded,
    });
  } finally {
    runner.dispose();
  }
}

function runFacts(runDir: string): CardFacts['run'] {
  const loaded = readScheduleFile(join(runDir, RUN_FILES.config));
  const plan = buildPlan(loaded.schedule, loaded.name);
  const summary = readSummary(runDir);
  return {
    schedule: plan.name,
    data: plan.data.source,
    train: summary?.data.train,
    validation: summary?.data.validation,
    bestValAcc: summary ? summary.bestValAcc * 100 : undefined,
    finalValAcc: summary ? summary.finalValAcc * 100 : undefined,
    stages: plan.stages.map((s) => ({
      name: s.name,
      epochs: s.epochs,
      lr: s.lr,
      optimizer: s.optimizer.type,
      trainable: s.unfreezeLastBlocks
        ? `the last ${s.unfreezeLastBlocks} block(s) too`
        : s.unfreeze.length
          ? s.unfreeze.join(', ')
          : s.index === 0
            ? 'the new head'
            : 'as the stage before',
    })),
  };
}

const bytesOf = (files: Record<string, string | Uint8Array>, names: readonly string[]) =>
  names.reduce(
    (n, f) => n + (typeof files[f] === 'string' ? Buffer.byteLength(files[f]) : (files[f] as Uint8Array).byteLength),
    0,
  );

export interface ExportResult {
  code: number;
  out: string;
  record: Record<string, unknown>;
  /** Lines for the terminal. */
  lines: string[];
}

/** Every check that needs no model loaded (and no backend): bad options fail before any work. */
export function checkExport(opts: ExportOptions) {
  const { format, quantize } = pickFormat(opts);
  const run = isRunDir(opts.source);
  const modelPath = sourceModelPath(opts, run);
  const out = resolve(opts.out ?? defaultOut(opts, run));
  checkOut(out, opts.force);
  return { format, quantize, run, modelPath, out };
}

export async function runExport(opts: ExportOptions): Promise<ExportResult> {
  const { format, quantize, run, modelPath, out } = checkExport(opts);
  const t = await loadTrained(modelPath, undefined, false);
  const version = packageVersion();
  const exported = await format.write({
    model: t.model,
    labels: t.labels,
    input: t.input,
    quantize,
    nchw: opts.nchw ?? false,
    version,
  });
  const float32 = await layersModelFiles(t.model, undefined, false, version);
  const sizes = {
    float32: bytesOf(float32.files, float32.modelFiles),
    exported: bytesOf(exported.files, exported.modelFiles),
  };
  const m = await measured(t, exported, opts, run);
  const record = {
    format: format.name,
    quantize: quantize ?? null,
    source: resolve(modelPath),
    ...(run ? { run: resolve(opts.source), checkpoint: opts.checkpoint ?? null } : {}),
    freezeflow: version,
    date: new Date().toISOString(),
    labels: t.labels,
    input: t.input,
    files: Object.fromEntries(exported.modelFiles.map((f) => [f, bytesOf(exported.files, [f])])),
    sizes: { ...sizes, ratio: sizes.float32 / sizes.exported },
    measured: m ?? {
      skipped: 'onnxruntime-node is not installed (npm install onnxruntime-node), so the export was not run',
    },
    ...exported.details,
    notes: exported.notes,
  };
  const lines = summaryLines(format.name, quantize, out, sizes, m, exported.notes);
  if (opts.maxDrop !== undefined) {
    if (!m?.accuracy)
      throw new UserError(
        '--max-drop needs labelled images: export from a run directory or give --data FOLDER',
        EXIT_USAGE,
      );
    if (m.accuracy.drop > opts.maxDrop)
      return {
        code: EXIT_FAILURE,
        out,
        record,
        lines: [
          ...lines,
          `the export loses ${m.accuracy.drop.toFixed(2)} accuracy points, more than --max-drop ${opts.maxDrop}; nothing written`,
        ],
      };
  }
  const card = modelCard(cardFacts(opts, run, t, format.name, quantize, modelPath, sizes, m, exported));
  writeDirAtomic(out, { ...exported.files, [EXPORT_RECORD]: `${JSON.stringify(record, null, 2)}\n`, 'MODEL.md': card });
  return { code: EXIT_OK, out, record, lines };
}

function cardFacts(
  opts: ExportOptions,
  run: boolean,
  t: TrainedModel,
  format: string,
  quantize: Quantization | undefined,
  modelPath: string,
  sizes: { float32: number; exported: number },
  m: Measurement | null,
  exported: Exported,
): CardFacts {
  const facts = run ? runFacts(opts.source) : undefined;
  const p = t.input.preprocess;
  return {
    title: `${facts?.schedule ?? basename(resolve(opts.source))} — ${format}${quantize ? ` ${quantize}` : ''}`,
    date: new Date().toISOString().slice(0, 10),
    version: packageVersion(),
    format,
    quantize: quantize ?? null,
    sourceModel: run
      ? String(readScheduleFile(join(opts.source, RUN_FILES.config)).schedule.model.source)
      : resolve(modelPath),
    exportedFrom: resolve(modelPath),
    run: facts,
    labels: t.labels,
    input: {
      shape: [...t.input.shape],
      layout: (exported.details['layout'] as string | undefined) ?? 'NHWC',
      preprocess: `pixels (0–255) → (pixel/255 − mean) / std with mean ${JSON.stringify(p.mean)}, std ${JSON.stringify(p.std)} (${p.name}), ${t.input.resize} resize`,
    },
    sizes,
    measurement: m,
    notes: exported.notes,
  };
}

function summaryLines(
  format: string,
  quantize: string | undefined,
  out: string,
  sizes: { float32: number; exported: number },
  m: Measurement | null,
  notes: string[],
): string[] {
  const name = `${format}${quantize ? ` ${quantize}` : ''}`;
  const acc = (v: number | undefined) => (v === undefined ? '' : `  accuracy ${v.toFixed(2)} %`);
  const width = Math.max(name.length, 'float32'.length);
  return [
    `exported ${name} → ${out}`,
    `  ${'float32'.padEnd(width)} ${megabytes(sizes.float32).padStart(9)}${acc(m?.accuracy?.float32)}`,
    `  ${name.padEnd(width)} ${megabytes(sizes.exported).padStart(9)}${acc(m?.accuracy?.exported)}${m ? `  largest output difference ${m.maxOutputDiff.toExponential(2)}, same top class ${m.agreement.toFixed(2)} %` : ''}`,
    m
      ? `  measured on ${m.on} (${m.engine})`
      : '  not measured: onnxruntime-node is not installed (npm install onnxruntime-node)',
    ...notes.map((n) => `  note: ${n}`),
  ];
}
