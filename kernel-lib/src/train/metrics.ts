/**
 * Evaluation metrics with scikit-learn's semantics (`sklearn.metrics`): ranking and
 * probabilistic metrics for classifiers, label metrics, regression errors, calibration and
 * clustering quality. Every function throws on a length mismatch or on no rows, naming itself
 * and the argument; optional `sampleWeight`s (finite, non-negative, positive total) weight rows
 * wherever scikit-learn accepts `sample_weight`.
 */
import type { Columns } from './types';

/** Per-row weights; `undefined` weighs every row 1. */
export type SampleWeight = ArrayLike<number> | undefined;

function checkLengths(fn: string, a: ArrayLike<number>, b: ArrayLike<number>, bName: string): void {
  if (a.length !== b.length) {
    throw new Error(`${fn}: yTrue has ${a.length} entries but ${bName} has ${b.length}`);
  }
  if (a.length === 0) throw new Error(`${fn}: no rows`);
}

function checkLabel(fn: string, v: number, i: number): void {
  if (v !== 0 && v !== 1) throw new Error(`${fn}: yTrue at row ${i} is ${v}; labels must be 0 or 1`);
}

/** Validates `w` against `n` rows; returns an accessor (1 everywhere when absent). */
function weights(fn: string, w: SampleWeight, n: number): (i: number) => number {
  if (w === undefined) return () => 1;
  if (w.length !== n) throw new Error(`${fn}: sampleWeight has ${w.length} entries for ${n} rows`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = w[i];
    if (!Number.isFinite(v) || v < 0) throw new Error(`${fn}: sampleWeight at row ${i} is ${v}; expected >= 0`);
    total += v;
  }
  if (!(total > 0)) throw new Error(`${fn}: sampleWeight sums to 0`);
  return (i) => w[i];
}

/** Sorted distinct values of the given arrays (scikit-learn's `unique_labels`). */
function uniqueLabels(...arrays: ArrayLike<number>[]): number[] {
  const set = new Set<number>();
  for (const a of arrays) for (let i = 0; i < a.length; i++) set.add(a[i]);
  return [...set].sort((x, y) => x - y);
}

/**
 * Area under the ROC curve (`roc_auc_score`): the probability that a random positive scores
 * higher than a random negative, counting ties as one half (equivalently, the Mann-Whitney U
 * statistic with average ranks for tied scores); with weights, pairs count by the product of
 * their weights. Throws if only one class is present (scikit-learn raises too) or a score is NaN.
 *
 * @param yTrue - labels, 0 or 1
 * @param scores - any monotone score (probability, logit, ...); higher means "more likely 1"
 * @param sampleWeight - optional row weights
 * @returns AUC in [0, 1]; 0.5 is chance
 *
 * @example
 * ```ts
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 * rocAuc([0, 1], [0.5, 0.5]);                   // 0.5 (a tie counts one half)
 * ```
 */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>, sampleWeight?: SampleWeight): number {
  const fn = 'rocAuc';
  checkLengths(fn, yTrue, scores, 'scores');
  const n = yTrue.length;
  const w = weights(fn, sampleWeight, n);
  let wPos = 0;
  let wNeg = 0;
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    checkLabel(fn, yTrue[i], i);
    if (Number.isNaN(scores[i])) throw new Error(`${fn}: score at row ${i} is NaN`);
    nPos += yTrue[i];
    if (yTrue[i] === 1) wPos += w(i);
    else wNeg += w(i);
  }
  if (nPos === 0 || nPos === n) {
    throw new Error(`${fn}: only one class (${nPos === 0 ? 0 : 1}) present in yTrue; ROC AUC is not defined`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Walk tie groups in ascending score: each positive beats the negatives below its group and
  // ties with the negatives inside it (half credit).
  let negBelow = 0;
  let area = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && scores[order[end]] === scores[order[start]]) end++;
    let gPos = 0;
    let gNeg = 0;
    for (let k = start; k < end; k++) {
      const i = order[k];
      if (yTrue[i] === 1) gPos += w(i);
      else gNeg += w(i);
    }
    area += gPos * (negBelow + gNeg / 2);
    negBelow += gNeg;
    start = end;
  }
  return area / (wPos * wNeg);
}

