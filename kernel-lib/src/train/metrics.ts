/**
 * Evaluation metrics for binary classifiers, matching scikit-learn's `roc_auc_score`,
 * `log_loss` and `accuracy_score` on binary 0/1 labels.
 */

function checkLengths(fn: string, a: ArrayLike<number>, b: ArrayLike<number>, bName: string): void {
  if (a.length !== b.length) {
    throw new Error(`${fn}: yTrue has ${a.length} entries but ${bName} has ${b.length}`);
  }
  if (a.length === 0) throw new Error(`${fn}: no rows`);
}

function checkLabel(fn: string, v: number, i: number): void {
  if (v !== 0 && v !== 1) throw new Error(`${fn}: yTrue at row ${i} is ${v}; labels must be 0 or 1`);
}

/**
 * Area under the ROC curve: the probability that a random positive scores higher than a
 * random negative, counting ties as one half (equivalently, the Mann-Whitney U statistic with
 * average ranks for tied scores). Throws if only one class is present or a score is NaN.
 *
 * @param yTrue - labels, 0 or 1
 * @param scores - any monotone score (probability, logit, ...); higher means "more likely 1"
 * @returns AUC in [0, 1]; 0.5 is chance
 *
 * @example
 * ```ts
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 * rocAuc([0, 1], [0.5, 0.5]);                   // 0.5 (a tie counts one half)
 * ```
 */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const fn = 'rocAuc';
  checkLengths(fn, yTrue, scores, 'scores');
  const n = yTrue.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    checkLabel(fn, yTrue[i], i);
    if (Number.isNaN(scores[i])) throw new Error(`${fn}: score at row ${i} is NaN`);
    nPos += yTrue[i];
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new Error(`${fn}: only one class (${nPos === 0 ? 0 : 1}) present in yTrue; ROC AUC is not defined`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  let rankSumPos = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && scores[order[end]] === scores[order[start]]) end++;
    const avgRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (yTrue[order[k]] === 1) rankSumPos += avgRank;
    start = end;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Mean binary cross-entropy, `-mean(y log p + (1 - y) log(1 - p))`, with `p` clipped to
 * `[1e-15, 1 - 1e-15]` so a confident wrong prediction costs about 34.5 instead of infinity.
 *
 * @param yTrue - labels, 0 or 1
 * @param p - predicted probability of class 1
 * @returns the mean log loss (natural log); lower is better
 *
 * @example
 * ```ts
 * logLoss([1, 0], [0.9, 0.2]); // (-ln 0.9 - ln 0.8) / 2 = 0.1643...
 * logLoss([1], [0]);           // -ln(1e-15) = 34.538...
 * ```
 */
export function logLoss(yTrue: ArrayLike<number>, p: ArrayLike<number>): number {
  const fn = 'logLoss';
  checkLengths(fn, yTrue, p, 'p');
  const eps = 1e-15;
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    checkLabel(fn, yTrue[i], i);
    if (Number.isNaN(p[i])) throw new Error(`${fn}: p at row ${i} is NaN`);
    const pi = Math.min(1 - eps, Math.max(eps, p[i]));
    sum -= yTrue[i] === 1 ? Math.log(pi) : Math.log1p(-pi);
  }
  return sum / yTrue.length;
}

/**
 * Fraction of rows where the predicted label equals the true label (exact equality, so pass
 * labels, not probabilities: threshold first, e.g. `p.map((v) => (v >= 0.5 ? 1 : 0))`).
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @returns accuracy in [0, 1]
 *
 * @example
 * ```ts
 * accuracy([0, 1, 1, 0], [0, 1, 0, 0]); // 0.75
 * ```
 */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths('accuracy', yTrue, yPred, 'yPred');
  let hits = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hits++;
  return hits / yTrue.length;
}
