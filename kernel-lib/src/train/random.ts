/** The seeded randomness of the trainers and their tests: the same seed, the same draws. */

/**
 * A mulberry32 generator: uniform numbers in [0, 1) from a 32-bit seed. Small and fast, and
 * good enough for shuffling rows, sampling and initialising centroids.
 *
 * @example
 * ```ts
 * const next = mulberry32(42);
 * next(); // 0.6011037519201636, the same on every run
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