/**
 * Average precision (`average_precision_score`), the area under the precision-recall curve as
 * a step function: `sum_k (R_k - R_{k-1}) P_k` over the distinct score thresholds from high to
 * low, where `P_k`, `R_k` are precision and recall when predicting 1 for scores >= threshold k
 * (no interpolation). If yTrue has no positive, returns 0 as scikit-learn does (it warns).
 *
 * @param yTrue - labels, 0 or 1
 * @param scores - any monotone score; higher means "more likely 1"
 * @param sampleWeight - optional row weights
 * @returns average precision in [0, 1]; a random ranking scores about the positive rate
 *
 * @example
 * ```ts
 * prAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.8333... (scikit-learn's docs example)
 * ```
 */
export function prAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>, sampleWeight?: SampleWeight): number {
  const fn = 'prAuc';
  checkLengths(fn, yTrue, scores, 'scores');
  const n = yTrue.length;
  const w = weights(fn, sampleWeight, n);
  let wPos = 0;
  for (let i = 0; i < n; i++) {
    checkLabel(fn, yTrue[i], i);
    if (Number.isNaN(scores[i])) throw new Error(`${fn}: score at row ${i} is NaN`);
    if (yTrue[i] === 1) wPos += w(i);
  }
  if (wPos === 0) return 0;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && scores[order[end]] === scores[order[start]]) end++;
    for (let k = start; k < end; k++) {
      const i = order[k];
      if (yTrue[i] === 1) tp += w(i);
      else fp += w(i);
    }
    const recall = tp / wPos;
    // tp + fp is 0 only while every row so far has weight 0; such a step adds no recall.
    if (recall !== prevRecall) ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
    start = end;
  }
  return ap;
}

/** scikit-learn clips probabilities to [eps, 1 - eps] with eps the float64 machine epsilon. */
const PROB_EPS = Number.EPSILON;

function checkProbability(fn: string, what: string, v: number, i: number): void {
  if (!(v >= 0 && v <= 1)) throw new Error(`${fn}: ${what} at ${i} is ${v}; probabilities must be in [0, 1]`);
}

/**
 * Mean binary cross-entropy (`log_loss` with 1-D probabilities),
 * `-mean(y log p + (1 - y) log(1 - p))`, with `p` clipped to `[eps, 1 - eps]` (eps = 2.2e-16,
 * as scikit-learn >= 1.5) so a confident wrong prediction costs about 36 instead of infinity.
 *
 * @param yTrue - labels, 0 or 1
 * @param p - predicted probability of class 1, in [0, 1]
 * @param sampleWeight - optional row weights (weighted mean)
 * @returns the mean log loss (natural log); lower is better
 *
 * @example
 * ```ts
 * logLoss([1, 0], [0.9, 0.2]); // (-ln 0.9 - ln 0.8) / 2 = 0.1643...
 * logLoss([1], [0]);           // -ln(2.22e-16) = 36.04...
 * ```
 */
export function logLoss(yTrue: ArrayLike<number>, p: ArrayLike<number>, sampleWeight?: SampleWeight): number {
  const fn = 'logLoss';
  checkLengths(fn, yTrue, p, 'p');
  const w = weights(fn, sampleWeight, yTrue.length);
  let sum = 0;
  let wSum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    checkLabel(fn, yTrue[i], i);
    checkProbability(fn, 'p at row', p[i], i);
    const pi = Math.min(1 - PROB_EPS, Math.max(PROB_EPS, p[i]));
    sum -= w(i) * (yTrue[i] === 1 ? Math.log(pi) : Math.log(1 - pi));
    wSum += w(i);
  }
  return sum / wSum;
}

