/**
 * The trainer's only source of randomness (bin sampling, bagging, feature fraction): a small
 * seeded PRNG, so a given seed always gives the same model.
 */

/** A mulberry32 generator: returns uniform numbers in [0, 1) from a 32-bit seed. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed so that nearby seeds (0, 1, 2) start far apart.
    this.state = (Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0;
  }

  /** The next uniform number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * Exactly `k` of `0..n-1`, in increasing order (selection sampling, Knuth's algorithm S):
   * sorted indices keep the row accesses of the histogram loops sequential.
   */
  sample(n: number, k: number, out?: Int32Array): Int32Array {
    const res = out ?? new Int32Array(k);
    let need = k;
    let m = 0;
    for (let i = 0; i < n && need > 0; i++) {
      if (this.next() * (n - i) < need) {
        res[m++] = i;
        need--;
      }
    }
    return res;
  }
}
