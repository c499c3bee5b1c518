// Pixel preprocessing presets (pure): value = (pixel/255 − mean) / std, per channel.

export interface Preprocess {
  name: 'unit' | 'symmetric' | 'imagenet' | 'custom';
  mean: number[];
  std: number[];
}

const PRESETS: Record<'unit' | 'symmetric' | 'imagenet', Omit<Preprocess, 'name'>> = {
  unit: { mean: [0], std: [1] },
  symmetric: { mean: [0.5], std: [0.5] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

/** data.preprocess as written (the schedule's schema declares it; this is its plain shape). */
export type PreprocessInput = keyof typeof PRESETS | { mean: number[]; std: number[] } | undefined;

export function normalizePreprocess(p: PreprocessInput): Preprocess {
  if (p === undefined) return { name: 'unit', ...PRESETS.unit };
  if (typeof p === 'string') return { name: p, ...PRESETS[p] };
  return { name: 'custom', mean: p.mean, std: p.std };
}

/** Per-channel scale and offset so that value = pixel·scale + offset (pixel in 0–255). */
export function affineOf(p: Preprocess, channels: number): { scale: Float32Array; offset: Float32Array } {
  const scale = new Float32Array(channels);
  const offset = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    // one value for all channels, or one per channel; a grayscale model with RGB stats uses their mean
    const pick = (a: number[]) =>
      a.length === 1 ? a[0]! : channels === 1 ? a.reduce((s, v) => s + v, 0) / a.length : a[c % a.length]!;
    const m = pick(p.mean);
    const s = pick(p.std);
    scale[c] = 1 / (255 * s);
    offset[c] = -m / s;
  }
  return { scale, offset };
}

/** Where a model says its pixels came from: its freezeflow.json, an import's, or TM's metadata.json. */
export interface ModelPreprocess {
  preprocess: Preprocess;
  /** In words, for messages: "the model's freezeflow.json", "Teachable Machine's metadata.json". */
  from: string;
  /** A default the model's files hold without anyone having said so (an import without --preprocess). */
  guessed?: boolean;
}

const same = (a: Preprocess, b: Preprocess) =>
  a.mean.length === b.mean.length &&
  a.std.length === b.std.length &&
  a.mean.every((v, i) => Math.abs(v - b.mean[i]!) < 1e-9) &&
  a.std.every((v, i) => Math.abs(v - b.std[i]!) < 1e-9);

export const describePreprocess = (p: Preprocess): string =>
  p.name === 'custom' ? `{mean: ${JSON.stringify(p.mean)}, std: ${JSON.stringify(p.std)}}` : p.name;

/**
 * One rule for every command: the model's own record decides the default; a schedule that says something
 * else wins, with a warning naming both (fine-tuning on other pixels than pretraining is rarely meant).
 */
export function choosePreprocess(
  given: Preprocess | undefined,
  model: ModelPreprocess | undefined,
): { preprocess: Preprocess; from: 'schedule' | 'model' | 'default'; warning?: string } {
  if (given === undefined)
    return model
      ? { preprocess: model.preprocess, from: 'model' }
      : { preprocess: normalizePreprocess(undefined), from: 'default' };
  if (!model || model.guessed || same(given, model.preprocess)) return { preprocess: given, from: 'schedule' };
  return {
    preprocess: given,
    from: 'schedule',
    warning: `data.preprocess is ${describePreprocess(given)} but ${model.from} says the model was trained on ${describePreprocess(model.preprocess)} pixels; remove data.preprocess to follow the model`,
  };
}
