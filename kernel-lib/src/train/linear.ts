/**
 * Linear regression: ordinary least squares, ridge, lasso and elastic net (scikit-learn's
 * LinearRegression, Ridge, Lasso, ElasticNet).
 *
 * OLS and ridge are solved exactly: the (weighted, centred) design is reduced by a Householder
 * QR to a small triangular R, and R's singular value decomposition (one-sided Jacobi) gives the
 * minimum-norm least-squares solution (what scikit-learn's `lstsq` returns for rank-deficient
 * data) and the ridge solution alike, without forming X^T X and squaring its condition number.
 * Lasso and elastic net use cyclic coordinate descent with a duality-gap stopping rule, as
 * scikit-learn does.
 */
import type { Columns, LinearRegressionModel } from './types';

/** The penalty of {@link fitLinearRegression}. */
export type LinearPenalty = 'none' | 'l2' | 'l1' | 'elasticnet';

/** Options for {@link fitLinearRegression}. */
export interface LinearRegressionOptions {
  /** Feature names, one per column, in column order. */
  featureNames: string[];
  /** Column-major training features; must not contain NaN (impute first). */
  columns: Columns;
  /** Targets, one per row, finite. */
  y: ArrayLike<number>;
  /**
   * 'none' (default): ordinary least squares, as `LinearRegression`; 'l2': ridge, minimising
   * `||y - Xw||^2 + alpha ||w||^2` as `Ridge(alpha)`; 'l1' and 'elasticnet': minimising
   * `1/(2n) ||y - Xw||^2 + alpha * l1Ratio * ||w||_1 + 0.5 * alpha * (1 - l1Ratio) * ||w||^2`
   * as `Lasso(alpha)` / `ElasticNet(alpha, l1_ratio)` ('l1' is l1Ratio = 1). The intercept is
   * never penalised.
   */
  penalty?: LinearPenalty;
  /** Penalty strength, >= 0; default 1.0 (as scikit-learn's Ridge, Lasso and ElasticNet). Ignored for 'none'. */
  alpha?: number;
  /** Elastic-net mixing, in [0, 1]; default 0.5. Only for 'elasticnet'. */
  l1Ratio?: number;
  /** Fit an intercept (on weighted-centred data); default true. */
  fitIntercept?: boolean;
  /** Coordinate-descent sweeps ('l1', 'elasticnet'); default 1000. */
  maxIter?: number;
  /**
   * Coordinate descent stops when the duality gap is at most `tol * ||y_centred||^2`
   * (scikit-learn's rule); default 1e-4.
   */
  tol?: number;
  /** Non-negative weight per row; default 1 for every row. */
  sampleWeight?: ArrayLike<number>;
}

/**
 * Checks that `columns` match `featureNames` one to one, all have `n` rows and hold only finite
 * values; throws an error naming the function, column and row otherwise. `reference` names what
 * has the expected `n` rows in the message (default 'y').
 *
 * @example
 * ```ts
 * checkFeatureColumns('fitKMeans', ['a'], [Float64Array.from([1, NaN])], 2); // throws: column 'a' has a missing value (NaN) at row 1 …
 * ```
 */
export function checkFeatureColumns(
  fn: string,
  featureNames: readonly string[],
  columns: Columns,
  n: number,
  reference = 'y',
): void {
  if (featureNames.length !== columns.length) {
    throw new Error(
      `${fn}: got ${featureNames.length} feature names but ${columns.length} columns; they must match one to one`,
    );
  }
  for (let j = 0; j < columns.length; j++) {
    const col = columns[j];
    if (col.length !== n) {
      throw new Error(`${fn}: column '${featureNames[j]}' has ${col.length} rows but ${reference} has ${n}`);
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(col[i])) {
        throw new Error(
          `${fn}: column '${featureNames[j]}' has ${Number.isNaN(col[i]) ? 'a missing value (NaN)' : `a non-finite value (${col[i]})`} ` +
            `at row ${i}; impute missing values first, e.g. applyStages([fitImputer(names, columns)], columns)`,
        );
      }
    }
  }
}

/**
 * Reads and checks sample weights: `n` finite non-negative numbers with a positive sum, or
 * all 1 when not given. Throws naming the function and row otherwise.
 *
 * @example
 * ```ts
 * checkSampleWeight('fitLinearRegression', [1, 2], 2); // Float64Array [1, 2]
 * checkSampleWeight('fitLinearRegression', undefined, 3); // Float64Array [1, 1, 1]
 * ```
 */
