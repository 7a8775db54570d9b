/**
 * Logistic regression, matching scikit-learn's `LogisticRegression`:
 *
 * - binary, L2 or no penalty: minimises `C * sum_i s_i * logloss(y_i, sigmoid(b + w.x_i)) + 0.5 * ||w||^2`
 *   by Newton's method (IRLS) with backtracking, which converges in a handful of iterations for
 *   the small feature counts we train here;
 * - binary, L1 penalty: `C * sum_i s_i * logloss_i + ||w||_1` by proximal Newton (a quadratic
 *   model solved by coordinate descent, then a line search), which reaches the optimum that
 *   scikit-learn's liblinear and saga solvers approach;
 * - multinomial: `C * sum_i s_i * (-log softmax(W x_i + b)[y_i]) + 0.5 * ||W||^2` by L-BFGS, as
 *   scikit-learn's lbfgs solver.
 *
 * Intercepts are never penalised. Every problem here is convex (strictly, with a penalty), so
 * any correct solver reaches the same optimum.
 */
import type { Columns, LogisticRegressionModel, MultinomialLogisticRegressionModel, Predictions } from './types';
import { checkFeatureColumns, checkSampleWeight } from './linear';

/** Options for {@link fitLogisticRegression}. */
export interface LogisticRegressionOptions {
  /** Feature names, one per column, in column order. */
  featureNames: string[];
  /** Column-major training features; must not contain NaN (impute first). */
  columns: Columns;
  /**
   * Labels, one per row: exactly two distinct numbers (e.g. 0 and 1, or -1 and 1). The model's
   * `classes` are them sorted, and it predicts P(y = classes[1]).
   */
  y: ArrayLike<number>;
  /** Inverse regularisation strength (as in scikit-learn); default 1.0. Larger = weaker penalty. */
  C?: number;
  /** 'l2' (default), 'l1' (sparse coefficients) or 'none' (unpenalised; C is then irrelevant). */
  penalty?: 'l2' | 'l1' | 'none';
  /** Maximum Newton (or proximal Newton) iterations; default 100. */
  maxIter?: number;
  /**
   * Stop when the largest gradient component of the objective (for 'l1': of its minimum-norm
   * subgradient) divided by `C * sum(weights)` is at most `tol` (scikit-learn's scaling); default 1e-4.
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
 * Fits a binary logistic regression, equivalent to scikit-learn's
 * `LogisticRegression(C=C, penalty=penalty, fit_intercept=True)`: same objective, same optimum
 * (scikit-learn uses L-BFGS, liblinear or saga; we use Newton's method with step halving, or
 * proximal Newton for 'l1', whose coefficients are exactly zero where the optimum's are).
 *
 * Labels may be any two numbers; `classes` of the result are them sorted and the model
 * predicts P(y = classes[1]) (as scikit-learn's `predict_proba[:, 1]`).
 *
 * Inputs are validated: a NaN or infinite feature value throws an error naming the column and
 * row (fit an imputer first), as does a NaN label, a third distinct label or a negative sample
 * weight. Both classes must be present. If `maxIter` is reached before convergence, a
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
 * // Labels may be any two values; an L1 penalty sets weak coefficients to exactly 0.
 * const sparse = fitLogisticRegression({ featureNames: ['x'], columns: [Float64Array.from([1, 2, 3, 4])], y: [-1, -1, 1, -1], penalty: 'l1', C: 0.1 });
 * sparse.classes; // [-1, 1]; sparse.coefficients: [0]
 * ```
 */
export function fitLogisticRegression(opts: LogisticRegressionOptions): LogisticRegressionModel {
  const fn = 'fitLogisticRegression';
  const { featureNames, columns } = opts;
  const C = opts.C ?? 1.0;
  const penalty = opts.penalty ?? 'l2';
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-4;
  if (!(C > 0) || !Number.isFinite(C)) throw new Error(`${fn}: C must be a positive number, got ${C}`);
  if (!['l2', 'l1', 'none'].includes(penalty)) {
    throw new Error(`${fn}: penalty must be 'l2', 'l1' or 'none', got '${String(penalty)}'`);
  }
  if (!(maxIter >= 1)) throw new Error(`${fn}: maxIter must be at least 1, got ${maxIter}`);
  if (!(tol >= 0)) throw new Error(`${fn}: tol must be non-negative, got ${tol}`);
  const n = opts.y.length;
  const p = columns.length;
  if (n === 0) throw new Error(`${fn}: no training rows`);
  checkFeatureColumns(fn, featureNames, columns, n);
  const { classes, index } = labelClasses(fn, opts.y);
  if (classes.length > 2) {
    const i = index.findIndex((k) => k >= 2);
    throw new Error(
      `${fn}: label y at row ${i} is ${opts.y[i]}, but y has ${classes.length} distinct values (${classes.slice(0, 10).join(', ')}); ` +
        'binary logistic regression needs exactly two (use fitMultinomialLogisticRegression for more)',
    );
  }
  const w = checkSampleWeight(fn, opts.sampleWeight, n);
  const y = Float64Array.from(index);
  let sumW = 0;
  let sumWY = 0;
  for (let i = 0; i < n; i++) {
    sumW += w[i];
    sumWY += w[i] * y[i];
  }
  if (!(sumWY > 0) || !(sumWY < sumW)) {
    throw new Error(
      `${fn}: y needs both classes with positive weight; got only class ${classes[sumWY > 0 ? classes.length - 1 : 0]}`,
    );
  }
  const data: BinaryData = { columns, y, w, sumW, C, n, p };
  const theta =
    penalty === 'l1'
      ? fitL1(data, maxIter, tol, fn, opts.onIteration, sumWY / sumW)
      : fitNewton(data, penalty === 'l2' ? 1 : 0, maxIter, tol, fn, opts.onIteration, sumWY / sumW);
  return {
    kind: 'logisticRegression',
    featureNames: [...featureNames],
    coefficients: Array.from(theta.subarray(0, p)),
    intercept: theta[p],
    classes: [classes[0], classes[1]],
  };
}

/** Sorted distinct labels and each row's class index; a non-finite label throws. */
function labelClasses(fn: string, y: ArrayLike<number>): { classes: number[]; index: Int32Array } {
  const seen = new Set<number>();
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) throw new Error(`${fn}: label y at row ${i} is ${v}; labels must be finite numbers`);
    seen.add(v === 0 ? 0 : v); // -0 and 0 are one class
  }
  const classes = [...seen].sort((a, b) => a - b);
  const pos = new Map(classes.map((c, k) => [c, k]));
  const index = Int32Array.from({ length: y.length }, (_, i) => pos.get(y[i] === 0 ? 0 : y[i]) ?? -1);
  return { classes, index };
}

