import { describe, expect, it } from 'vitest';
import { permutationImportance } from './importance';
import { r2 } from './metrics';
import { seededRandom } from './test-support/datasets';

describe('permutationImportance', () => {
  // y = 3 * x0 + 0.5 * x1 + small noise; x2 is ignored by the model.
  const rand = seededRandom(5);
  const n = 500;
  const cols = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => rand() * 2 - 1));
  const y = Float64Array.from({ length: n }, (_, i) => 3 * cols[0][i] + 0.5 * cols[1][i] + 0.01 * (rand() - 0.5));
  const predict = (c: Float64Array[]) => Float64Array.from(c[0], (v, i) => 3 * v + 0.5 * c[1][i]);

  it('gives a decisive feature a large drop, a weak one a small drop, an ignored one exactly 0', () => {
    const r = permutationImportance({ predict, columns: cols, y, score: (t, p) => r2(t, p), nRepeats: 8, seed: 1 });
    expect(r.baseline).toBeGreaterThan(0.9999);
    // Shuffling x_j adds about 2 var(coef_j x_j) of error: r2 drops by 2 * 9 / (9 + 0.25) and 2 * 0.25 / 9.25.
    expect(r.mean[0]).toBeGreaterThan(1.8);
    expect(r.mean[0]).toBeLessThan(2.1);
    expect(r.mean[1]).toBeGreaterThan(0.04);
    expect(r.mean[1]).toBeLessThan(0.07);
    expect(r.mean[2]).toBe(0);
    expect(r.std[2]).toBe(0);
    expect(r.std[0]).toBeGreaterThan(0);
    expect(r.importances.map((d) => d.length)).toEqual([8, 8, 8]);
    // mean and std are those of the per-repeat drops (population std).
    const d = r.importances[0];
    const m = d.reduce((s, v) => s + v, 0) / d.length;
    expect(r.mean[0]).toBeCloseTo(m, 14);
    expect(r.std[0]).toBeCloseTo(Math.sqrt(d.reduce((s, v) => s + (v - m) ** 2, 0) / d.length), 14);
  });

  it('is deterministic by seed and leaves the input untouched', () => {
    const before = Float64Array.from(cols[0]);
    const a = permutationImportance({ predict, columns: cols, y, score: (t, p) => r2(t, p), seed: 4 });
    const b = permutationImportance({ predict, columns: cols, y, score: (t, p) => r2(t, p), seed: 4 });
    const c = permutationImportance({ predict, columns: cols, y, score: (t, p) => r2(t, p), seed: 5 });
    expect([...a.mean]).toEqual([...b.mean]);
    expect(a.mean[0]).not.toBe(c.mean[0]);
    expect(a.importances[0].length).toBe(5);
    expect([...cols[0]]).toEqual([...before]);
  });

  it('rejects mismatched shapes', () => {
    expect(() => permutationImportance({ predict, columns: [cols[0].subarray(1)], y, score: r2 })).toThrow(
      /column 0 has 499 rows but y has 500/,
    );
    expect(() => permutationImportance({ predict: () => new Float64Array(3), columns: cols, y, score: r2 })).toThrow(
      /predict returned 3 values for 500 rows/,
    );
  });
});
