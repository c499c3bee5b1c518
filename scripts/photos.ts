// Generated photo folders: rendered objects with real variation, for the bench's photos row and the
// augment.views measurement. Four classes (circle, square, triangle, star) on cluttered backgrounds: random position (partly out of frame),
// size, rotation, colour, outline, lighting gradient, blur, occluding strokes and JPEG quality; three
// frame sizes so 'cover' resizing crops differently.
//   node dist/scripts/photos.js OUT [--per-class N] [--seed S]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { rng } from '../src/core/random.js';

export const PHOTO_CLASSES = ['circle', 'square', 'triangle', 'star'] as const;
type Kind = (typeof PHOTO_CLASSES)[number];

const FRAMES: [number, number][] = [
  [320, 240],
  [240, 320],
  [288, 288],
];

const colour = (r: () => number, lo = 0, hi = 255) =>
  `rgb(${[0, 1, 2].map(() => Math.floor(lo + r() * (hi - lo))).join(',')})`;

function outline(kind: Kind, s: number): string {
  if (kind === 'circle') return `<circle cx="0" cy="0" r="${s}"/>`;
  if (kind === 'square') return `<rect x="${-s}" y="${-s}" width="${2 * s}" height="${2 * s}"/>`;
  if (kind === 'triangle') return `<polygon points="0,${-s * 1.15} ${-s},${s * 0.85} ${s},${s * 0.85}"/>`;
  const pts = Array.from({ length: 10 }, (_, i) => {
    const a = (i * Math.PI) / 5 - Math.PI / 2;
    const rr = i % 2 === 0 ? s * 1.2 : s * 0.5;
    return `${(rr * Math.cos(a)).toFixed(1)},${(rr * Math.sin(a)).toFixed(1)}`;
  });
  return `<polygon points="${pts.join(' ')}"/>`;
}

/** One photo as SVG: background, clutter, the object, occluders, lighting. */
function photoSvg(kind: Kind, r: () => number): { svg: string; blur: number; quality: number } {
  const [w, h] = FRAMES[Math.floor(r() * FRAMES.length)]!;
  const m = Math.min(w, h);
  const s = m * (0.14 + r() * 0.16);
  const cx = w * (0.15 + r() * 0.7);
  const cy = h * (0.15 + r() * 0.7);
  const clutter = Array.from({ length: 4 + Math.floor(r() * 6) }, () => {
    const rx = m * (0.05 + r() * 0.25);
    return `<ellipse cx="${r() * w}" cy="${r() * h}" rx="${rx}" ry="${rx * (0.3 + r())}" fill="${colour(r)}" opacity="${0.2 + r() * 0.4}"/>`;
  }).join('');
  const occluders = Array.from({ length: Math.floor(r() * 3) }, () => {
    const x = r() * w;
    return `<line x1="${x}" y1="0" x2="${x + (r() - 0.5) * w}" y2="${h}" stroke="${colour(r)}" stroke-width="${2 + r() * m * 0.04}" opacity="0.8"/>`;
  }).join('');
  const stroke = r() < 0.5 ? `stroke="${colour(r, 0, 120)}" stroke-width="${1 + r() * 5}"` : '';
  const light = r() * 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
<defs><linearGradient id="bg" gradientTransform="rotate(${r() * 360} .5 .5)"><stop offset="0" stop-color="${colour(r)}"/><stop offset="1" stop-color="${colour(r)}"/></linearGradient>
<linearGradient id="light" gradientTransform="rotate(${light} .5 .5)"><stop offset="0" stop-color="white" stop-opacity="${r() * 0.35}"/><stop offset="1" stop-color="black" stop-opacity="${r() * 0.45}"/></linearGradient></defs>
<rect width="${w}" height="${h}" fill="url(#bg)"/>${clutter}
<g transform="translate(${cx} ${cy}) rotate(${r() * 360})" fill="${colour(r, 30, 255)}" ${stroke}>${outline(kind, s)}</g>
${occluders}<rect width="${w}" height="${h}" fill="url(#light)"/></svg>`;
  return { svg, blur: r() < 0.4 ? 0.3 + r() * 1.5 : 0, quality: 60 + Math.floor(r() * 36) };
}

/** `perClass` JPEG photos of each class under root/<class>/, all drawn from `seed`. */
export async function makePhotos(root: string, perClass: number, seed: number): Promise<void> {
  const r = rng(seed);
  for (const kind of PHOTO_CLASSES) {
    mkdirSync(join(root, kind), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const p = photoSvg(kind, r);
      let img = sharp(Buffer.from(p.svg));
      if (p.blur > 0) img = img.blur(p.blur);
      await img.jpeg({ quality: p.quality }).toFile(join(root, kind, `${kind}-${String(i).padStart(3, '0')}.jpg`));
    }
  }
}

if (process.argv[1]?.endsWith('photos.js')) {
  const args = process.argv.slice(2);
  const opt = (name: string, d: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!out) {
    process.stderr.write('usage: node dist/scripts/photos.js OUT [--per-class N] [--seed S]\n');
    process.exit(2);
  }
  await makePhotos(out, opt('--per-class', 75), opt('--seed', 1));
  process.stdout.write(`${out}: ${PHOTO_CLASSES.length} classes × ${opt('--per-class', 75)} photos\n`);
}