/** A validated binary problem: labels 0/1, weights, and the penalty scale C. */
interface BinaryData {
  columns: Columns;
  y: Float64Array;
  w: Float64Array;
  sumW: number;
  C: number;
  n: number;
  p: number;
}

/** z = b + X w for theta = [w, b]. */
function linearPredictor(data: BinaryData, t: Float64Array, out: Float64Array): void {
  const { columns, n, p } = data;
  out.fill(t[p]);
  for (let j = 0; j < p; j++) {
    const col = columns[j];
    const c = t[j];
    if (c !== 0) for (let i = 0; i < n; i++) out[i] += c * col[i];
  }
}

/** C * sum_i w_i * logloss_i. */
function dataLoss(data: BinaryData, z: Float64Array): number {
  const { y, w, n, C } = data;
  let loss = 0;
  for (let i = 0; i < n; i++) if (w[i] !== 0) loss += w[i] * (log1pExp(z[i]) - y[i] * z[i]);
  return C * loss;
}

/**
 * Newton's method on C * loss + lambda/2 ||w||^2 (lambda 1: L2, 0: no penalty), started at the
 * intercept-only optimum (ybar = weighted mean label). Returns theta = [w, b].
 */
function fitNewton(
  data: BinaryData,
  lambda: number,
  maxIter: number,
  tol: number,
  fn: string,
  onIteration: ((it: number, loss: number) => void) | undefined,
  ybar: number,
): Float64Array {
  const { columns, y, w, sumW, C, n, p } = data;
  // Parameters theta = [w_0 .. w_{p-1}, b]; only the first p are penalised.
  const d = p + 1;
  const theta = new Float64Array(d);
  theta[p] = Math.log(ybar / (1 - ybar));
  const z = new Float64Array(n);
  const objective = (t: Float64Array, zz: Float64Array): number => {
    let pen = 0;
    for (let j = 0; j < p; j++) pen += t[j] * t[j];
    return dataLoss(data, zz) + 0.5 * lambda * pen;
  };

  linearPredictor(data, theta, z);
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
    gradientAndHessian(columns, n, r, h, grad, hess);
    for (let j = 0; j < p; j++) {
      grad[j] += lambda * theta[j];
      hess[j * d + j] += lambda;
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
      linearPredictor(data, theta, z);
      f = objective(theta, z);
      onIteration?.(it, f);
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
      linearPredictor(data, trial, zTrial);
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
    onIteration?.(it, f);
    if (!accepted) {
      // No decrease is possible at machine precision: we are at the optimum.
      converged = true;
      break;
    }
  }
  if (!converged) warnNotConverged(fn, maxIter, tol);
  return theta;
}

