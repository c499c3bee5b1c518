// The export formats, by the name --format takes.
import type { ExportFormat } from './kind.js';
import { onnxFormat } from './onnx.js';
import { tfjsFormat } from './tfjs.js';
import { tmFormat } from './tm.js';

export const FORMATS: Record<ExportFormat['name'], ExportFormat> = { tfjs: tfjsFormat, onnx: onnxFormat, tm: tmFormat };
export type { ExportFormat, ExportInput, Exported, Runner } from './kind.js';
