import { beforeAll, describe, expect, it } from 'vitest';
import { fitLogisticRegression, fitMultinomialLogisticRegression, predictMultinomial, predictProba } from './logistic';
import { applyStages, fitStandardScaler } from './preprocess';
import { loadDataset, seededRandom } from './test-support/datasets';
import { runPythonJson } from './test-support/python';
import type { Columns } from './types';

// Multithreaded BLAS in the reference Python oversubscribes the shared cores (scikit-learn's
// lbfgs on digits: 4 s with default threads, 0.15 s with one).
process.env.OMP_NUM_THREADS ??= '1';
process.env.OPENBLAS_NUM_THREADS ??= '1';

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

interface SkLogistic {
  coef: number[][];
  intercept: number[];
  proba: number[][];
  exact?: { coef: number[]; intercept: number };
  /** Multinomial L1: a tight independent solve (coefficients K x F, intercepts, objective). */
  exactMulti?: { coef: number[][]; intercept: number[]; objective: number; proba: number[][] };
}

/** scikit-learn LogisticRegression fits (1.9 API: l1 via l1_ratio=1, no penalty via C=inf). */
const SKLEARN_LOGISTIC = `
import json, sys, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
warnings.simplefilter("ignore")
d = json.load(sys.stdin)
out = []
for s in d["fits"]:
    X = np.array(s["x"], dtype=float).T
    y = np.array(s["y"], dtype=float)
    sw = np.array(s["sw"], dtype=float) if s.get("sw") else None
    kw = dict(C=s["C"], tol=s["tol"], max_iter=s["max_iter"])
    multiclass = len(np.unique(y)) > 2
    if s["penalty"] == "l1" and multiclass:
        kw.update(l1_ratio=1.0, solver="saga")
    elif s["penalty"] == "l1":
        # liblinear converges tightly where saga stalls (it penalises the intercept, so a large
        # intercept_scaling makes that penalty negligible).
        kw.update(l1_ratio=1.0, solver="liblinear", intercept_scaling=1e4)
    elif s["penalty"] == "none":
        kw.update(C=np.inf)
    m = LogisticRegression(**kw).fit(X, y, sample_weight=sw)
    out.append({"coef": m.coef_.tolist(), "intercept": m.intercept_.tolist(), "proba": m.predict_proba(X).tolist()})
    if s["penalty"] == "l1" and s.get("exact") and multiclass:
        # The multinomial problem solved tightly the same way: W = U - V, U, V >= 0, by L-BFGS-B.
        from scipy.optimize import minimize
        from scipy.special import logsumexp
        C, (n, p) = s["C"], X.shape
        classes = np.unique(y)
        K = len(classes)
        Y = (y[:, None] == classes[None, :]).astype(float)
        def fm(v):
            W = (v[:K * p] - v[K * p:2 * K * p]).reshape(K, p)
            Z = X @ W.T + v[2 * K * p:]
            lse = logsumexp(Z, axis=1)
            R = C * (np.exp(Z - lse[:, None]) - Y)
            G = (R.T @ X).ravel()
            val = C * np.sum(lse - (Z * Y).sum(1)) + v[:2 * K * p].sum()
            return val, np.concatenate([G + 1, 1 - G, R.sum(0)])
        res = minimize(fm, np.zeros(2 * K * p + K), jac=True, method="L-BFGS-B",
                       bounds=[(0, None)] * (2 * K * p) + [(None, None)] * K,
                       options=dict(maxiter=100000, maxfun=100000, ftol=1e-15, gtol=1e-12, maxcor=30))
        W = (res.x[:K * p] - res.x[K * p:2 * K * p]).reshape(K, p)
        b = res.x[2 * K * p:]
        Z = X @ W.T + b
        P = np.exp(Z - logsumexp(Z, axis=1)[:, None])
        out[-1]["exactMulti"] = {"coef": W.tolist(), "intercept": (b - b.mean()).tolist(), "objective": float(res.fun), "proba": P.tolist()}
    elif s["penalty"] == "l1" and s.get("exact"):
        # An independent tight solve of the same problem: w = u - v, u, v >= 0, by L-BFGS-B.
        from scipy.optimize import minimize
        C, (n, p) = s["C"], X.shape
        y01 = (y == y.max()).astype(float)
        def f(v):
            z = X @ (v[:p] - v[p:2 * p]) + v[-1]
            r = C * (1 / (1 + np.exp(-z)) - y01)
            g = X.T @ r
            val = C * np.sum(np.logaddexp(0, z) - y01 * z) + v[:2 * p].sum()
            return val, np.concatenate([g + 1, 1 - g, [r.sum()]])
        res = minimize(f, np.zeros(2 * p + 1), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * p) + [(None, None)],
                       options=dict(maxiter=100000, maxfun=100000, ftol=1e-15, gtol=1e-12, maxcor=30))
        out[-1]["exact"] = {"coef": (res.x[:p] - res.x[p:2 * p]).tolist(), "intercept": float(res.x[-1])}
print(json.dumps(out))
`;