/** Rows per block of {@link gradientAndHessian}: its working set (p + 2 arrays of it) stays in cache. */
const GRAM_BLOCK = 1024;

/**
 * The unpenalised gradient `[X^T r, sum r]` and Hessian `[X 1]^T diag(h) [X 1]` (d = p + 1,
 * row-major, symmetric) of a binary logistic loss. Summed block by block over the rows, so each
 * column is read once per iteration rather than once per Hessian entry (a pair of 8 MB columns
 * per entry made 1M x 28 rows ~8x slower).
 */
function gradientAndHessian(
  columns: Columns,
  n: number,
  r: Float64Array,
  h: Float64Array,
  grad: Float64Array,
  hess: Float64Array,
): void {
  const p = columns.length;
  const d = p + 1;
  grad.fill(0);
  hess.fill(0);
  const hx = new Float64Array(p * GRAM_BLOCK);
  for (let i0 = 0; i0 < n; i0 += GRAM_BLOCK) {
    const m = Math.min(GRAM_BLOCK, n - i0);
    let gb = 0;
    let hbb = 0;
    for (let t = 0; t < m; t++) {
      gb += r[i0 + t];
      hbb += h[i0 + t];
    }
    grad[p] += gb;
    hess[p * d + p] += hbb;
    for (let j = 0; j < p; j++) {
      const cj = columns[j];
      const o = j * GRAM_BLOCK;
      let g = 0;
      let hjb = 0;
      for (let t = 0; t < m; t++) {
        const x = cj[i0 + t];
        g += r[i0 + t] * x;
        const v = h[i0 + t] * x;
        hjb += v;
        hx[o + t] = v;
      }
      grad[j] += g;
      hess[j * d + p] += hjb;
      for (let k = 0; k <= j; k++) {
        const ck = columns[k];
        // Two partial sums: the adds of one long dependent chain would bound the loop.
        let s0 = 0;
        let s1 = 0;
        let t = 0;
        for (; t + 1 < m; t += 2) {
          s0 += hx[o + t] * ck[i0 + t];
          s1 += hx[o + t + 1] * ck[i0 + t + 1];
        }
        if (t < m) s0 += hx[o + t] * ck[i0 + t];
        hess[j * d + k] += s0 + s1;
      }
    }
  }
  for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) hess[k * d + j] = hess[j * d + k];
  for (let j = 0; j < p; j++) hess[p * d + j] = hess[j * d + p];
}

function warnNotConverged(fn: string, maxIter: number, tol: number): void {
  process.emitWarning(
    `${fn}: did not converge in ${maxIter} iterations (tol=${tol}); consider scaling features or raising maxIter`,
    'ConvergenceWarning',
  );
}

/**
 * Proximal Newton for C * loss + ||w||_1: each iteration minimises the quadratic model of the
 * loss plus the exact L1 term by cyclic coordinate descent (so coefficients land exactly on 0),
 * then backtracks along that direction until the objective decreases enough (Tseng and Yun's
 * rule). Starts at the intercept-only optimum (ybar = weighted mean label). Stops when the minimum-norm subgradient, scaled by C * sum(weights), is at most tol.
 */