/**
 * Multiclass cross-entropy (`log_loss(y, P, labels=range(K))`): `-mean(log P[i, y_i])`, with
 * probabilities clipped to `[eps, 1 - eps]` like {@link logLoss}. Rows are not renormalised
 * (scikit-learn only warns when they do not sum to 1).
 *
 * @param yTrue - class indices 0..K-1
 * @param probabilities - row-major [N, K]: probabilities[i * K + c] = P(y_i = c)
 * @param k - number of classes K
 * @param sampleWeight - optional row weights
 * @returns the mean log loss (natural log)
 *
 * @example
 * ```ts
 * multiLogLoss([0, 2], [0.7, 0.2, 0.1, 0.1, 0.1, 0.8], 3); // (-ln 0.7 - ln 0.8) / 2 = 0.2899...
 * ```
 */
export function multiLogLoss(
  yTrue: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  k: number,
  sampleWeight?: SampleWeight,
): number {
  const fn = 'multiLogLoss';
  if (!Number.isInteger(k) || k < 2) throw new Error(`${fn}: k is ${k}; expected an integer >= 2`);
  const n = yTrue.length;
  if (probabilities.length !== n * k)
    throw new Error(`${fn}: probabilities has ${probabilities.length} entries; expected ${n} rows x ${k} = ${n * k}`);
  if (n === 0) throw new Error(`${fn}: no rows`);
  const w = weights(fn, sampleWeight, n);
  let sum = 0;
  let wSum = 0;
  for (let i = 0; i < n; i++) {
    const c = yTrue[i];
    if (!Number.isInteger(c) || c < 0 || c >= k)
      throw new Error(`${fn}: yTrue at row ${i} is ${c}; expected a class index 0..${k - 1}`);
    for (let j = 0; j < k; j++)
      checkProbability(fn, `probabilities[${i}, ${j}] (entry)`, probabilities[i * k + j], i * k + j);
    const pi = Math.min(1 - PROB_EPS, Math.max(PROB_EPS, probabilities[i * k + c]));
    sum -= w(i) * Math.log(pi);
    wSum += w(i);
  }
  return sum / wSum;
}

/**
 * Fraction of rows where the predicted label equals the true label (`accuracy_score`; exact
 * equality, so pass labels, not probabilities: threshold first, e.g.
 * `p.map((v) => (v >= 0.5 ? 1 : 0))`).
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @param sampleWeight - optional row weights
 * @returns accuracy in [0, 1]
 *
 * @example
 * ```ts
 * accuracy([0, 1, 1, 0], [0, 1, 0, 0]); // 0.75
 * ```
 */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, sampleWeight?: SampleWeight): number {
  const fn = 'accuracy';
  checkLengths(fn, yTrue, yPred, 'yPred');
  const w = weights(fn, sampleWeight, yTrue.length);
  let hits = 0;
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] === yPred[i]) hits += w(i);
    total += w(i);
  }
  return hits / total;
}

/**
 * How per-class scores combine (scikit-learn's `average`): `binary` reports the class
 * `posLabel` only (labels must be binary); `macro` is the unweighted mean over classes;
 * `weighted` weighs each class by its true (weighted) support; `micro` pools all counts
 * (for single-label multiclass data it equals accuracy).
 */
export type Average = 'binary' | 'macro' | 'weighted' | 'micro';

/** Options of {@link precision}, {@link recall} and {@link f1}. */
export interface ClassificationOptions {
  /** Default 'binary', as in scikit-learn. */
  average?: Average;
  /** The positive class for average 'binary'; default 1. */
  posLabel?: number;
  /** The classes to average over; default the sorted distinct values of yTrue and yPred. */
  labels?: readonly number[];
  sampleWeight?: SampleWeight;
}

