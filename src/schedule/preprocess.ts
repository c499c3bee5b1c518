// Pixel preprocessing presets (pure): value = (pixel/255 − mean) / std, per channel.
import type { Schedule } from './schema.js';

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

export function normalizePreprocess(p: Schedule['data']['preprocess']): Preprocess {
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