function fitL1(
  data: BinaryData,
  maxIter: number,
  tol: number,
  fn: string,
  onIteration: ((it: number, loss: number) => void) | undefined,
  ybar: number,
): Float64Array {
  const { columns, y, w, sumW, C, n, p } = data;
  const theta = new Float64Array(p + 1);
  // Start at the intercept-only optimum, which is also the solution for small C.
  theta[p] = Math.log(ybar / (1 - ybar));
  const z = new Float64Array(n);
  const l1 = (t: Float64Array): number => {
    let s = 0;
    for (let j = 0; j < p; j++) s += Math.abs(t[j]);
    return s;
  };
  linearPredictor(data, theta, z);
  let f = dataLoss(data, z) + l1(theta);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const grad = new Float64Array(p + 1);
  const hdiag = new Float64Array(p + 1);
  const dir = new Float64Array(p + 1);
  const u = new Float64Array(n); // X d (with the intercept)
  const zTrial = new Float64Array(n);
  const trial = new Float64Array(p + 1);
  let converged = false;
  for (let it = 1; it <= maxIter; it++) {
    for (let i = 0; i < n; i++) {
      const pi = sigmoid(z[i]);
      g[i] = C * w[i] * (pi - y[i]);
      // A tiny floor keeps the coordinate steps finite when probabilities saturate.
      h[i] = Math.max(C * w[i] * pi * (1 - pi), 1e-12 * C * w[i]);
    }
    let opt = 0;
    for (let j = 0; j <= p; j++) {
      const col = j < p ? columns[j] : null;
      let gj = 0;
      let hj = 0;
      for (let i = 0; i < n; i++) {
        const x = col ? col[i] : 1;
        gj += g[i] * x;
        hj += h[i] * x * x;
      }
      grad[j] = gj;
      hdiag[j] = hj;
      const v = theta[j];
      const viol =
        j === p ? Math.abs(gj) : v > 0 ? Math.abs(gj + 1) : v < 0 ? Math.abs(gj - 1) : Math.max(0, Math.abs(gj) - 1);
      opt = Math.max(opt, viol);
    }
    if (opt / (C * sumW) <= tol) {
      converged = true;
      break;
    }
    // Coordinate descent on q(d) = grad.d + 0.5 d^T X^T H X d + ||w + d||_1.
    dir.fill(0);
    u.fill(0);
    for (let sweep = 0; sweep < 100; sweep++) {
      let change = 0;
      let size = 0;
      for (let j = 0; j <= p; j++) {
        const hj = hdiag[j];
        if (!(hj > 0)) continue;
        const col = j < p ? columns[j] : null;
        let a = grad[j];
        for (let i = 0; i < n; i++) a += h[i] * u[i] * (col ? col[i] : 1);
        let delta: number;
        if (j === p) {
          delta = -a / hj;
        } else {
          const v = theta[j] + dir[j];
          const target = v - a / hj;
          const next = Math.sign(target) * Math.max(0, Math.abs(target) - 1 / hj);
          delta = next - v;
        }
        if (delta !== 0) {
          dir[j] += delta;
          for (let i = 0; i < n; i++) u[i] += delta * (col ? col[i] : 1);
        }
        change = Math.max(change, Math.abs(delta));
        size = Math.max(size, Math.abs(dir[j]));
      }
      // Inner accuracy relative to the step: loose far from the optimum, tight near it.
      if (change <= 1e-3 * size || change <= 1e-15) break;
    }
    let decrease = 0;
    for (let j = 0; j <= p; j++) decrease += grad[j] * dir[j];
    for (let j = 0; j < p; j++) trial[j] = theta[j] + dir[j];
    decrease += l1(trial) - l1(theta);
    if (!(decrease < 0)) {
      // The model predicts no decrease: the optimum at machine precision.
      converged = true;
      break;
    }
    let t = 1;
    let accepted = false;
    for (let k = 0; k < 60; k++) {
      for (let j = 0; j <= p; j++) trial[j] = theta[j] + t * dir[j];
      for (let i = 0; i < n; i++) zTrial[i] = z[i] + t * u[i];
      const fTrial = dataLoss(data, zTrial) + l1(trial);
      if (fTrial <= f + 0.01 * t * decrease) {
        theta.set(trial);
        z.set(zTrial);
        f = fTrial;
        accepted = true;
        break;
      }
      t /= 2;
    }
    onIteration?.(it, f);
    if (!accepted) {
      converged = true;
      break;
    }
  }
  if (!converged) warnNotConverged(fn, maxIter, tol);
  return theta;
}

