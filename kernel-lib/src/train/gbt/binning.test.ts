import { describe, expect, it } from 'vitest';
import { binFeatures, binUpperBounds, MAX_FLOAT32 } from './binning';
import { testRng } from './test-support/synthetic';

describe('binning', () => {
  it('puts each distinct value in its own bin when there are few, bounds at float32 midpoints', () => {
    const sorted = Float64Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3]);
    expect(binUpperBounds(sorted, 255, 3)).toEqual([1.5, 2.5, MAX_FLOAT32]);
    // LightGBM's min_data_in_bin: fewer than 3 values do not close a bin.
    expect(binUpperBounds(Float64Array.from([1, 2, 3, 4, 5, 6]), 255, 3)).toEqual([3.5, MAX_FLOAT32]);
    // Adjacent float32 values have no float32 between them: the bound is the lower one.
    const a = Math.fround(1);
    const b = Math.fround(1 + 2 ** -23);
    expect(binUpperBounds(Float64Array.from([a, a, a, b, b, b]), 255, 3)).toEqual([a, MAX_FLOAT32]);
  });

  it('makes at most maxBin bins (the NaN bin included), about equally full', () => {
    const r = testRng(1);
    const n = 20000;
    const x = Float64Array.from({ length: n }, () => r.normal());
    const withNaN = x.map((v, i) => (i % 10 === 0 ? NaN : v));
    const d = binFeatures([x, withNaN], 16, 200000, 0);
    expect(d.numBins[0]).toBe(16);
    expect(d.nanBin[0]).toBe(-1);
    expect(d.numBins[1]).toBe(16);
    expect(d.nanBin[1]).toBe(15);
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < n; i++) counts[d.bins[0][i]]++;
    for (const c of counts) expect(Math.abs(c - n / 16)).toBeLessThan(n / 16 / 4);
    for (let i = 0; i < n; i++) if (i % 10 === 0) expect(d.bins[1][i]).toBe(15);
    expect(d.rows[5 * 2 + 1]).toBe(d.bins[1][5]);
  });

  it('bins every value, sampled or not, exactly as the float32 rule compares it', () => {
    const r = testRng(2);
    const n = 30000;
    // Mixed scales, ties, values that float32 rounds, and a sample smaller than the data.
    const x = Float64Array.from({ length: n }, (_, i) =>
      i % 7 === 0 ? Math.round(r.normal() * 3) : r.normal() * 1e-3 + (i % 3) * 1e6 + r.u() * 1e-9,
    );
    const d = binFeatures([x], 255, 5000, 7);
    const ub = d.upper[0];
    for (let i = 0; i < n; i++) {
      const b = d.bins[0][i];
      const v = Math.fround(x[i]);
      // In bin b: above the previous bound, at most this one; so "bin <= t" equals "v <= ub[t]".
      expect(v <= ub[b]).toBe(true);
      if (b > 0) expect(v > ub[b - 1]).toBe(true);
    }
    for (const u of ub) expect(Math.fround(u)).toBe(u);
  });

  it('is deterministic for a seed and samples with it', () => {
    const r = testRng(3);
    const x = Float64Array.from({ length: 5000 }, () => r.u());
    const a = binFeatures([x], 255, 500, 1).upper[0];
    expect(binFeatures([x], 255, 500, 1).upper[0]).toEqual(a);
    expect(binFeatures([x], 255, 500, 2).upper[0]).not.toEqual(a);
  });
});