function standardised(name: 'breast_cancer' | 'iris' | 'wine' | 'digits'): {
  featureNames: string[];
  columns: Float64Array[];
  y: Float64Array;
} {
  const ds = loadDataset(name);
  const scaler = fitStandardScaler(ds.featureNames, ds.columns);
  return { featureNames: ds.featureNames, columns: applyStages([scaler], ds.columns), y: ds.y };
}

function relErr(a: readonly number[], b: readonly number[]): number {
  const scale = Math.max(1e-12, ...b.map(Math.abs));
  return Math.max(...a.map((v, j) => Math.abs(v - b[j]))) / scale;
}

function meanLogLoss(proba: ArrayLike<number>, y: ArrayLike<number>, classes: number[]): number {
  const K = classes.length;
  let s = 0;
  for (let i = 0; i < y.length; i++) s -= Math.log(proba[i * K + classes.indexOf(y[i])]);
  return s / y.length;
}

describe('logistic regression vs scikit-learn', () => {
  const bc = standardised('breast_cancer');
  const multi = (['iris', 'wine', 'digits'] as const).map((name) => ({ name, ...standardised(name) }));
  const fits: Record<string, unknown>[] = [];
  const add = (data: { columns: Float64Array[]; y: Float64Array }, spec: Record<string, unknown>): number => {
    fits.push({ x: data.columns.map((c) => Array.from(c)), y: Array.from(data.y), max_iter: 100000, ...spec });
    return fits.length - 1;
  };
  // Labels 2 and 7 instead of 0 and 1: classes support.
  const bc27 = { ...bc, y: bc.y.map((v) => (v === 1 ? 7 : 2)) };
  const rand = seededRandom(5);
  const bcWeights = Array.from(bc.y, () => 0.25 + 2 * rand());
  const wineWeights = Array.from(multi[1].y, () => 0.25 + 2 * rand());
  const cases = {
    l2w: add(bc, { penalty: 'l2', C: 0.5, tol: 1e-10, sw: bcWeights }),
    wineW: add(multi[1], { penalty: 'l2', C: 2, tol: 1e-10, sw: wineWeights }),
    l2: add(bc, { penalty: 'l2', C: 1, tol: 1e-10 }),
    l2c01: add(bc, { penalty: 'l2', C: 0.1, tol: 1e-10 }),
    l1: add(bc, { penalty: 'l1', C: 1, tol: 1e-10, exact: true }),
    l1c01: add(bc27, { penalty: 'l1', C: 0.1, tol: 1e-10 }),
    iris: add(multi[0], { penalty: 'l2', C: 1, tol: 1e-10 }),
    wine: add(multi[1], { penalty: 'l2', C: 0.5, tol: 1e-10 }),
    digits: add(multi[2], { penalty: 'l2', C: 1, tol: 1e-4, max_iter: 100 }),
    irisNone: add(multi[0], { penalty: 'none', C: 1, tol: 1e-8, max_iter: 2000 }),
    irisL1: add(multi[0], { penalty: 'l1', C: 0.1, tol: 1e-8, exact: true }),
    wineL1: add(multi[1], { penalty: 'l1', C: 0.05, tol: 1e-8, exact: true }),
  };
  let sk: SkLogistic[] = [];
  beforeAll(() => {
    sk = runPythonJson<SkLogistic[]>(SKLEARN_LOGISTIC, { fits });
  }, 120_000);

  it('binary L2 on standardised breast_cancer: coefficients within 1e-6 relative', () => {
    for (const [key, C] of [
      ['l2', 1],
      ['l2c01', 0.1],
    ] as const) {
      const m = fitLogisticRegression({ ...bc, C, tol: 1e-10 });
      const ref = sk[cases[key]];
      const err = relErr([...m.coefficients, m.intercept], [...ref.coef[0], ref.intercept[0]]);
      console.log(`binary l2 C=${C}: max rel coef diff vs sklearn ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-6);
      // The default tol (1e-4) stays close to scikit-learn's converged fit too.
      const d = fitLogisticRegression({ ...bc, C });
      expect(relErr(d.coefficients, ref.coef[0])).toBeLessThan(1e-3);
    }
  });

  it('binary L1 on standardised breast_cancer: the optimum, and liblinear within its intercept bias', () => {
    const objective = (m: { coefficients: number[]; intercept: number }, data: typeof bc, C: number): number => {
      const hi = Math.max(...data.y);
      let f = m.coefficients.reduce((a, c) => a + Math.abs(c), 0);
      for (let i = 0; i < data.y.length; i++) {
        let z = m.intercept;
        m.coefficients.forEach((c, j) => (z += c * data.columns[j][i]));
        f += C * (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - (data.y[i] === hi ? z : 0));
      }
      return f;
    };
    for (const [key, C, data] of [
      ['l1', 1, bc],
      ['l1c01', 0.1, bc27],
    ] as const) {
      const m = fitLogisticRegression({ ...data, C, penalty: 'l1', tol: 1e-10 });
      const ref = sk[cases[key]];
      const err = relErr([...m.coefficients, m.intercept], [...ref.coef[0], ref.intercept[0]]);
      const zeros = m.coefficients.filter((c) => c === 0).length;
      const fOurs = objective(m, data, C);
      const fLib = objective({ coefficients: ref.coef[0], intercept: ref.intercept[0] }, data, C);
      console.log(
        `binary l1 C=${C}: max rel coef diff vs liblinear ${err.toExponential(2)}, objective ${fOurs} vs ${fLib}, ${zeros} zero coefficients`,
      );
      expect(err).toBeLessThan(5e-3);
      expect(fOurs).toBeLessThanOrEqual(fLib + 1e-12 * fLib);
      expect(zeros).toBeGreaterThan(5);
      // Both put exact zeros in the same places.
      ref.coef[0].forEach((c, j) => expect(m.coefficients[j] === 0, `coef ${j}`).toBe(c === 0));
      if (ref.exact) {
        const e = relErr([...m.coefficients, m.intercept], [...ref.exact.coef, ref.exact.intercept]);
        console.log(`binary l1 C=${C}: max rel coef diff vs a tight scipy L-BFGS-B solve ${e.toExponential(2)}`);
        expect(e).toBeLessThan(1e-5);
      }
      if (data === bc27) {
        expect(m.classes).toEqual([2, 7]);
        const p = predictProba(m, data.columns);
        const diff = Math.max(...Array.from(p, (v, i) => Math.abs(v - ref.proba[i][1])));
        console.log(`binary l1 C=${C}: max |P diff| vs liblinear ${diff.toExponential(2)}`);
        expect(diff).toBeLessThan(1e-3);
      }
    }
  });

  it('multinomial on iris and wine: coefficients within 1e-4 relative, same accuracy and log-loss', () => {
    for (const [key, k, C] of [
      ['iris', 0, 1],
      ['wine', 1, 0.5],
    ] as const) {
      const data = multi[k];
      const m = fitMultinomialLogisticRegression({ ...data, C, tol: 1e-10, maxIter: 10000 });
      const ref = sk[cases[key]];
      const err = relErr(m.coefficients.flat(), ref.coef.flat());
      const meanB = ref.intercept.reduce((a, b) => a + b, 0) / ref.intercept.length;
      const errB = relErr(
        m.intercepts,
        ref.intercept.map((b) => b - meanB),
      );
      const { probabilities } = predictMultinomial(m, data.columns);
      const ll = meanLogLoss(probabilities, data.y, m.classes);
      const llRef = meanLogLoss(ref.proba.flat(), data.y, m.classes);
      console.log(
        `multinomial ${data.name} C=${C}: max rel coef diff ${err.toExponential(2)}, intercepts ${errB.toExponential(2)}, log-loss ${ll.toFixed(6)} vs ${llRef.toFixed(6)}`,
      );
      expect(err).toBeLessThan(1e-4);
      expect(errB).toBeLessThan(1e-4);
      expect(Math.abs(ll - llRef)).toBeLessThan(1e-6);
    }
  });

  it('sample weights: binary L2 and multinomial (wine) within 1e-5 relative of sklearn', () => {
    const binary = fitLogisticRegression({ ...bc, C: 0.5, tol: 1e-10, sampleWeight: bcWeights });
    const refB = sk[cases.l2w];
    const errB = relErr([...binary.coefficients, binary.intercept], [...refB.coef[0], refB.intercept[0]]);
    const multinomial = fitMultinomialLogisticRegression({
      ...multi[1],
      C: 2,
      tol: 1e-10,
      maxIter: 10000,
      sampleWeight: wineWeights,
    });
    const refM = sk[cases.wineW];
    const errM = relErr(multinomial.coefficients.flat(), refM.coef.flat());
    console.log(
      `weighted: binary l2 max rel coef diff ${errB.toExponential(2)}, multinomial wine ${errM.toExponential(2)}`,
    );
    expect(errB).toBeLessThan(1e-5);
    expect(errM).toBeLessThan(1e-5);
  });

  it('multinomial on digits (64 features, 10 classes) at default settings: accuracy and log-loss as sklearn', () => {
    const data = multi[2];
    const m = fitMultinomialLogisticRegression({ ...data });
    const ref = sk[cases.digits];
    const { probabilities, label } = predictMultinomial(m, data.columns);
    const acc = label.reduce((a, l, i) => a + (l === data.y[i] ? 1 : 0), 0) / data.y.length;
    const refLabel = ref.proba.map((row) => row.indexOf(Math.max(...row)));
    const accRef = refLabel.reduce((a, l, i) => a + (l === data.y[i] ? 1 : 0), 0) / data.y.length;
    const ll = meanLogLoss(probabilities, data.y, m.classes);
    const llRef = meanLogLoss(ref.proba.flat(), data.y, m.classes);
    console.log(
      `multinomial digits: accuracy ${acc.toFixed(4)} vs ${accRef.toFixed(4)}, log-loss ${ll.toFixed(5)} vs ${llRef.toFixed(5)}`,
    );
    expect(Math.abs(acc - accRef)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(ll - llRef)).toBeLessThan(0.01);
  });

  it('multinomial L1 (OWL-QN) on iris and wine: the optimum of a tight solve, zeros where saga has them', () => {
    for (const [key, k, C] of [
      ['irisL1', 0, 0.1],
      ['wineL1', 1, 0.05],
    ] as const) {
      const data = multi[k];
      const m = fitMultinomialLogisticRegression({ ...data, C, penalty: 'l1', tol: 1e-10, maxIter: 10000 });
      const ref = sk[cases[key]];
      const exact = ref.exactMulti!;
      const { probabilities } = predictMultinomial(m, data.columns);
      // The penalised objective at our coefficients: C * sum log-loss + ||W||_1.
      const l1 = m.coefficients.flat().reduce((a, c) => a + Math.abs(c), 0);
      const objective = C * meanLogLoss(probabilities, data.y, m.classes) * data.y.length + l1;
      const errObj = (objective - exact.objective) / exact.objective;
      const errP = Math.max(...Array.from(probabilities, (v, i) => Math.abs(v - exact.proba.flat()[i])));
      const errW = relErr(m.coefficients.flat(), exact.coef.flat());
      const zeros = m.coefficients.flat().filter((c) => c === 0).length;
      const zerosSaga = ref.coef.flat().filter((c) => c === 0).length;
      console.log(
        `multinomial l1 ${data.name} C=${C}: objective ${objective.toFixed(9)} vs ${exact.objective.toFixed(9)} (rel ${errObj.toExponential(2)}), max |P diff| ${errP.toExponential(2)}, max rel coef diff ${errW.toExponential(2)}, zeros ${zeros} (saga ${zerosSaga}) of ${m.coefficients.flat().length}`,
      );
      expect(errObj).toBeLessThan(1e-9);
      expect(errP).toBeLessThan(1e-5);
      expect(errW).toBeLessThan(1e-4);
      expect(zeros).toBeGreaterThan(0);
      // Exactly zero where saga's coefficients are (saga's proximal step also gives exact zeros).
      ref.coef.flat().forEach((c, j) => expect(m.coefficients.flat()[j] === 0, `coef ${j}`).toBe(c === 0));
    }
  });

  it('multinomial without penalty: the same probabilities as sklearn (C=inf)', () => {
    const data = multi[0];
    const m = fitMultinomialLogisticRegression({ ...data, penalty: 'none', tol: 1e-8, maxIter: 5000 });
    const ref = sk[cases.irisNone];
    const { probabilities } = predictMultinomial(m, data.columns);
    const ll = meanLogLoss(probabilities, data.y, m.classes);
    const llRef = meanLogLoss(ref.proba.flat(), data.y, m.classes);
    console.log(`multinomial iris unpenalised: log-loss ${ll.toExponential(4)} vs ${llRef.toExponential(4)}`);
    // Iris is nearly separable without a penalty: both reach a tiny loss.
    expect(ll).toBeLessThan(0.05);
    expect(Math.abs(ll - llRef)).toBeLessThan(0.02);
  });
});

describe('fitMultinomialLogisticRegression', () => {
  it('has a vanishing penalised gradient at the optimum (with sample weights and arbitrary labels)', () => {
    const data = standardised('wine');
    const y = data.y.map((v) => [-5, 10, 42][v]);
    const r = seededRandom(9);
    const sw = Float64Array.from(y, () => 0.5 + r());
    const C = 0.3;
    const m = fitMultinomialLogisticRegression({ ...data, y, C, sampleWeight: sw, tol: 1e-10, maxIter: 10000 });
    expect(m.classes).toEqual([-5, 10, 42]);
    const { probabilities } = predictMultinomial(m, data.columns);
    const K = 3;
    const p = data.columns.length;
    let worst = 0;
    const sumW = sw.reduce((a, b) => a + b, 0);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j <= p; j++) {
        let g = j < p ? m.coefficients[k][j] : 0;
        for (let i = 0; i < y.length; i++) {
          const res = C * sw[i] * (probabilities[i * K + k] - (m.classes[k] === y[i] ? 1 : 0));
          g += res * (j < p ? data.columns[j][i] : 1);
        }
        worst = Math.max(worst, Math.abs(g) / (C * sumW));
      }
    }
    expect(worst).toBeLessThan(1e-8);
    expect(Math.abs(m.intercepts.reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
  });

  it('with two classes equals the binary model at 2C (w_binary = w_1 - w_0)', () => {
    const { X, y } = simulate(400, [0.9, -0.6, 0.3], 0.2, 17);
    const names = ['a', 'b', 'c'];
    const multi = fitMultinomialLogisticRegression({
      featureNames: names,
      columns: X,
      y,
      C: 0.7,
      tol: 1e-12,
      maxIter: 1000,
    });
    const binary = fitLogisticRegression({ featureNames: names, columns: X, y, C: 1.4, tol: 1e-12 });
    binary.coefficients.forEach((c, j) =>
      expect(multi.coefficients[1][j] - multi.coefficients[0][j]).toBeCloseTo(c, 8),
    );
    expect(multi.intercepts[1] - multi.intercepts[0]).toBeCloseTo(binary.intercept, 8);
  });

  it('rejects bad input with clear errors', () => {
    const X = [Float64Array.from([1, 2, 3])];
    const base = { featureNames: ['x'], columns: X };
    expect(() => fitMultinomialLogisticRegression({ ...base, y: [0, NaN, 1] })).toThrow(/label y at row 1 is NaN/);
    expect(() => fitMultinomialLogisticRegression({ ...base, y: [4, 4, 4] })).toThrow(
      /at least two classes; got only 4/,
    );
    expect(() => fitMultinomialLogisticRegression({ ...base, y: [0, 1] })).toThrow(/column 'x' has 3 rows but y has 2/);
    expect(() =>
      fitMultinomialLogisticRegression({ ...base, columns: [Float64Array.from([1, NaN, 3])], y: [0, 1, 2] }),
    ).toThrow(/column 'x' has a missing value \(NaN\) at row 1/);
    expect(() => fitMultinomialLogisticRegression({ ...base, y: [0, 1, 2], C: -1 })).toThrow(/C must be a positive/);
  });
});

describe('binary classes and penalties', () => {
  it('accepts any two label values and predicts P(classes[1])', () => {
    const { X, y } = simulate(300, [1, -1], 0.2, 11);
    const m01 = fitLogisticRegression({ featureNames: ['a', 'b'], columns: X, y, tol: 1e-12 });
    const mpm = fitLogisticRegression({
      featureNames: ['a', 'b'],
      columns: X,
      y: y.map((v) => (v ? 1 : -1)),
      tol: 1e-12,
    });
    expect(m01.classes).toEqual([0, 1]);
    expect(mpm.classes).toEqual([-1, 1]);
    expect(mpm.coefficients[0]).toBeCloseTo(m01.coefficients[0], 12);
    expect(mpm.intercept).toBeCloseTo(m01.intercept, 12);
    expect(() => fitLogisticRegression({ featureNames: ['a', 'b'], columns: X, y, penalty: 'l3' as 'l1' })).toThrow(
      /penalty must be 'l2', 'l1' or 'none'/,
    );
  });

  it('without a penalty reaches the unpenalised optimum (ln 2 on the symmetric problem)', () => {
    const X = [Float64Array.from([1, 1, 1, -1, -1, -1])];
    const m = fitLogisticRegression({
      featureNames: ['x'],
      columns: X,
      y: [1, 1, 0, 0, 0, 1],
      penalty: 'none',
      tol: 1e-12,
    });
    expect(m.coefficients[0]).toBeCloseTo(Math.log(2), 10);
  });

  it('L1 with a tiny C zeroes every coefficient and keeps the intercept at the log-odds', () => {
    const { X, y } = simulate(200, [1, -1, 0.5], 0.4, 13);
    const m = fitLogisticRegression({ featureNames: ['a', 'b', 'c'], columns: X, y, penalty: 'l1', C: 1e-4 });
    expect(m.coefficients).toEqual([0, 0, 0]);
    const ybar = y.reduce((a, b) => a + b, 0) / y.length;
    expect(m.intercept).toBeCloseTo(Math.log(ybar / (1 - ybar)), 4);
  });
});

describe('predictMultinomial', () => {
  it('evaluates the softmax, labels with class values and takes the first class on ties', () => {
    const model = {
      kind: 'multinomialLogisticRegression' as const,
      featureNames: ['x'],
      classes: [10, 20, 30],
      coefficients: [[-1], [0], [1]],
      intercepts: [0, 0, 0],
    };
    const { probabilities, label } = predictMultinomial(model, [Float64Array.from([0, 2, -1000, NaN])]);
    expect(Array.from(probabilities!.subarray(0, 3))).toEqual([1 / 3, 1 / 3, 1 / 3]);
    const e = [Math.exp(-2), 1, Math.exp(2)];
    const s = e[0] + e[1] + e[2];
    e.forEach((v, k) => expect(probabilities![3 + k]).toBeCloseTo(v / s, 15));
    expect(probabilities![6]).toBe(1);
    expect(Array.from(label!)).toEqual([10, 30, 10, NaN]);
    expect(() => predictMultinomial(model, [])).toThrow(/1 features \(x\) but got 0 columns/);
  });
});