interface ClassCounts {
  labels: number[];
  tp: number[];
  fp: number[];
  fn: number[];
  /** Rows whose true label is each class (weighted). */
  support: number[];
}

function classCounts(
  fn: string,
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels: readonly number[] | undefined,
  sampleWeight: SampleWeight,
): ClassCounts {
  checkLengths(fn, yTrue, yPred, 'yPred');
  const w = weights(fn, sampleWeight, yTrue.length);
  for (let i = 0; i < yTrue.length; i++) {
    if (Number.isNaN(yTrue[i]) || Number.isNaN(yPred[i])) throw new Error(`${fn}: label at row ${i} is NaN`);
  }
  const ls = labels ? [...labels] : uniqueLabels(yTrue, yPred);
  const index = new Map(ls.map((l, j) => [l, j]));
  if (index.size !== ls.length) throw new Error(`${fn}: labels [${ls.join(', ')}] are not distinct`);
  const tp = ls.map(() => 0);
  const fp = ls.map(() => 0);
  const fnc = ls.map(() => 0);
  const support = ls.map(() => 0);
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]);
    const p = index.get(yPred[i]);
    const wi = w(i);
    if (t !== undefined) support[t] += wi;
    if (t !== undefined && t === p) tp[t] += wi;
    else {
      if (p !== undefined) fp[p] += wi;
      if (t !== undefined) fnc[t] += wi;
    }
  }
  return { labels: ls, tp, fp, fn: fnc, support };
}

/** 0/0 gives 0: scikit-learn's default `zero_division` (it warns). */
function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

function averaged(
  fn: string,
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  opts: ClassificationOptions,
  score: (tp: number, fp: number, fn: number) => number,
): number {
  const average = opts.average ?? 'binary';
  const c = classCounts(fn, yTrue, yPred, opts.labels, opts.sampleWeight);
  if (average === 'binary') {
    const pos = opts.posLabel ?? 1;
    const present = uniqueLabels(yTrue, yPred);
    if (present.length > 2) {
      throw new Error(
        `${fn}: yTrue and yPred have ${present.length} classes (${present.join(', ')}) but average is 'binary'; ` +
          `choose average 'macro', 'weighted' or 'micro'`,
      );
    }
    if (present.length === 2 && !present.includes(pos))
      throw new Error(`${fn}: posLabel ${pos} is not a valid label; it should be one of [${present.join(', ')}]`);
    const j = c.labels.indexOf(pos);
    return j < 0 ? 0 : score(c.tp[j], c.fp[j], c.fn[j]);
  }
  if (c.labels.length === 0) throw new Error(`${fn}: no labels to average over`);
  if (average === 'micro') {
    const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
    return score(sum(c.tp), sum(c.fp), sum(c.fn));
  }
  const per = c.labels.map((_, j) => score(c.tp[j], c.fp[j], c.fn[j]));
  if (average === 'macro') return per.reduce((s, v) => s + v, 0) / per.length;
  if (average !== 'weighted') throw new Error(`${fn}: unknown average '${String(average)}'`);
  const total = c.support.reduce((s, v) => s + v, 0);
  // No true support at all: scikit-learn returns its zero_division value.
  if (total === 0) return 0;
  return per.reduce((s, v, j) => s + v * c.support[j], 0) / total;
}

/**
 * Precision, `tp / (tp + fp)` (`precision_score`); 0 when nothing is predicted positive.
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @param opts - average (default 'binary' with posLabel 1), labels, sampleWeight
 * @returns precision in [0, 1]
 *
 * @example
 * ```ts
 * precision([0, 1, 1, 0], [1, 1, 0, 0]);                          // 0.5
 * precision([0, 1, 2, 2], [0, 2, 2, 2], { average: 'macro' });    // (1 + 0 + 2/3) / 3
 * ```
 */
export function precision(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  opts: ClassificationOptions = {},
): number {
  return averaged('precision', yTrue, yPred, opts, (tp, fp) => ratio(tp, tp + fp));
}

