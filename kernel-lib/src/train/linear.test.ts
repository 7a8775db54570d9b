import { beforeAll, describe, expect, it } from 'vitest';
import { fitLinearRegression, predictLinearRegression, type LinearRegressionOptions } from './linear';
import { loadDataset, seededRandom } from './test-support/datasets';
import { runPythonJson } from './test-support/python';

// Multithreaded BLAS in the reference Python oversubscribes the shared cores (scikit-learn's
// lbfgs on digits: 4 s with default threads, 0.15 s with one).
process.env.OMP_NUM_THREADS ??= '1';
process.env.OPENBLAS_NUM_THREADS ??= '1';

interface SkFit {
  coef: number[];
  intercept: number;
}

/** scikit-learn fits of the same data: per job (sample weights or none), one per spec. */
const SKLEARN_FITS = `
import json, sys
import numpy as np
from sklearn.linear_model import LinearRegression, Ridge, Lasso, ElasticNet
d = json.load(sys.stdin)
X = np.array(d["x"], dtype=float).T
y = np.array(d["y"], dtype=float)
jobs = []
for job in d["jobs"]:
    sw = np.array(job["sw"], dtype=float) if job.get("sw") else None
    out = []
    for s in job["specs"]:
        kind = s["kind"]
        if kind == "ols":
            m = LinearRegression(fit_intercept=s.get("fit_intercept", True))
        elif kind == "ridge":
            m = Ridge(alpha=s["alpha"], fit_intercept=s.get("fit_intercept", True))
        elif kind == "lasso":
            m = Lasso(alpha=s["alpha"], tol=s["tol"], max_iter=100000)
        else:
            m = ElasticNet(alpha=s["alpha"], l1_ratio=s["l1_ratio"], tol=s["tol"], max_iter=100000)
        m.fit(X, y, sample_weight=sw)
        out.append({"coef": m.coef_.tolist(), "intercept": float(m.intercept_)})
    jobs.append(out)
print(json.dumps(jobs))
`;

/** max_j |a_j - b_j| / max(max_j |b_j|, 1e-12): error relative to the coefficient scale. */
function relErr(a: readonly number[], b: readonly number[]): number {
  const scale = Math.max(1e-12, ...b.map(Math.abs));
  return Math.max(...a.map((v, j) => Math.abs(v - b[j]))) / scale;
}

describe('fitLinearRegression vs scikit-learn on diabetes', () => {
  const ds = loadDataset('diabetes');
  const base = { featureNames: ds.featureNames, columns: ds.columns, y: ds.y };
  const rand = seededRandom(3);
  const sw = Array.from(ds.y, () => 0.2 + 2 * rand());

  type Case = [string, Partial<LinearRegressionOptions>, Record<string, unknown>];
  const cases: Case[] = [
    ['OLS', {}, { kind: 'ols' }],
    ['OLS without intercept', { fitIntercept: false }, { kind: 'ols', fit_intercept: false }],
    ['ridge alpha=1', { penalty: 'l2' }, { kind: 'ridge', alpha: 1 }],
    ['ridge alpha=0.01', { penalty: 'l2', alpha: 0.01 }, { kind: 'ridge', alpha: 0.01 }],
    ['lasso alpha=0.1', { penalty: 'l1', alpha: 0.1, tol: 1e-12 }, { kind: 'lasso', alpha: 0.1, tol: 1e-12 }],
    ['lasso alpha=1', { penalty: 'l1', tol: 1e-12 }, { kind: 'lasso', alpha: 1, tol: 1e-12 }],
    [
      'elastic net alpha=0.01',
      { penalty: 'elasticnet', alpha: 0.01, tol: 1e-12 },
      { kind: 'enet', alpha: 0.01, l1_ratio: 0.5, tol: 1e-12 },
    ],
    [
      'elastic net alpha=0.001 l1Ratio=0.9',
      { penalty: 'elasticnet', alpha: 0.001, l1Ratio: 0.9, tol: 1e-12 },
      { kind: 'enet', alpha: 0.001, l1_ratio: 0.9, tol: 1e-12 },
    ],
  ];

  // Default-tolerance references (tol 1e-4 on both sides) ride along with the tight ones.
  const defaults: Case[] = [
    ['lasso alpha=0.1 default tol', { penalty: 'l1', alpha: 0.1 }, { kind: 'lasso', alpha: 0.1, tol: 1e-4 }],
    [
      'elastic net alpha=0.01 default tol',
      { penalty: 'elasticnet', alpha: 0.01 },
      { kind: 'enet', alpha: 0.01, l1_ratio: 0.5, tol: 1e-4 },
    ],
  ];
  let sk: SkFit[][] = [];
  beforeAll(() => {
    const x = ds.columns.map((c) => Array.from(c));
    const y = Array.from(ds.y);
    const all = [...cases, ...defaults].map((c) => c[2]);
    // One Python process: the unweighted fits (tight and default tol), then the weighted ones.
    sk = runPythonJson<SkFit[][]>(SKLEARN_FITS, {
      x,
      y,
      jobs: [
        { sw: null, specs: all },
        { sw, specs: cases.map((c) => c[2]) },
      ],
    });
  }, 120_000);

  for (const weighted of [false, true]) {
    it(`matches coefficients and intercepts within 1e-6 relative${weighted ? ' (sample weights)' : ''}`, () => {
      const ref = sk[weighted ? 1 : 0];
      cases.forEach(([label, extra], k) => {
        const m = fitLinearRegression({ ...base, ...extra, sampleWeight: weighted ? sw : undefined });
        const err = relErr([...m.coefficients, m.intercept], [...ref[k].coef, ref[k].intercept]);
        console.log(`${label}${weighted ? ' weighted' : ''}: max rel diff vs sklearn ${err.toExponential(2)}`);
        expect(err, label).toBeLessThan(1e-6);
        // Lasso zeros are exact zeros, as in scikit-learn.
        ref[k].coef.forEach((c, j) => {
          if (c === 0) expect(m.coefficients[j], `${label} coef ${j}`).toBe(0);
        });
      });
    });
  }

  it('is within 1e-4 relative of scikit-learn at the default tolerance', () => {
    defaults.forEach(([label, extra], k) => {
      const ref = sk[0][cases.length + k];
      const m = fitLinearRegression({ ...base, ...extra });
      const err = relErr(m.coefficients, ref.coef);
      console.log(`${label}: max rel diff vs sklearn ${err.toExponential(2)}`);
      expect(err, label).toBeLessThan(1e-4);
    });
  });
});