/**
 * Probability of the model's second class (`classes[1]`, class 1 by default) for each row:
 * `sigmoid(intercept + sum_j coefficients[j] * x[j])`.
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

/** Options for {@link fitMultinomialLogisticRegression}. */
export interface MultinomialLogisticRegressionOptions {
  /** Feature names, one per column, in column order. */
  featureNames: string[];
  /** Column-major training features; must not contain NaN (impute first). */
  columns: Columns;
  /** Labels, one per row: any numbers, at least two distinct; the model's `classes` are them sorted. */
  y: ArrayLike<number>;
  /** Inverse regularisation strength (as in scikit-learn); default 1.0. */
  C?: number;
  /** 'l2' (default), 'l1' (sparse coefficients, by OWL-QN) or 'none'. */
  penalty?: 'l2' | 'l1' | 'none';
  /** Maximum L-BFGS iterations; default 100 (scikit-learn's max_iter). */
  maxIter?: number;
  /**
   * Stop when the largest gradient component (for 'l1': of the minimum-norm subgradient) divided
   * by `C * sum(weights)` is at most `tol` (scikit-learn's gtol on its scaled objective), or when an iteration no longer lowers the
   * objective by more than 64 machine epsilons relative (its ftol); default 1e-4.
   */
  tol?: number;
  /** Non-negative weight per row; default 1 for every row. */
  sampleWeight?: ArrayLike<number>;
  /** Called after every iteration with the penalised objective value. */
  onIteration?: (it: number, loss: number) => void;
}

/**
 * Fits a multinomial (softmax) logistic regression, equivalent to scikit-learn's
 * `LogisticRegression(C=C, penalty=penalty)` on a multiclass target (lbfgs solver, multinomial
 * loss): it minimises `C * sum_i s_i * (-log P(y_i | x_i)) + 0.5 * ||W||^2` over the K x F
 * coefficient matrix W and K unpenalised intercepts, with P(k | x) = softmax(W x + b)_k, by
 * L-BFGS (10 correction pairs, backtracking Armijo line search). With `penalty: 'l1'` the
 * penalty is `||W||_1` (scikit-learn's saga solver, same objective), minimised by OWL-QN
 * (orthant-wise L-BFGS), which leaves coefficients exactly 0 where the optimum's are.
 *
 * The intercepts are only determined up to a common constant; they are returned summing to 0
 * (as are W's columns with `penalty: 'none'`), which does not change any probability.
 * Errors name the column and row of a NaN feature, the row of a non-finite label, and a bad
 * weight; fewer than two classes throw. If `maxIter` is reached first, a `ConvergenceWarning`
 * is emitted and the last iterate is returned (as scikit-learn does).
 *
 * @param opts - see {@link MultinomialLogisticRegressionOptions}
 * @returns the fitted model (plain JSON), usable with {@link predictMultinomial} and the ONNX compiler
 *
 * @example
 * ```ts
 * const model = fitMultinomialLogisticRegression({
 *   featureNames: ['x'],
 *   columns: [Float64Array.from([-2, -1.5, 0, 0.2, 2, 2.5])],
 *   y: [3, 3, 5, 5, 7, 7],
 * });
 * model.classes; // [3, 5, 7]
 * predictMultinomial(model, [Float64Array.from([2.2])]).label; // Float64Array [7]
 * ```
 */