/**
 * Recall, `tp / (tp + fn)` (`recall_score`); 0 for a class with no true rows.
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @param opts - average (default 'binary' with posLabel 1), labels, sampleWeight
 * @returns recall in [0, 1]
 *
 * @example
 * ```ts
 * recall([0, 1, 1, 0], [1, 1, 0, 0]);                           // 0.5
 * recall([0, 1, 2, 2], [0, 2, 2, 2], { average: 'weighted' });  // (1 + 0 + 2 * 1) / 4 = 0.75
 * ```
 */
export function recall(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, opts: ClassificationOptions = {}): number {
  return averaged('recall', yTrue, yPred, opts, (tp, _fp, fn) => ratio(tp, tp + fn));
}

/**
 * F1 score, the harmonic mean of precision and recall, computed as `2 tp / (2 tp + fp + fn)`
 * (`f1_score`); 0 when a class has neither true nor predicted rows.
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @param opts - average (default 'binary' with posLabel 1), labels, sampleWeight
 * @returns F1 in [0, 1]
 *
 * @example
 * ```ts
 * f1([0, 1, 1, 0], [1, 1, 0, 0]);                        // 0.5
 * f1([0, 1, 2, 2], [0, 2, 2, 2], { average: 'micro' });  // 0.75 (= accuracy)
 * ```
 */
export function f1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, opts: ClassificationOptions = {}): number {
  return averaged('f1', yTrue, yPred, opts, (tp, fp, fn) => ratio(2 * tp, 2 * tp + fp + fn));
}

/**
 * Confusion matrix (`confusion_matrix`): `matrix[i][j]` counts (or, with weights, sums the
 * weights of) rows whose true label is `labels[i]` and predicted label `labels[j]`. Rows with a
 * label outside `labels` are not counted.
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @param opts - labels (default the sorted distinct values of both), sampleWeight
 * @returns the labels in matrix order and the matrix, true labels down, predictions across
 *
 * @example
 * ```ts
 * confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2]);
 * // { labels: [0, 1, 2], matrix: [[2, 0, 0], [0, 0, 1], [1, 0, 2]] }
 * ```
 */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  opts: { labels?: readonly number[]; sampleWeight?: SampleWeight } = {},
): { labels: number[]; matrix: number[][] } {
  const fn = 'confusionMatrix';
  checkLengths(fn, yTrue, yPred, 'yPred');
  const w = weights(fn, opts.sampleWeight, yTrue.length);
  const labels = opts.labels ? [...opts.labels] : uniqueLabels(yTrue, yPred);
  const index = new Map(labels.map((l, j) => [l, j]));
  if (index.size !== labels.length) throw new Error(`${fn}: labels [${labels.join(', ')}] are not distinct`);
  const matrix = labels.map(() => labels.map(() => 0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]);
    const p = index.get(yPred[i]);
    if (t !== undefined && p !== undefined) matrix[t][p] += w(i);
  }
  return { labels, matrix };
}

function regressionCheck(fn: string, yTrue: ArrayLike<number>, yPred: ArrayLike<number>, sw: SampleWeight) {
  checkLengths(fn, yTrue, yPred, 'yPred');
  for (let i = 0; i < yTrue.length; i++) {
    if (!Number.isFinite(yTrue[i]) || !Number.isFinite(yPred[i]))
      throw new Error(`${fn}: row ${i} has yTrue ${yTrue[i]}, yPred ${yPred[i]}; values must be finite`);
  }
  return weights(fn, sw, yTrue.length);
}

/**
 * Root mean squared error (`root_mean_squared_error`): `sqrt(sum w (y - yhat)^2 / sum w)`.
 *
 * @example
 * ```ts
 * rmse([3, -0.5, 2, 7], [2.5, 0, 2, 8]); // sqrt(0.375) = 0.6123...
 * ```
 */
