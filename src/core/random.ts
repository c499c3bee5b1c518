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
 * tfjs draws the seed of every unseeded random op (head initialisers, dropout masks) from Math.random. A
 * run hands those seeds out from its own stream instead: as the initialisers' and Dropout's `seed`, which
 * tfjs turns into exactly the generator it would have built from a Math.random() of that value, so the
 * same seed gives the same run and nobody's Math.random is touched. Layers with no seed option
 * (GaussianNoise, GaussianDropout, AlphaDropout) see the stream as Math.random only for the length of
 * their own synchronous call, when no other code can run. The stream's position is saved with every
 * checkpoint and restored on --resume, so a resumed run draws the masks the uninterrupted one would have.
 */
let stream = 0;

/** Start the run's stream from its seed. */
export function seedStream(seed: number): void {
  stream = (seed ^ 0x5bd1e995) >>> 0;
}

/** The next seed for a tfjs random op, in [0, 1) like the Math.random() tfjs would have called. */
export function nextSeed(): number {
  stream = (stream + 0x6d2b79f5) >>> 0;
  let t = stream;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Run a synchronous tfjs call that reads Math.random with the stream in its place, and put it back. */
export function withSeededRandom<T>(fn: () => T): T {
  const own = Math.random;
  Math.random = nextSeed;
  try {
    return fn();
  } finally {
    Math.random = own;
  }
}

/** The position of the stream (for a checkpoint). */
export const randomState = (): number => stream;

/** Continue the stream from a saved position. */
export function restoreRandomState(state: number): void {
  stream = state >>> 0;
}
