// Seeded, on-the-fly augmentation of one HWC float image (pure; no tensors). Every operation is
// scale-invariant (flip, crop, rotation, brightness as a factor, contrast around the image mean), so it
// works on pixels in [0, 1] or [0, 255] alike, before preprocessing.
import { rng } from '../core/random.js';

export interface AugmentSpec {
  flip: boolean;
  /** Max rotation in degrees. */
  rotate: number;
  /** Random resized crop: min area fraction kept (1 = off). */
  crop: number;
  brightness: number;
  contrast: number;
  /** Each image is drawn from this many fixed views (seeded) instead of a fresh draw every epoch. */
  views?: number;
}

export const isAugmenting = (a: AugmentSpec): boolean =>
  a.flip || a.rotate > 0 || a.crop < 1 || a.brightness > 0 || a.contrast > 0;

/** The random draw for one image: the same (seed, epoch, index) always gives the same draw. */
export interface AugmentDraw {
  flip: boolean;
  angle: number;
  /** Crop box in source pixels. */
  box: { x: number; y: number; w: number; h: number };
  brightness: number;
  contrast: number;
}

/** A per-image stream seed from the run seed, the epoch and the image's index. */
export function drawSeed(seed: number, epoch: number, index: number): number {
  // mix the three with odd multipliers (splitmix-style) so neighbours get unrelated streams
  let h =
    Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35) ^ Math.imul(index + 1, 0x27d4eb2f);
  h ^= h >>> 16;
  return Math.imul(h, 0x7feb352d) >>> 0;
}

/** Views live at their own "epochs", far from real ones, so view v of an image is one fixed draw. */
const VIEW_EPOCH = 0x40000000;

/**
 * The draw seed of one image in one epoch. With `views`, the epoch picks one of the image's K fixed
 * views (seeded, independently per image); `view` asks for one view directly (feature caching).
 */
export function itemSeed(a: { seed: number; epoch: number; views?: number; view?: number }, item: number): number {
  if (a.views === undefined) return drawSeed(a.seed, a.epoch, item);
  return drawSeed(a.seed, VIEW_EPOCH + (a.view ?? pickView(a.seed, a.epoch, item, a.views)), item);
}

/** Which of K views an image shows in an epoch. */
export function pickView(seed: number, epoch: number, item: number, views: number): number {
  return drawSeed(seed ^ 0x5bd1e995, epoch, item) % views;
}

export function drawAugment(a: AugmentSpec, height: number, width: number, seed: number): AugmentDraw {
  const r = rng(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * r();
  let box = { x: 0, y: 0, w: width, h: height };
  if (a.crop < 1) {
    // torchvision RandomResizedCrop: area in [crop, 1], log-uniform aspect ratio in [3/4, 4/3]
    const area = u(a.crop, 1) * width * height;
    const ratio = Math.exp(u(Math.log(3 / 4), Math.log(4 / 3)));
    const w = Math.min(width, Math.sqrt(area * ratio));
    const h = Math.min(height, Math.sqrt(area / ratio));
    box = { x: u(0, width - w), y: u(0, height - h), w, h };
  }
  return {
    flip: a.flip && r() < 0.5,
    angle: a.rotate > 0 ? (u(-a.rotate, a.rotate) * Math.PI) / 180 : 0,
    box,
    brightness: a.brightness > 0 ? u(1 - a.brightness, 1 + a.brightness) : 1,
    contrast: a.contrast > 0 ? u(1 - a.contrast, 1 + a.contrast) : 1,
  };
}

/**
 * Apply a draw to an HWC image. Geometry is one inverse affine map (output pixel → source point:
 * flip, rotate about the crop centre, scale into the crop box) sampled bilinearly; outside is 0.
 */
export function applyAugment(
  src: Float32Array,
  height: number,
  width: number,
  channels: number,
  d: AugmentDraw,
): Float32Array {
  const { box } = d;
  const geometric = d.flip || d.angle !== 0 || box.x !== 0 || box.y !== 0 || box.w !== width || box.h !== height;
  let out = src;
  if (geometric) {
    out = new Float32Array(src.length);
    const cos = Math.cos(d.angle);
    const sin = Math.sin(d.angle);
    const sx = box.w / width;
    const sy = box.h / height;
    const cx = box.x + box.w / 2;
    const cy = box.y + box.h / 2;
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++) {
        // output pixel centre relative to the output centre, flipped, scaled into the box, rotated
        let ox = u + 0.5 - width / 2;
        const oy = v + 0.5 - height / 2;
        if (d.flip) ox = -ox;
        const bx = ox * sx;
        const by = oy * sy;
        const x = cx + cos * bx - sin * by - 0.5;
        const y = cy + sin * bx + cos * by - 0.5;
        const x0 = Math.floor(x);
        const y0 = Math.floor(y);
        const fx = x - x0;
        const fy = y - y0;
        const base = (v * width + u) * channels;
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
          // all four neighbours inside (most pixels): plain indexing, same arithmetic as below
          const i00 = (y0 * width + x0) * channels;
          const i10 = i00 + width * channels;
          for (let c = 0; c < channels; c++)
            out[base + c] =
              (1 - fy) * ((1 - fx) * src[i00 + c]! + fx * src[i00 + channels + c]!) +
              fy * ((1 - fx) * src[i10 + c]! + fx * src[i10 + channels + c]!);
          continue;
        }
        for (let c = 0; c < channels; c++) {
          const at = (yy: number, xx: number) =>
            yy < 0 || yy >= height || xx < 0 || xx >= width ? 0 : src[(yy * width + xx) * channels + c]!;
          out[base + c] =
            (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
            fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        }
      }
    }
  }
  if (d.brightness !== 1 || d.contrast !== 1) {
    if (out === src) out = Float32Array.from(src);
    let mean = 0;
    for (let i = 0; i < out.length; i++) mean += out[i]!;
    mean /= out.length;
    for (let i = 0; i < out.length; i++) out[i] = (mean + (out[i]! - mean) * d.contrast) * d.brightness;
  }
  return out;
}