export function checkSampleWeight(fn: string, sampleWeight: ArrayLike<number> | undefined, n: number): Float64Array {
  if (!sampleWeight) return new Float64Array(n).fill(1);
  if (sampleWeight.length !== n)
    throw new Error(`${fn}: sampleWeight has ${sampleWeight.length} entries but y has ${n}`);
  const w = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const wi = sampleWeight[i];
    if (!(wi >= 0) || !Number.isFinite(wi)) {
      throw new Error(`${fn}: sampleWeight at row ${i} is ${wi}; weights must be finite and >= 0`);
    }
    w[i] = wi;
    sum += wi;
  }
  if (!(sum > 0)) throw new Error(`${fn}: sampleWeight sums to 0; at least one row needs a positive weight`);
  return w;
}

/**
 * Fits a linear regression, equivalent to scikit-learn's `LinearRegression()` (penalty 'none'),
 * `Ridge(alpha)` ('l2'), `Lasso(alpha)` ('l1') or `ElasticNet(alpha, l1_ratio)` ('elasticnet'),
 * all with `fit_intercept=True` by default: same objective, same optimum. See
 * {@link LinearRegressionOptions} for the objectives.
 *
 * OLS on rank-deficient data (e.g. a duplicated column) returns the minimum-norm solution, as
 * scikit-learn does. A NaN or infinite feature or target throws an error naming the column (or
 * y) and row; so do negative `alpha`, `l1Ratio` outside [0, 1] and columns of different
 * lengths. If coordinate descent reaches `maxIter` first, a `ConvergenceWarning` is emitted via
 * `process.emitWarning` and the last iterate is returned.
 *
 * @param opts - see {@link LinearRegressionOptions}
 * @returns the fitted model (plain JSON), usable with {@link predictLinearRegression} and the ONNX compiler
 *
 * @example
 * ```ts
 * const x = Float64Array.from([0, 1, 2, 3]);
 * const ols = fitLinearRegression({ featureNames: ['x'], columns: [x], y: [1, 3, 5, 7] });
 * ols.coefficients; // [2]; ols.intercept: 1
 * const lasso = fitLinearRegression({ featureNames: ['x'], columns: [x], y: [1, 3, 5, 7], penalty: 'l1', alpha: 0.1 });
 * predictLinearRegression(lasso, [Float64Array.from([4])]); // Float64Array [8.8]: slope shrunk from 2 to 1.92
 * ```
 */
export function fitLinearRegression(opts: LinearRegressionOptions): LinearRegressionModel {
  const fn = 'fitLinearRegression';
  const { featureNames, columns, y } = opts;
  const penalty = opts.penalty ?? 'none';
  const alpha = opts.alpha ?? 1.0;
  const l1Ratio = penalty === 'l1' ? 1 : (opts.l1Ratio ?? 0.5);
  const fitIntercept = opts.fitIntercept ?? true;
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-4;
  if (!['none', 'l2', 'l1', 'elasticnet'].includes(penalty)) {
    throw new Error(`${fn}: penalty must be 'none', 'l2', 'l1' or 'elasticnet', got '${String(penalty)}'`);
  }
  if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new Error(`${fn}: alpha must be a number >= 0, got ${alpha}`);
  if (!(l1Ratio >= 0 && l1Ratio <= 1)) throw new Error(`${fn}: l1Ratio must be in [0, 1], got ${l1Ratio}`);
  if (!(maxIter >= 1)) throw new Error(`${fn}: maxIter must be at least 1, got ${maxIter}`);
  if (!(tol >= 0)) throw new Error(`${fn}: tol must be non-negative, got ${tol}`);
  const n = y.length;
  const p = columns.length;
  if (n === 0) throw new Error(`${fn}: no training rows`);
  checkFeatureColumns(fn, featureNames, columns, n);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(y[i])) throw new Error(`${fn}: target y at row ${i} is ${y[i]}; targets must be finite`);
  }
  const sw = checkSampleWeight(fn, opts.sampleWeight, n);

  // Weighted centring, then rows scaled by sqrt(weight): the weighted problem becomes an
  // unweighted one on (A, b) and the intercept is recovered from the means afterwards.
  let sumW = 0;
  for (let i = 0; i < n; i++) sumW += sw[i];
  const xMean = new Float64Array(p);
  let yMean = 0;
  if (fitIntercept) {
    for (let j = 0; j < p; j++) {
      let s = 0;
      const col = columns[j];
      for (let i = 0; i < n; i++) s += sw[i] * col[i];
      xMean[j] = s / sumW;
    }
    for (let i = 0; i < n; i++) yMean += sw[i] * y[i];
    yMean /= sumW;
  }
  const sq = sw.map(Math.sqrt);
  const a = columns.map((col, j) => Float64Array.from(col, (v, i) => (v - xMean[j]) * sq[i]));
  const b = Float64Array.from(sq, (s, i) => (y[i] - yMean) * s);

  let coef: Float64Array;
  if (penalty === 'none' || penalty === 'l2') {
    coef = solveRidge(a, b, penalty === 'none' ? 0 : alpha);
  } else {
    // scikit-learn rescales weights to sum to n, so the loss term is 1/(2 n) sum s_i r_i^2.
    const scale = Math.sqrt(n / sumW);
    for (const col of a) for (let i = 0; i < n; i++) col[i] *= scale;
    for (let i = 0; i < n; i++) b[i] *= scale;
    coef = coordinateDescent(a, b, n * alpha * l1Ratio, n * alpha * (1 - l1Ratio), maxIter, tol, fn);
  }
  let intercept = 0;
  if (fitIntercept) {
    intercept = yMean;
    for (let j = 0; j < p; j++) intercept -= xMean[j] * coef[j];
  }
  return { kind: 'linearRegression', featureNames: [...featureNames], coefficients: Array.from(coef), intercept };
}