export function rmse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, sampleWeight?: SampleWeight): number {
  const w = regressionCheck('rmse', yTrue, yPred, sampleWeight);
  let s = 0;
  let ws = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const d = yTrue[i] - yPred[i];
    s += w(i) * d * d;
    ws += w(i);
  }
  return Math.sqrt(s / ws);
}

/**
 * Mean absolute error (`mean_absolute_error`): `sum w |y - yhat| / sum w`.
 *
 * @example
 * ```ts
 * mae([3, -0.5, 2, 7], [2.5, 0, 2, 8]); // 0.5
 * ```
 */
export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, sampleWeight?: SampleWeight): number {
  const w = regressionCheck('mae', yTrue, yPred, sampleWeight);
  let s = 0;
  let ws = 0;
  for (let i = 0; i < yTrue.length; i++) {
    s += w(i) * Math.abs(yTrue[i] - yPred[i]);
    ws += w(i);
  }
  return s / ws;
}

/**
 * Coefficient of determination (`r2_score`): `1 - SS_res / SS_tot` with the (weighted) mean of
 * yTrue. As scikit-learn (`force_finite=True`): a constant yTrue gives 1 for a perfect
 * prediction and 0 otherwise; fewer than two rows give NaN.
 *
 * @example
 * ```ts
 * r2([3, -0.5, 2, 7], [2.5, 0, 2, 8]); // 0.9486...
 * ```
 */
export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, sampleWeight?: SampleWeight): number {
  const w = regressionCheck('r2', yTrue, yPred, sampleWeight);
  const n = yTrue.length;
  if (n < 2) return NaN;
  let ws = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) {
    ws += w(i);
    mean += w(i) * yTrue[i];
  }
  mean /= ws;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    res += w(i) * (yTrue[i] - yPred[i]) ** 2;
    tot += w(i) * (yTrue[i] - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}

/**
 * Expected calibration error with `nBins` uniform bins on [0, 1]:
 * `sum_b (n_b / N) |mean(y in b) - mean(p in b)|` over the non-empty bins. Bins are those of
 * scikit-learn's `calibration_curve(strategy='uniform')`: edges `k / nBins`, each bin closed on
 * the right (`(e_{k-1}, e_k]`) except the first, which also holds 0. So
 * `calibration_curve(y, p, n_bins)` gives the per-bin means this averages.
 *
 * @param yTrue - labels, 0 or 1
 * @param p - predicted probability of class 1, in [0, 1]
 * @param nBins - number of bins, default 10
 * @returns ECE in [0, 1]; 0 is perfectly calibrated (on these bins)
 *
 * @example
 * ```ts
 * calibrationError([0, 1, 1, 1], [0.2, 0.2, 0.9, 0.9], 2); // (2/4)|0.5 - 0.2| + (2/4)|1 - 0.9| = 0.2
 * ```
 */
export function calibrationError(yTrue: ArrayLike<number>, p: ArrayLike<number>, nBins = 10): number {
  const fn = 'calibrationError';
  checkLengths(fn, yTrue, p, 'p');
  if (!Number.isInteger(nBins) || nBins < 1) throw new Error(`${fn}: nBins is ${nBins}; expected an integer >= 1`);
  const count = new Float64Array(nBins);
  const sumY = new Float64Array(nBins);
  const sumP = new Float64Array(nBins);
  // numpy.linspace(0, 1, nBins + 1)'s interior edges, computed the same way (k * step).
  const step = 1 / nBins;
  for (let i = 0; i < yTrue.length; i++) {
    checkLabel(fn, yTrue[i], i);
    checkProbability(fn, 'p at row', p[i], i);
    // Number of interior edges strictly below p (numpy.searchsorted, side 'left').
    let b = Math.min(nBins - 1, Math.max(0, Math.ceil(p[i] / step) - 1));
    while (b > 0 && !(b * step < p[i])) b--;
    while (b < nBins - 1 && (b + 1) * step < p[i]) b++;
    count[b]++;
    sumY[b] += yTrue[i];
    sumP[b] += p[i];
  }
  let ece = 0;
  for (let b = 0; b < nBins; b++) {
    if (count[b] > 0) ece += (count[b] / yTrue.length) * Math.abs(sumY[b] / count[b] - sumP[b] / count[b]);
  }
  return ece;
}

