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
  const a = await modelArtifacts(model);
  const out: Record<string, string | Uint8Array> = {
    'weights.bin': new Uint8Array(a.weightData as ArrayBuffer),
    'model.json': JSON.stringify({
      format: 'layers-model',
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy ?? null,
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['./weights.bin'], weights: a.weightSpecs }],
    }),
  };
  if (extra.labels) out['labels.json'] = `${JSON.stringify(extra.labels)}\n`;
  for (const [name, value] of Object.entries(extra.files ?? {})) out[name] = `${JSON.stringify(value, null, 2)}\n`;
  Object.assign(out, extra.binary ?? {});
  writeDirAtomic(dir, out);
}

/** What tfjs' own save hands a writer: topology, weight specs and the float32 weights in one buffer. */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let got: tf.io.ModelArtifacts | undefined;
  await model.save({
    save: async (a: tf.io.ModelArtifacts) => {
      got = a;
      const bytes = (a.weightData as ArrayBuffer).byteLength;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes } };
    },
  });
  return got!;
}