export function fitMultinomialLogisticRegression(
  opts: MultinomialLogisticRegressionOptions,
): MultinomialLogisticRegressionModel {
  const fn = 'fitMultinomialLogisticRegression';
  const { featureNames, columns } = opts;
  const C = opts.C ?? 1.0;
  const penalty = opts.penalty ?? 'l2';
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-4;
  if (!(C > 0) || !Number.isFinite(C)) throw new Error(`${fn}: C must be a positive number, got ${C}`);
  if (penalty !== 'l2' && penalty !== 'l1' && penalty !== 'none') {
    throw new Error(`${fn}: penalty must be 'l2', 'l1' or 'none', got '${String(penalty)}'`);
  }
  if (!(maxIter >= 1)) throw new Error(`${fn}: maxIter must be at least 1, got ${maxIter}`);
  if (!(tol >= 0)) throw new Error(`${fn}: tol must be non-negative, got ${tol}`);
  const n = opts.y.length;
  const p = columns.length;
  if (n === 0) throw new Error(`${fn}: no training rows`);
  checkFeatureColumns(fn, featureNames, columns, n);
  const { classes, index: yk } = labelClasses(fn, opts.y);
  if (classes.length < 2) throw new Error(`${fn}: y needs at least two classes; got only ${classes[0]}`);
  const sw = checkSampleWeight(fn, opts.sampleWeight, n);
  let sumW = 0;
  for (let i = 0; i < n; i++) sumW += sw[i];
  const K = classes.length;
  const lambda = penalty === 'l2' ? 1 : 0;
  // theta = [W row-major K x p, b (K)].
  const dim = K * p + K;
  const z = new Float64Array(n * K);
  const resid = new Float64Array(n * K);

  /** Objective and its gradient (written to `grad`). */
  const evaluate = (theta: Float64Array, grad: Float64Array): number => {
    for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) z[i * K + k] = theta[K * p + k];
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < p; j++) {
        const c = theta[k * p + j];
        if (c === 0) continue;
        const col = columns[j];
        for (let i = 0; i < n; i++) z[i * K + k] += c * col[i];
      }
    }
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const o = i * K;
      let m = -Infinity;
      for (let k = 0; k < K; k++) m = Math.max(m, z[o + k]);
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.exp(z[o + k] - m);
      const lse = m + Math.log(s);
      loss += sw[i] * (lse - z[o + yk[i]]);
      for (let k = 0; k < K; k++) resid[o + k] = C * sw[i] * (Math.exp(z[o + k] - lse) - (k === yk[i] ? 1 : 0));
    }
    let pen = 0;
    for (let k = 0; k < K; k++) {
      let gb = 0;
      for (let i = 0; i < n; i++) gb += resid[i * K + k];
      grad[K * p + k] = gb;
      for (let j = 0; j < p; j++) {
        const col = columns[j];
        let s = 0;
        for (let i = 0; i < n; i++) s += resid[i * K + k] * col[i];
        const wkj = theta[k * p + j];
        grad[k * p + j] = s + lambda * wkj;
        pen += wkj * wkj;
      }
    }
    return C * loss + 0.5 * lambda * pen;
  };

  // L1: weight 1 on every coefficient, 0 on the intercepts (never penalised).
  const l1 = penalty === 'l1' ? Float64Array.from({ length: dim }, (_, i) => (i < K * p ? 1 : 0)) : undefined;
  const theta = lbfgs(evaluate, new Float64Array(dim), {
    maxIter,
    gtol: tol * C * sumW,
    fn,
    onIteration: opts.onIteration,
    l1,
  });
  // Softmax is invariant to a common shift: centre the intercepts (and, unpenalised, W's columns;
  // a penalty already picks the shift).
  centreOverClasses(theta, K * p, K, 1);
  if (penalty === 'none') for (let j = 0; j < p; j++) centreOverClasses(theta, j, K, p);
  return {
    kind: 'multinomialLogisticRegression',
    featureNames: [...featureNames],
    classes,
    coefficients: Array.from({ length: K }, (_, k) => Array.from(theta.subarray(k * p, (k + 1) * p))),
    intercepts: Array.from(theta.subarray(K * p)),
  };
}

/** Subtracts the mean of theta[offset + k * stride] over k < K. */
function centreOverClasses(theta: Float64Array, offset: number, K: number, stride: number): void {
  let mean = 0;
  for (let k = 0; k < K; k++) mean += theta[offset + k * stride];
  mean /= K;
  for (let k = 0; k < K; k++) theta[offset + k * stride] -= mean;
}

