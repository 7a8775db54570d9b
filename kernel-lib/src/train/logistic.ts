/**
 * Binary logistic regression with an L2 penalty, matching scikit-learn's
 * `LogisticRegression(penalty='l2', C=C)`: it minimises
 *
 *   C * sum_i s_i * logloss(y_i, sigmoid(b + w.x_i)) + 0.5 * ||w||^2
 *
 * (the intercept b is not penalised). The problem is strictly convex, so any correct solver
 * reaches the same optimum; we use Newton's method (IRLS) with backtracking, which converges in
 * a handful of iterations for the small feature counts we train here.
 */
import type { Columns, LogisticRegressionModel, MultinomialLogisticRegressionModel, Predictions } from './types';

/** Options for {@link fitLogisticRegression}. */
export interface LogisticRegressionOptions {
  /** Feature names, one per column, in column order. */
  featureNames: string[];
  /** Column-major training features; must not contain NaN (impute first). */
  columns: Columns;
  /** Labels, 0 or 1, one per row. */
  y: ArrayLike<number>;
  /** Inverse regularisation strength (as in scikit-learn); default 1.0. Larger = weaker penalty. */
  C?: number;
  /** Maximum Newton iterations; default 100. */
  maxIter?: number;
  /**
   * Stop when the largest gradient component of the objective divided by `C * sum(weights)`
   * is at most `tol` (scikit-learn's scaling); default 1e-4.
   */
  tol?: number;
  /** Non-negative weight per row; default 1 for every row. */
  sampleWeight?: ArrayLike<number>;
  /** Called after every iteration with the penalised objective value. */
  onIteration?: (it: number, loss: number) => void;
}

/** log(1 + exp(z)) without overflow. */
function log1pExp(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** 1 / (1 + exp(-z)) without overflow. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Lower-triangular Cholesky factor of the symmetric d x d matrix `a` (row-major), or null. */
function cholesky(a: Float64Array, d: number): Float64Array | null {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * d + i] = Math.sqrt(s);
      } else {
        l[i * d + j] = s / l[j * d + j];
      }
    }
  }
  return l;
}

/** Solves L L^T x = b. */
function cholSolve(l: Float64Array, d: number, b: Float64Array): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * d + k] * y[k];
    y[i] = s / l[i * d + i];
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * x[k];
    x[i] = s / l[i * d + i];
  }
  return x;
}

/**
 * Fits an L2-penalised binary logistic regression, equivalent to scikit-learn's
 * `LogisticRegression(C=C, penalty='l2', fit_intercept=True)`: same objective, same optimum
 * (scikit-learn uses L-BFGS; we use Newton's method with step halving).
 *
 * Inputs are validated: a NaN or infinite feature value throws an error naming the column and
 * row (fit an imputer first), as does a label other than 0 or 1 or a negative sample weight.
 * Both classes must be present. If `maxIter` is reached before convergence, a
 * `ConvergenceWarning` is emitted through `process.emitWarning` and the last iterate is returned.
 *
 * @param opts - see {@link LogisticRegressionOptions}
 * @returns the fitted model (plain JSON), usable with {@link predictProba} and the ONNX compiler
 *
 * @example
 * ```ts
 * const model = fitLogisticRegression({
 *   featureNames: ['past_ctr', 'price'],
 *   columns: [Float64Array.from([0.1, 0.3, 0.05, 0.4]), Float64Array.from([20, 5, 30, 8])],
 *   y: [0, 1, 0, 1],
 *   C: 1.0,
 * });
 * model.coefficients; // one per feature, in featureNames order
 * predictProba(model, [Float64Array.from([0.2]), Float64Array.from([10])]); // Float64Array [p]
 * ```
 */