function checkMatrix(fn: string, columns: Columns): number {
  if (columns.length === 0) throw new Error(`${fn}: no columns`);
  const n = columns[0].length;
  columns.forEach((c, j) => {
    if (c.length !== n) throw new Error(`${fn}: column ${j} has ${c.length} rows but column 0 has ${n}`);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(c[i])) throw new Error(`${fn}: column ${j} row ${i} is ${c[i]}; values must be finite`);
    }
  });
  if (n === 0) throw new Error(`${fn}: no rows`);
  return n;
}

/**
 * k-means inertia: the (weighted) sum over rows of the squared Euclidean distance to the
 * nearest centroid, as scikit-learn's `KMeans.inertia_` (or `-KMeans.score(X)`) for these
 * centroids.
 *
 * @param columns - column-major data, F columns
 * @param centroids - K rows of F numbers (a `KMeansModel`'s `centroids`)
 * @param sampleWeight - optional row weights
 * @returns the inertia; lower is tighter
 *
 * @example
 * ```ts
 * inertia([Float64Array.from([0, 1, 10])], [[0.5], [10]]); // 0.25 + 0.25 + 0 = 0.5
 * ```
 */
export function inertia(
  columns: Columns,
  centroids: readonly (readonly number[])[],
  sampleWeight?: SampleWeight,
): number {
  const fn = 'inertia';
  const n = checkMatrix(fn, columns);
  const w = weights(fn, sampleWeight, n);
  if (centroids.length === 0) throw new Error(`${fn}: no centroids`);
  centroids.forEach((c, k) => {
    if (c.length !== columns.length)
      throw new Error(`${fn}: centroid ${k} has ${c.length} coordinates for ${columns.length} columns`);
  });
  let total = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (const c of centroids) {
      let d = 0;
      for (let j = 0; j < columns.length; j++) d += (columns[j][i] - c[j]) ** 2;
      if (d < best) best = d;
    }
    total += w(i) * best;
  }
  return total;
}

/** Options of {@link silhouetteScore}. */
export interface SilhouetteOptions {
  /**
   * Score a random sample of this many rows (scikit-learn's `sample_size`). Default: every row
   * up to {@link SILHOUETTE_EXACT_LIMIT} rows, else a sample of that many.
   */
  sampleSize?: number;
  /** Seed of the sample; default 0. */
  seed?: number;
}

/** Above this many rows {@link silhouetteScore} samples by default (its cost is O(n^2)). */
export const SILHOUETTE_EXACT_LIMIT = 10000;

/**
 * Mean silhouette coefficient (`silhouette_score`, Euclidean): for each row,
 * `(b - a) / max(a, b)` where `a` is its mean distance to the other rows of its cluster and
 * `b` the smallest mean distance to the rows of another cluster; a row alone in its cluster
 * scores 0. Needs 2 to n - 1 distinct labels (scikit-learn's rule). Exact, O(n^2) time and O(n)
 * memory; above {@link SILHOUETTE_EXACT_LIMIT} rows it scores a seeded random sample (the sample
 * differs from scikit-learn's, which uses numpy's generator).
 *
 * @param columns - column-major data
 * @param labels - cluster label per row
 * @param opts - sampleSize, seed
 * @returns the mean silhouette in [-1, 1]; higher means better separated clusters
 *
 * @example
 * ```ts
 * silhouetteScore([Float64Array.from([0, 1, 10, 11])], [0, 0, 1, 1]); // (9.5 / 10.5 + 8.5 / 9.5) / 2 = 0.8997...
 * ```
 */