/**
 * Limited-memory BFGS for a smooth convex objective: the two-loop recursion with the last 10
 * correction pairs, a backtracking Armijo line search, and scipy's stopping rules (largest
 * gradient component <= gtol, or relative decrease <= 64 eps). Pairs with non-positive
 * curvature are skipped so the inverse-Hessian estimate stays positive definite.
 *
 * With `l1` (a penalty weight per coordinate) it is OWL-QN (Andrew and Gao, 2007) for
 * `f(x) + sum_i l1[i] |x_i|`: the minimum-norm subgradient stands in for the gradient, the
 * direction is kept to the orthant it points into, and line-search points are projected onto
 * that orthant, so coordinates reach exactly 0. Correction pairs use the smooth gradients.
 */
function lbfgs(
  evaluate: (x: Float64Array, grad: Float64Array) => number,
  x0: Float64Array,
  o: {
    maxIter: number;
    gtol: number;
    fn: string;
    onIteration?: (it: number, loss: number) => void;
    l1?: Float64Array;
  },
): Float64Array {
  const dim = x0.length;
  const m = 10;
  const l1 = o.l1;
  const x = Float64Array.from(x0);
  const g = new Float64Array(dim);
  const penaltyOf = (v: Float64Array): number => {
    if (!l1) return 0;
    let s = 0;
    for (let i = 0; i < dim; i++) s += l1[i] * Math.abs(v[i]);
    return s;
  };
  // pg: the gradient, or with l1 the minimum-norm subgradient of the penalised objective.
  const pg = l1 ? new Float64Array(dim) : g;
  const pseudoGradient = (): void => {
    if (!l1) return;
    for (let i = 0; i < dim; i++) {
      const c = l1[i];
      const gi = g[i];
      if (x[i] > 0) pg[i] = gi + c;
      else if (x[i] < 0) pg[i] = gi - c;
      else if (gi + c < 0) pg[i] = gi + c;
      else if (gi - c > 0) pg[i] = gi - c;
      else pg[i] = 0;
    }
  };
  let f = evaluate(x, g) + penaltyOf(x);
  pseudoGradient();
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(dim);
  const xNew = new Float64Array(dim);
  const gNew = new Float64Array(dim);
  const alphas = new Float64Array(m);
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < dim; i++) s += a[i] * b[i];
    return s;
  };
  const gmax = (v: Float64Array): number => v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  let converged = gmax(pg) <= o.gtol;
  for (let it = 1; it <= o.maxIter && !converged; it++) {
    // d = -H pg by the two-loop recursion.
    for (let i = 0; i < dim; i++) d[i] = -pg[i];
    const len = sList.length;
    for (let k = len - 1; k >= 0; k--) {
      alphas[k] = rho[k] * dot(sList[k], d);
      const yk = yList[k];
      for (let i = 0; i < dim; i++) d[i] -= alphas[k] * yk[i];
    }
    if (len > 0) {
      const gamma = dot(sList[len - 1], yList[len - 1]) / dot(yList[len - 1], yList[len - 1]);
      for (let i = 0; i < dim; i++) d[i] *= gamma;
    } else {
      // First step: unit length in the largest component, as scipy's first trial.
      const scale = 1 / Math.max(gmax(pg), 1e-300);
      for (let i = 0; i < dim; i++) d[i] *= Math.min(1, scale);
    }
    for (let k = 0; k < len; k++) {
      const beta = rho[k] * dot(yList[k], d);
      const sk = sList[k];
      for (let i = 0; i < dim; i++) d[i] += (alphas[k] - beta) * sk[i];
    }
    // OWL-QN: no penalised coordinate moves against the subgradient's descent direction.
    if (l1) for (let i = 0; i < dim; i++) if (l1[i] > 0 && d[i] * pg[i] >= 0) d[i] = 0;
    let slope = dot(pg, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      sList.length = 0;
      yList.length = 0;
      rho.length = 0;
      for (let i = 0; i < dim; i++) d[i] = -pg[i] / Math.max(gmax(pg), 1e-300);
      slope = dot(pg, d);
    }
    let t = 1;
    let fNew = f;
    let accepted = false;
    for (let k = 0; k < 50; k++) {
      for (let i = 0; i < dim; i++) xNew[i] = x[i] + t * d[i];
      let decrease = t * slope;
      if (l1) {
        // Project penalised coordinates onto the orthant of x (of -pg where x is 0); the Armijo
        // test uses the step actually taken.
        decrease = 0;
        for (let i = 0; i < dim; i++) {
          if (l1[i] > 0) {
            const sign = x[i] !== 0 ? Math.sign(x[i]) : -Math.sign(pg[i]);
            if (Math.sign(xNew[i]) !== sign) xNew[i] = 0;
          }
          decrease += pg[i] * (xNew[i] - x[i]);
        }
      }
      fNew = evaluate(xNew, gNew) + penaltyOf(xNew);
      if (fNew <= f + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) {
      // No decrease is representable along this direction: optimal at machine precision.
      converged = true;
      break;
    }
    const s = new Float64Array(dim);
    const yv = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      s[i] = xNew[i] - x[i];
      yv[i] = gNew[i] - g[i];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (sList.length === m) {
        sList.shift();
        yList.shift();
        rho.shift();
      }
      sList.push(s);
      yList.push(yv);
      rho.push(1 / sy);
    }
    const fOld = f;
    x.set(xNew);
    g.set(gNew);
    pseudoGradient();
    f = fNew;
    o.onIteration?.(it, f);
    if (gmax(pg) <= o.gtol || (fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= 64 * Number.EPSILON) {
      converged = true;
    }
  }
  if (!converged) warnNotConverged(o.fn, o.maxIter, o.gtol);
  return x;
}