/**
 * argmin ||b - A w||^2 + alpha ||w||^2 (minimum-norm when alpha = 0 and A is rank deficient).
 * A is column-major (n x p). QR reduces it to R (p x p); then R = U S V^T and
 * w = V diag(s / (s^2 + alpha)) U^T Q^T b.
 */
function solveRidge(a: Float64Array[], b: Float64Array, alpha: number): Float64Array {
  const p = a.length;
  const n = b.length;
  if (p === 0) return new Float64Array(0);
  const m = Math.min(n, p);
  // Householder QR in place on copies: after step k, column k holds R[0..k][k].
  const q = a.map((c) => Float64Array.from(c));
  const qtb = Float64Array.from(b);
  for (let k = 0; k < m; k++) {
    const v = q[k];
    let norm = 0;
    for (let i = k; i < n; i++) norm = Math.hypot(norm, v[i]);
    if (norm === 0) continue;
    const alphaK = v[k] > 0 ? -norm : norm;
    v[k] -= alphaK;
    let vv = 0;
    for (let i = k; i < n; i++) vv += v[i] * v[i];
    // Reflect the remaining columns and b by H = I - 2 v v^T / (v^T v).
    const reflect = (u: Float64Array): void => {
      let s = 0;
      for (let i = k; i < n; i++) s += v[i] * u[i];
      const f = (2 * s) / vv;
      for (let i = k; i < n; i++) u[i] -= f * v[i];
    };
    for (let j = k + 1; j < p; j++) reflect(q[j]);
    reflect(qtb);
    v[k] = alphaK;
    for (let i = k + 1; i < n; i++) v[i] = 0;
  }
  // R is m x p (upper trapezoidal); its SVD by one-sided Jacobi on the columns.
  const r = q.map((c) => c.slice(0, m));
  const c = qtb.slice(0, m);
  const vMat = Array.from({ length: p }, (_, j) => {
    const e = new Float64Array(p);
    e[j] = 1;
    return e;
  });
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let i = 0; i < p - 1; i++) {
      for (let j = i + 1; j < p; j++) {
        const ci = r[i];
        const cj = r[j];
        let alf = 0;
        let bet = 0;
        let gam = 0;
        for (let k = 0; k < m; k++) {
          alf += ci[k] * ci[k];
          bet += cj[k] * cj[k];
          gam += ci[k] * cj[k];
        }
        if (gam === 0 || Math.abs(gam) <= Number.EPSILON * Math.sqrt(alf * bet)) continue;
        rotated = true;
        const zeta = (bet - alf) / (2 * gam);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        for (let k = 0; k < m; k++) {
          const x = ci[k];
          const z = cj[k];
          ci[k] = cs * x - sn * z;
          cj[k] = sn * x + cs * z;
        }
        const vi = vMat[i];
        const vj = vMat[j];
        for (let k = 0; k < p; k++) {
          const x = vi[k];
          const z = vj[k];
          vi[k] = cs * x - sn * z;
          vj[k] = sn * x + cs * z;
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = r.map((col) => Math.sqrt(col.reduce((s, v) => s + v * v, 0)));
  const sMax = Math.max(...sigma);
  // Singular values below this are treated as zero (numerical rank), as lstsq's rcond.
  const cutoff = sMax * Math.max(n, p) * Number.EPSILON;
  const w = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const s = sigma[j];
    if (alpha === 0 && !(s > cutoff)) continue;
    if (s === 0) continue;
    // u_j = r_j / s, so u_j . c / s_j * (s_j^2 / (s_j^2 + alpha)) = (r_j . c) / (s_j^2 + alpha).
    let dot = 0;
    for (let k = 0; k < m; k++) dot += r[j][k] * c[k];
    const f = dot / (s * s + alpha);
    const vj = vMat[j];
    for (let k = 0; k < p; k++) w[k] += f * vj[k];
  }
  return w;
}

/**
 * Cyclic coordinate descent for 1/2 ||b - A w||^2 + l1 ||w||_1 + l2/2 ||w||^2 (scikit-learn's
 * `enet_coordinate_descent`, same scaling): after a sweep whose largest coefficient change is
 * small relative to the largest coefficient, the duality gap is computed, and the loop stops
 * once it is at most tol * ||b||^2.
 */
function coordinateDescent(
  a: Float64Array[],
  b: Float64Array,
  l1: number,
  l2: number,
  maxIter: number,
  tol: number,
  fn: string,
): Float64Array {
  const p = a.length;
  const n = b.length;
  const w = new Float64Array(p);
  const resid = Float64Array.from(b);
  const norms = a.map((col) => col.reduce((s, v) => s + v * v, 0));
  let yNorm2 = 0;
  for (let i = 0; i < n; i++) yNorm2 += b[i] * b[i];
  const gapTol = tol * yNorm2;
  const dualityGap = (): number => {
    let rNorm2 = 0;
    let ry = 0;
    for (let i = 0; i < n; i++) {
      rNorm2 += resid[i] * resid[i];
      ry += resid[i] * b[i];
    }
    let dualNorm = 0;
    let wNorm2 = 0;
    let wL1 = 0;
    for (let j = 0; j < p; j++) {
      const col = a[j];
      let s = 0;
      for (let i = 0; i < n; i++) s += col[i] * resid[i];
      dualNorm = Math.max(dualNorm, Math.abs(s - l2 * w[j]));
      wNorm2 += w[j] * w[j];
      wL1 += Math.abs(w[j]);
    }
    let cst = 1;
    let gap = rNorm2;
    if (dualNorm > l1) {
      cst = l1 / dualNorm;
      gap = 0.5 * (rNorm2 + rNorm2 * cst * cst);
    }
    return gap + l1 * wL1 - cst * ry + 0.5 * l2 * (1 + cst * cst) * wNorm2;
  };
  for (let it = 0; it < maxIter; it++) {
    let wMax = 0;
    let dMax = 0;
    for (let j = 0; j < p; j++) {
      if (norms[j] === 0) continue;
      const col = a[j];
      const old = w[j];
      let rho = 0;
      for (let i = 0; i < n; i++) rho += col[i] * resid[i];
      rho += norms[j] * old;
      const mag = Math.abs(rho) - l1;
      const next = mag > 0 ? (Math.sign(rho) * mag) / (norms[j] + l2) : 0;
      if (next !== old) {
        const d = next - old;
        for (let i = 0; i < n; i++) resid[i] -= d * col[i];
        w[j] = next;
      }
      dMax = Math.max(dMax, Math.abs(next - old));
      wMax = Math.max(wMax, Math.abs(next));
    }
    if (wMax === 0 || dMax / wMax <= tol || it === maxIter - 1) {
      if (dualityGap() <= gapTol) return w;
    }
  }
  process.emitWarning(
    `${fn}: coordinate descent did not converge in ${maxIter} iterations (tol=${tol}); consider scaling features, raising maxIter or alpha`,
    'ConvergenceWarning',
  );
  return w;
}

/**
 * Predicts `intercept + sum_j coefficients[j] * x[j]` for each row. Columns must be in the
 * model's `featureNames` order; a NaN feature gives a NaN prediction.
 *
 * @param model - a fitted {@link LinearRegressionModel}
 * @param columns - column-major features, one column per model feature
 * @returns one prediction per row
 *
 * @example
 * ```ts
 * const model = { kind: 'linearRegression', featureNames: ['x'], coefficients: [2], intercept: 1 } as const;
 * predictLinearRegression(model, [Float64Array.from([0, 3])]); // Float64Array [1, 7]
 * ```
 */
export function predictLinearRegression(model: LinearRegressionModel, columns: Columns): Float64Array {
  const p = model.coefficients.length;
  if (columns.length !== p) {
    throw new Error(
      `predictLinearRegression: model has ${p} features (${model.featureNames.join(', ')}) but got ${columns.length} columns`,
    );
  }
  const n = p > 0 ? columns[0].length : 0;
  const out = new Float64Array(n).fill(model.intercept);
  for (let j = 0; j < p; j++) {
    const col = columns[j];
    if (col.length !== n) {
      throw new Error(
        `predictLinearRegression: column '${model.featureNames[j]}' has ${col.length} rows but the first column has ${n}`,
      );
    }
    const c = model.coefficients[j];
    for (let i = 0; i < n; i++) out[i] += c * col[i];
  }
  return out;
}
