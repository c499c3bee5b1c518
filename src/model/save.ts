// Writing a LayersModel in the tfjs layers format, atomically.
import { writeDirAtomic } from '../core/files.js';
import type * as tf from '../tf.js';

/**
 * Save in the tfjs layers format (model.json + weights.bin) plus labels.json, loadable by stock
 * tf.loadLayersModel. Written to a temp directory and renamed, so a killed run never leaves half a model.
 */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  extra: { labels?: string[]; files?: Record<string, unknown>; binary?: Record<string, Uint8Array> } = {},
): Promise<void> {
  const out: Record<string, string | Uint8Array> = {};
  await model.save({
    save: async (a: tf.io.ModelArtifacts) => {
      const weights = new Uint8Array(a.weightData as ArrayBuffer);
      out['weights.bin'] = weights;
      out['model.json'] = JSON.stringify({
        format: 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['./weights.bin'], weights: a.weightSpecs }],
      });
      return {
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength },
      };
    },
  });
  if (extra.labels) out['labels.json'] = `${JSON.stringify(extra.labels)}\n`;
  for (const [name, value] of Object.entries(extra.files ?? {})) out[name] = `${JSON.stringify(value, null, 2)}\n`;
  Object.assign(out, extra.binary ?? {});
  writeDirAtomic(dir, out);
}