/**
 * Class probabilities (softmax of `intercepts[k] + coefficients[k] . x`) and the predicted
 * label (the class value of the highest probability; the first on ties) for each row.
 * Columns must be in the model's `featureNames` order; a NaN feature gives NaN probabilities.
 *
 * @param model - a fitted {@link MultinomialLogisticRegressionModel}
 * @param columns - column-major features, one column per model feature
 * @returns `probabilities` [N, K] row-major and `label` [N]
 *
 * @example
 * ```ts
 * const model = {
 *   kind: 'multinomialLogisticRegression', featureNames: ['x'], classes: [10, 20],
 *   coefficients: [[-1], [1]], intercepts: [0, 0],
 * } as const;
 * const { probabilities, label } = predictMultinomial(model, [Float64Array.from([0, 2])]);
 * // probabilities [0.5, 0.5, 0.018, 0.982]; label [10, 20]
 * ```
 */
export function predictMultinomial(model: MultinomialLogisticRegressionModel, columns: Columns): Predictions {
  const p = model.featureNames.length;
  const K = model.classes.length;
  if (columns.length !== p) {
    throw new Error(
      `predictMultinomial: model has ${p} features (${model.featureNames.join(', ')}) but got ${columns.length} columns`,
    );
  }
  const n = p > 0 ? columns[0].length : 0;
  const probabilities = new Float64Array(n * K);
  for (let k = 0; k < K; k++) {
    const b = model.intercepts[k];
    for (let i = 0; i < n; i++) probabilities[i * K + k] = b;
  }
  for (let j = 0; j < p; j++) {
    const col = columns[j];
    if (col.length !== n) {
      throw new Error(
        `predictMultinomial: column '${model.featureNames[j]}' has ${col.length} rows but the first column has ${n}`,
      );
    }
    for (let k = 0; k < K; k++) {
      const c = model.coefficients[k][j];
      for (let i = 0; i < n; i++) probabilities[i * K + k] += c * col[i];
    }
  }
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * K;
    // The label comes from the logits (argmax is the same, and logits do not saturate).
    let best = 0;
    let m = probabilities[o];
    for (let k = 1; k < K; k++) {
      if (probabilities[o + k] > m) {
        m = probabilities[o + k];
        best = k;
      }
    }
    label[i] = Number.isNaN(m) ? NaN : model.classes[best];
    let s = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(probabilities[o + k] - m);
      probabilities[o + k] = e;
      s += e;
    }
    for (let k = 0; k < K; k++) probabilities[o + k] /= s;
  }
  return { probabilities, label };
}