export function fitLogisticRegression(opts: LogisticRegressionOptions): LogisticRegressionModel {
  const fn = 'fitLogisticRegression';
  const { featureNames, columns, y } = opts;
  const C = opts.C ?? 1.0;
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-4;
  if (!(C > 0) || !Number.isFinite(C)) throw new Error(`${fn}: C must be a positive number, got ${C}`);
  if (!(maxIter >= 1)) throw new Error(`${fn}: maxIter must be at least 1, got ${maxIter}`);
  if (!(tol >= 0)) throw new Error(`${fn}: tol must be non-negative, got ${tol}`);
  if (featureNames.length !== columns.length) {
    throw new Error(
      `${fn}: got ${featureNames.length} feature names but ${columns.length} columns; they must match one to one`,
    );
  }
  const n = y.length;
  const p = columns.length;
  if (n === 0) throw new Error(`${fn}: no training rows`);
  for (let j = 0; j < p; j++) {
    const col = columns[j];
    if (col.length !== n) {
      throw new Error(`${fn}: column '${featureNames[j]}' has ${col.length} rows but y has ${n}`);
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
  if (opts.sampleWeight && opts.sampleWeight.length !== n) {
    throw new Error(`${fn}: sampleWeight has ${opts.sampleWeight.length} entries but y has ${n}`);
  }
  const w = new Float64Array(n);
  let sumW = 0;
  let sumWY = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    if (yi !== 0 && yi !== 1) {
      throw new Error(`${fn}: label y at row ${i} is ${yi}; labels must be 0 or 1`);
    }
    const wi = opts.sampleWeight ? opts.sampleWeight[i] : 1;
    if (!(wi >= 0) || !Number.isFinite(wi)) {
      throw new Error(`${fn}: sampleWeight at row ${i} is ${wi}; weights must be finite and >= 0`);
    }
    w[i] = wi;
    sumW += wi;
    sumWY += wi * yi;
  }
  if (!(sumWY > 0) || !(sumWY < sumW)) {
    throw new Error(`${fn}: y needs both classes (0 and 1) with positive weight; got only class ${sumWY > 0 ? 1 : 0}`);
  }

  // Parameters theta = [w_0 .. w_{p-1}, b]; only the first p are penalised.
  const d = p + 1;
  const theta = new Float64Array(d);
  const ybar = sumWY / sumW;
  theta[p] = Math.log(ybar / (1 - ybar)); // start at the intercept-only optimum
  const z = new Float64Array(n);

  const computeZ = (t: Float64Array, out: Float64Array): void => {
    out.fill(t[p]);
    for (let j = 0; j < p; j++) {
      const col = columns[j];
      const c = t[j];
      if (c !== 0) for (let i = 0; i < n; i++) out[i] += c * col[i];
    }
  };
  const objective = (t: Float64Array, zz: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) if (w[i] !== 0) loss += w[i] * (log1pExp(zz[i]) - y[i] * zz[i]);
    let pen = 0;
    for (let j = 0; j < p; j++) pen += t[j] * t[j];
    return C * loss + 0.5 * pen;
  };

  computeZ(theta, z);
  let f = objective(theta, z);
  const grad = new Float64Array(d);
  const hess = new Float64Array(d * d);
  const r = new Float64Array(n); // C * s_i * (p_i - y_i)
  const h = new Float64Array(n); // C * s_i * p_i * (1 - p_i)
  const trial = new Float64Array(d);
  const zTrial = new Float64Array(n);
  let converged = false;

  for (let it = 1; it <= maxIter; it++) {
    for (let i = 0; i < n; i++) {
      const pi = sigmoid(z[i]);
      r[i] = C * w[i] * (pi - y[i]);
      h[i] = C * w[i] * pi * (1 - pi);
    }
    grad.fill(0);
    hess.fill(0);
    let gb = 0;
    let hbb = 0;
    for (let i = 0; i < n; i++) {
      gb += r[i];
      hbb += h[i];
    }
    grad[p] = gb;
    hess[p * d + p] = hbb;
    for (let j = 0; j < p; j++) {
      const cj = columns[j];
      let g = theta[j];
      let hjb = 0;
      for (let i = 0; i < n; i++) {
        g += r[i] * cj[i];
        hjb += h[i] * cj[i];
      }
      grad[j] = g;
      hess[j * d + p] = hjb;
      hess[p * d + j] = hjb;
      for (let k = 0; k <= j; k++) {
        const ck = columns[k];
        let s = 0;
        for (let i = 0; i < n; i++) s += h[i] * cj[i] * ck[i];
        if (k === j) s += 1;
        hess[j * d + k] = s;
        hess[k * d + j] = s;
      }
    }
    let gmax = 0;
    for (let j = 0; j < d; j++) gmax = Math.max(gmax, Math.abs(grad[j]));
    if (gmax / (C * sumW) <= tol) {
      converged = true;
      break;
    }

    // Newton direction; if the Hessian is numerically singular (saturated probabilities on
    // separable data), add a growing ridge until it factors.
    let l = cholesky(hess, d);
    let maxDiag = 0;
    for (let j = 0; j < d; j++) maxDiag = Math.max(maxDiag, hess[j * d + j]);
    for (let mu = 1e-12 * Math.max(maxDiag, 1); l === null && mu < 1e12; mu *= 10) {
      const damped = Float64Array.from(hess);
      for (let j = 0; j < d; j++) damped[j * d + j] += mu;
      l = cholesky(damped, d);
    }
    if (l === null) break;
    const negGrad = grad.map((g) => -g);
    const step = cholSolve(l, d, negGrad);
    let slope = 0;
    for (let j = 0; j < d; j++) slope += grad[j] * step[j];

    // Near the optimum the Newton decrement (-slope) drops below what the objective can
    // resolve in floating point, so Armijo cannot be checked; the full Newton step is then safe
    // (local quadratic convergence) and is taken unchecked.
    let stepMax = 0;
    let thetaMax = 0;
    for (let j = 0; j < d; j++) {
      stepMax = Math.max(stepMax, Math.abs(step[j]));
      thetaMax = Math.max(thetaMax, Math.abs(theta[j]));
    }
    if (-slope <= 1e-12 * (1 + Math.abs(f))) {
      for (let j = 0; j < d; j++) theta[j] += step[j];
      computeZ(theta, z);
      f = objective(theta, z);
      opts.onIteration?.(it, f);
      if (stepMax <= 1e-15 * (1 + thetaMax)) {
        converged = true;
        break;
      }
      continue;
    }

    // Backtracking (Armijo) line search by step halving.
    let t = 1;
    let accepted = false;
    for (let k = 0; k < 60; k++) {
      for (let j = 0; j < d; j++) trial[j] = theta[j] + t * step[j];
      computeZ(trial, zTrial);
      const fTrial = objective(trial, zTrial);
      if (fTrial <= f + 1e-4 * t * slope) {
        theta.set(trial);
        z.set(zTrial);
        f = fTrial;
        accepted = true;
        break;
      }
      t /= 2;
    }
    opts.onIteration?.(it, f);
    if (!accepted) {
      // No decrease is possible at machine precision: we are at the optimum.
      converged = true;
      break;
    }
  }
  if (!converged) {
    process.emitWarning(
      `${fn}: did not converge in ${maxIter} iterations (tol=${tol}); consider scaling features or raising maxIter`,
      'ConvergenceWarning',
    );
  }
  return {
    kind: 'logisticRegression',
    featureNames: [...featureNames],
    coefficients: Array.from(theta.subarray(0, p)),
    intercept: theta[p],
  };
}