describe('fitLinearRegression', () => {
  it('recovers an exact linear relation and predicts it', () => {
    const x1 = Float64Array.from([0, 1, 2, 3, 4]);
    const x2 = Float64Array.from([1, -1, 2, 0, 5]);
    const y = x1.map((v, i) => 3 - 2 * v + 0.5 * x2[i]);
    const m = fitLinearRegression({ featureNames: ['a', 'b'], columns: [x1, x2], y });
    expect(m.coefficients[0]).toBeCloseTo(-2, 12);
    expect(m.coefficients[1]).toBeCloseTo(0.5, 12);
    expect(m.intercept).toBeCloseTo(3, 12);
    const pred = predictLinearRegression(m, [Float64Array.from([10]), Float64Array.from([2])]);
    expect(pred[0]).toBeCloseTo(-16, 10);
  });

  it('returns the minimum-norm solution for a duplicated column (as lstsq)', () => {
    const x = Float64Array.from([0, 1, 2, 3, 4, 5]);
    const y = Float64Array.from([1.1, 2.9, 5.2, 7.1, 8.8, 11.2]);
    const single = fitLinearRegression({ featureNames: ['x'], columns: [x], y });
    const dup = fitLinearRegression({ featureNames: ['x', 'x2'], columns: [x, Float64Array.from(x)], y });
    expect(dup.coefficients[0]).toBeCloseTo(single.coefficients[0] / 2, 10);
    expect(dup.coefficients[1]).toBeCloseTo(single.coefficients[0] / 2, 10);
    expect(dup.intercept).toBeCloseTo(single.intercept, 10);
  });

  it('handles more features than rows and a constant column', () => {
    const cols = [Float64Array.from([1, 2, 3]), Float64Array.from([4, 4, 4]), Float64Array.from([0, 5, 1])];
    cols.push(Float64Array.from([2, 0, 7]));
    const y = [1, 2, 4];
    const m = fitLinearRegression({ featureNames: ['a', 'b', 'c', 'd'], columns: cols, y });
    expect(m.coefficients[1]).toBe(0);
    const pred = predictLinearRegression(m, cols);
    pred.forEach((v, i) => expect(v).toBeCloseTo(y[i], 10));
  });

  it('shrinks coefficients to exactly zero for a large lasso alpha', () => {
    const ds = loadDataset('diabetes');
    const m = fitLinearRegression({
      featureNames: ds.featureNames,
      columns: ds.columns,
      y: ds.y,
      penalty: 'l1',
      alpha: 1e4,
    });
    expect(m.coefficients.every((c) => c === 0)).toBe(true);
    expect(m.intercept).toBeCloseTo(ds.y.reduce((a, b) => a + b, 0) / ds.y.length, 10);
  });

  it('rejects bad input with clear errors', () => {
    const cols = [Float64Array.from([1, 2, 3])];
    const base = { featureNames: ['x'], columns: cols, y: [1, 2, 3] };
    expect(() => fitLinearRegression({ ...base, y: [1, NaN, 3] })).toThrow(/target y at row 1 is NaN/);
    expect(() => fitLinearRegression({ ...base, columns: [Float64Array.from([1, NaN, 3])] })).toThrow(
      /column 'x' has a missing value \(NaN\) at row 1; impute/,
    );
    expect(() => fitLinearRegression({ ...base, penalty: 'l2', alpha: -1 })).toThrow(
      /alpha must be a number >= 0, got -1/,
    );
    expect(() => fitLinearRegression({ ...base, penalty: 'elasticnet', l1Ratio: 2 })).toThrow(
      /l1Ratio must be in \[0, 1\]/,
    );
    expect(() =>
      fitLinearRegression({ featureNames: ['x', 'z'], columns: [cols[0], Float64Array.from([1, 2])], y: [1, 2, 3] }),
    ).toThrow(/column 'z' has 2 rows but y has 3/);
    expect(() => fitLinearRegression({ ...base, y: [1, 2] })).toThrow(/column 'x' has 3 rows but y has 2/);
    expect(() => fitLinearRegression({ ...base, featureNames: ['x', 'y'] })).toThrow(/2 feature names but 1 columns/);
    expect(() => fitLinearRegression({ ...base, sampleWeight: [1, -2, 1] })).toThrow(/sampleWeight at row 1 is -2/);
    expect(() => fitLinearRegression({ ...base, y: [], columns: [new Float64Array(0)] })).toThrow(/no training rows/);
    expect(() => predictLinearRegression(fitLinearRegression(base), [])).toThrow(/1 features \(x\) but got 0 columns/);
  });
});