export function silhouetteScore(columns: Columns, labels: ArrayLike<number>, opts: SilhouetteOptions = {}): number {
  const fn = 'silhouetteScore';
  const nAll = checkMatrix(fn, columns);
  if (labels.length !== nAll) throw new Error(`${fn}: labels has ${labels.length} entries for ${nAll} rows`);
  let rows = Array.from({ length: nAll }, (_, i) => i);
  const size = opts.sampleSize ?? (nAll > SILHOUETTE_EXACT_LIMIT ? SILHOUETTE_EXACT_LIMIT : undefined);
  if (size !== undefined && size < nAll) {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`${fn}: sampleSize is ${size}; expected a positive integer`);
    rows = sampleWithoutReplacement(nAll, size, opts.seed ?? 0);
  }
  const n = rows.length;
  const clusterOf = new Int32Array(n);
  const ids = new Map<number, number>();
  for (let r = 0; r < n; r++) {
    const l = labels[rows[r]];
    if (Number.isNaN(l)) throw new Error(`${fn}: label at row ${rows[r]} is NaN`);
    let id = ids.get(l);
    if (id === undefined) ids.set(l, (id = ids.size));
    clusterOf[r] = id;
  }
  const k = ids.size;
  if (k < 2 || k > n - 1) throw new Error(`${fn}: number of labels is ${k}; valid values are 2 to n - 1 = ${n - 1}`);
  const sizes = new Float64Array(k);
  for (let r = 0; r < n; r++) sizes[clusterOf[r]]++;
  const f = columns.length;
  // Row-major copy of the sampled rows: the inner loop then reads contiguous memory.
  const x = new Float64Array(n * f);
  for (let r = 0; r < n; r++) for (let j = 0; j < f; j++) x[r * f + j] = columns[j][rows[r]];
  // Per row, the sum of distances to each cluster. Each distance is computed once and added
  // to both rows when the n x k table fits in memory (half the work), else row by row.
  const symmetric = n * k <= SYMMETRIC_TABLE_LIMIT;
  const table = symmetric ? new Float64Array(n * k) : new Float64Array(k);
  const dist = (r: number, s: number): number => {
    let d = 0;
    for (let j = 0; j < f; j++) {
      const t = x[r * f + j] - x[s * f + j];
      d += t * t;
    }
    return Math.sqrt(d);
  };
  if (symmetric) {
    for (let r = 0; r < n; r++) {
      const cr = clusterOf[r];
      for (let s = r + 1; s < n; s++) {
        const d = dist(r, s);
        table[r * k + clusterOf[s]] += d;
        table[s * k + cr] += d;
      }
    }
  }
  let total = 0;
  for (let r = 0; r < n; r++) {
    let sums: Float64Array;
    if (symmetric) sums = table.subarray(r * k, (r + 1) * k);
    else {
      sums = table;
      sums.fill(0);
      for (let s = 0; s < n; s++) sums[clusterOf[s]] += dist(r, s);
    }
    const own = clusterOf[r];
    if (sizes[own] <= 1) continue; // a singleton scores 0
    const a = sums[own] / (sizes[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, sums[c] / sizes[c]);
    const m = Math.max(a, b);
    total += m === 0 ? 0 : (b - a) / m;
  }
  return total / n;
}

/** Largest n x k table of per-cluster distance sums silhouetteScore allocates (64 MB). */
const SYMMETRIC_TABLE_LIMIT = 8_000_000;

/** `size` distinct indices of 0..n-1 from a seeded partial Fisher-Yates shuffle, ascending. */
function sampleWithoutReplacement(n: number, size: number, seed: number): number[] {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let a = seed >>> 0;
  // mulberry32: small, fast and good enough for choosing rows.
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return Array.from(perm.subarray(0, size)).sort((p, q) => p - q);
}