/**
 * Probability of class 1 for each row: `sigmoid(intercept + sum_j coefficients[j] * x[j])`.
 * Columns must be in the model's `featureNames` order; a NaN feature gives a NaN probability.
 *
 * @param model - a fitted {@link LogisticRegressionModel}
 * @param columns - column-major features, one column per model feature
 * @returns one probability per row
 *
 * @example
 * ```ts
 * const model: LogisticRegressionModel = {
 *   kind: 'logisticRegression', featureNames: ['x'], coefficients: [2], intercept: -1,
 * };
 * predictProba(model, [Float64Array.from([0, 0.5])]); // Float64Array [0.2689..., 0.5]
 * ```
 */
export function predictProba(model: LogisticRegressionModel, columns: Columns): Float64Array {
  const p = model.coefficients.length;
  if (columns.length !== p) {
    throw new Error(
      `predictProba: model has ${p} features (${model.featureNames.join(', ')}) but got ${columns.length} columns`,
    );
  }
  const n = p > 0 ? columns[0].length : 0;
  const z = new Float64Array(n).fill(model.intercept);
  for (let j = 0; j < p; j++) {
    const col = columns[j];
    if (col.length !== n) {
      throw new Error(
        `predictProba: column '${model.featureNames[j]}' has ${col.length} rows but the first column has ${n}`,
      );
    }
    const c = model.coefficients[j];
    for (let i = 0; i < n; i++) z[i] += c * col[i];
  }
  for (let i = 0; i < n; i++) z[i] = sigmoid(z[i]);
  return z;
}

/** `probabilities` [N, K] (softmax) and `label` (the class value of the highest). */
export function predictMultinomial(model: MultinomialLogisticRegressionModel, columns: Columns): Predictions {
  void model;
  void columns;
  throw new Error('predictMultinomial: not implemented yet');
}
