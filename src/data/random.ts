// Seeded PRNG (mulberry32): splits, shuffles and augmentation must be reproducible from the seed.
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffleInPlace<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/**
 * tfjs draws the seeds of unseeded ops (head initialisers, dropout masks) from Math.random; a training
 * process replaces it for good with a stream from the run seed, so that the same seed gives the same run.
 * The stream's position is saved with every checkpoint and restored on --resume, so a resumed run draws
 * the dropout masks the uninterrupted one would have.
 */
let stream = 0;
export function seedMathRandom(seed: number): void {
  stream = (seed ^ 0x5bd1e995) >>> 0;
  Math.random = () => {
    stream = (stream + 0x6d2b79f5) >>> 0;
    let t = stream;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The position of the seeded stream (for a checkpoint). */
export const randomState = (): number => stream;

/** Continue the seeded stream from a saved position. */
export function restoreRandomState(state: number): void {
  seedMathRandom(0);
  stream = state >>> 0;
}
