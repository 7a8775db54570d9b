import { describe, expect, it } from 'vitest';
import { fitLogisticRegression, predictProba } from './logistic';
import type { Columns } from './types';

/** Small seeded PRNG (mulberry32) and a Box-Muller normal, so tests are reproducible. */
function rng(seed: number): { u: () => number; normal: () => number } {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Synthetic data from a known logistic model. */
function simulate(n: number, coef: number[], intercept: number, seed: number): { X: Columns; y: Float64Array } {
  const r = rng(seed);
  const X = coef.map(() => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = intercept;
    for (let j = 0; j < coef.length; j++) {
      X[j][i] = r.normal() * (j + 1); // different scales per column
      z += coef[j] * X[j][i];
    }
    y[i] = r.u() < sigmoid(z) ? 1 : 0;
  }
  return { X, y };
}

/** Gradient of C * sum s_i logloss_i + 0.5 ||w||^2, written independently of the solver. */
function penalisedGradient(
  X: Columns,
  y: ArrayLike<number>,
  w: number[],
  b: number,
  C: number,
  s?: ArrayLike<number>,
): number[] {
  const g = [...w, 0];
  for (let i = 0; i < y.length; i++) {
    let z = b;
    for (let j = 0; j < w.length; j++) z += w[j] * X[j][i];
    const r = C * (s ? s[i] : 1) * (sigmoid(z) - y[i]);
    for (let j = 0; j < w.length; j++) g[j] += r * X[j][i];
    g[w.length] += r;
  }
  return g;
}

describe('fitLogisticRegression', () => {
  it('returns a point where the penalised gradient vanishes (with sample weights)', () => {
    const { X, y } = simulate(500, [0.8, -0.4, 0.1], 0.3, 1);
    const r = rng(2);
    const s = Float64Array.from({ length: 500 }, () => 0.5 + r.u() * 2);
    const C = 0.05;
    const m = fitLogisticRegression({
      featureNames: ['a', 'b', 'c'],
      columns: X,
      y,
      C,
      sampleWeight: s,
      tol: 1e-12,
    });
    const g = penalisedGradient(X, y, m.coefficients, m.intercept, C, s);
    const sumS = s.reduce((a, v) => a + v, 0);
    for (const gj of g) expect(Math.abs(gj) / (C * sumS)).toBeLessThan(1e-10);
    // Regularisation must actually bite at this C: the fit differs from a weakly penalised one.
    const weak = fitLogisticRegression({
      featureNames: ['a', 'b', 'c'],
      columns: X,
      y,
      C: 1e6,
      sampleWeight: s,
    });
    expect(Math.abs(weak.coefficients[0])).toBeGreaterThan(Math.abs(m.coefficients[0]) + 0.01);
  });

  it('matches the closed form of a symmetric one-feature problem', () => {
    // x = +1: labels 1,1,0; x = -1: labels 0,0,1. By symmetry b = 0 and the optimum solves
    // C * (6 sigmoid(w) - 4) + w = 0; unpenalised (C -> inf) w = ln 2.
    const X = [Float64Array.from([1, 1, 1, -1, -1, -1])];
    const y = [1, 1, 0, 0, 0, 1];
    for (const C of [0.1, 1, 10]) {
      let lo = 0;
      let hi = 1;
      for (let k = 0; k < 200; k++) {
        const mid = (lo + hi) / 2;
        if (C * (6 * sigmoid(mid) - 4) + mid > 0) hi = mid;
        else lo = mid;
      }
      const m = fitLogisticRegression({ featureNames: ['x'], columns: X, y, C, tol: 1e-12 });
      expect(m.coefficients[0]).toBeCloseTo(lo, 10);
      expect(m.intercept).toBeCloseTo(0, 10);
    }
    const big = fitLogisticRegression({ featureNames: ['x'], columns: X, y, C: 1e9, tol: 1e-14 });
    expect(big.coefficients[0]).toBeCloseTo(Math.log(2), 6);
  });

  it('agrees with an independent plain gradient-descent run', () => {
    const { X, y } = simulate(40, [1.2, -0.7], -0.2, 7);
    const C = 0.5;
    const w = [0, 0];
    let b = 0;
    const lr = 0.03;
    for (let it = 0; it < 60000; it++) {
      const g = penalisedGradient(X, y, w, b, C);
      w[0] -= lr * g[0];
      w[1] -= lr * g[1];
      b -= lr * g[2];
    }
    const m = fitLogisticRegression({ featureNames: ['a', 'b'], columns: X, y, C, tol: 1e-10 });
    expect(m.coefficients[0]).toBeCloseTo(w[0], 8);
    expect(m.coefficients[1]).toBeCloseTo(w[1], 8);
    expect(m.intercept).toBeCloseTo(b, 8);
    // The default tol (1e-4 on the scaled gradient, as scikit-learn) is close but not exact.
    const d = fitLogisticRegression({ featureNames: ['a', 'b'], columns: X, y, C });
    expect(Math.abs(d.coefficients[0] - w[0])).toBeLessThan(1e-3);
    expect(Math.abs(d.intercept - b)).toBeLessThan(1e-3);
  });

  it('recovers the generating coefficients with large C and many rows', () => {
    const coef = [1.5, -1.0, 0.25];
    const { X, y } = simulate(40000, coef, -0.5, 3);
    const m = fitLogisticRegression({ featureNames: ['a', 'b', 'c'], columns: X, y, C: 1e4 });
    coef.forEach((c, j) => expect(Math.abs(m.coefficients[j] - c)).toBeLessThan(0.06));
    expect(Math.abs(m.intercept + 0.5)).toBeLessThan(0.06);
  });

  it('converges on (nearly) separable data and reports progress', () => {
    const { X, y } = simulate(300, [6, -6], 0, 5);
    const losses: number[] = [];
    const m = fitLogisticRegression({
      featureNames: ['a', 'b'],
      columns: X,
      y,
      C: 100,
      tol: 1e-10,
      onIteration: (_it, loss) => losses.push(loss),
    });
    expect(losses.length).toBeGreaterThan(1);
    for (let k = 1; k < losses.length; k++) expect(losses[k]).toBeLessThanOrEqual(losses[k - 1]);
    const g = penalisedGradient(X, y, m.coefficients, m.intercept, 100);
    for (const gj of g) expect(Math.abs(gj) / (100 * 300)).toBeLessThan(1e-9);
    const p = predictProba(m, X);
    let correct = 0;
    p.forEach((pi, i) => (correct += (pi >= 0.5 ? 1 : 0) === y[i] ? 1 : 0));
    expect(correct / 300).toBeGreaterThan(0.9);
  });

  it('handles perfectly separable data without blowing up', () => {
    const X = [Float64Array.from([-3, -2, -1, 1, 2, 3])];
    const y = [0, 0, 0, 1, 1, 1];
    const m = fitLogisticRegression({ featureNames: ['x'], columns: X, y, C: 1e3, tol: 1e-10 });
    expect(Number.isFinite(m.coefficients[0])).toBe(true);
    const g = penalisedGradient(X, y, m.coefficients, m.intercept, 1e3);
    for (const gj of g) expect(Math.abs(gj)).toBeLessThan(1e-6);
  });

  it('rejects NaN with the column and row named', () => {
    const X = [Float64Array.from([1, 2, 3]), Float64Array.from([1, NaN, 3])];
    expect(() => fitLogisticRegression({ featureNames: ['price', 'past_ctr'], columns: X, y: [0, 1, 0] })).toThrow(
      /column 'past_ctr' has a missing value \(NaN\) at row 1; impute/,
    );
    X[1][1] = Infinity;
    expect(() => fitLogisticRegression({ featureNames: ['price', 'past_ctr'], columns: X, y: [0, 1, 0] })).toThrow(
      /column 'past_ctr' has a non-finite value \(Infinity\) at row 1/,
    );
  });

  it('rejects bad labels, weights, shapes and single-class data', () => {
    const X = [Float64Array.from([1, 2, 3])];
    const base = { featureNames: ['x'], columns: X };
    expect(() => fitLogisticRegression({ ...base, y: [0, 2, 1] })).toThrow(/label y at row 1 is 2/);
    expect(() => fitLogisticRegression({ ...base, y: [0, NaN, 1] })).toThrow(/label y at row 1 is NaN/);
    expect(() => fitLogisticRegression({ ...base, y: [1, 1, 1] })).toThrow(/both classes/);
    expect(() => fitLogisticRegression({ ...base, y: [0, 1] })).toThrow(/column 'x' has 3 rows but y has 2/);
    expect(() => fitLogisticRegression({ ...base, y: [0, 1, 1], sampleWeight: [1, -1, 1] })).toThrow(
      /sampleWeight at row 1/,
    );
    expect(() => fitLogisticRegression({ ...base, y: [0, 1, 1], sampleWeight: [1, 1] })).toThrow(/sampleWeight has 2/);
    expect(() => fitLogisticRegression({ featureNames: ['x', 'z'], columns: X, y: [0, 1, 1] })).toThrow(
      /2 feature names but 1 columns/,
    );
    expect(() => fitLogisticRegression({ ...base, y: [0, 1, 1], C: 0 })).toThrow(/C must be a positive/);
  });
});

describe('predictProba', () => {
  it('evaluates sigmoid(intercept + x.w)', () => {
    const m = {
      kind: 'logisticRegression' as const,
      featureNames: ['a', 'b'],
      coefficients: [2, -1],
      intercept: -1,
    };
    const p = predictProba(m, [Float64Array.from([0, 0.5, 1000]), Float64Array.from([0, 0, 0])]);
    expect(p[0]).toBeCloseTo(sigmoid(-1), 14);
    expect(p[1]).toBe(0.5);
    expect(p[2]).toBe(1);
    expect(() => predictProba(m, [Float64Array.from([1])])).toThrow(/2 features \(a, b\) but got 1 columns/);
  });
});
