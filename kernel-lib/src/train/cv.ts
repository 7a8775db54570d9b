/**
 * Cross-validation: k-fold splits (plain, shuffled, or stratified like scikit-learn's
 * `KFold` / `StratifiedKFold`) and a driver that fits and scores once per fold.
 */
import { mulberry32 } from './random';

/** One split: row indices to train on and to test on, each ascending. */
export interface Fold {
  train: Int32Array;
  test: Int32Array;
}

/** Options of {@link kFold}. */
export interface KFoldOptions {
  /** Shuffle rows before splitting (default false: contiguous folds in row order). */
  shuffle?: boolean;
  /** Seed of the shuffle; default 0. Ignored without shuffle. */
  seed?: number;
  /** Class labels per row: make every fold keep the class proportions (StratifiedKFold). */
  stratify?: ArrayLike<number>;
}

function shuffleInPlace(a: Int32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** Turns a test-fold assignment per row into k folds. */
function foldsFromAssignment(assign: Int32Array, k: number): Fold[] {
  const n = assign.length;
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) sizes[assign[i]]++;
  return Array.from({ length: k }, (_, f) => {
    const test = new Int32Array(sizes[f]);
    const train = new Int32Array(n - sizes[f]);
    let a = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      if (assign[i] === f) test[a++] = i;
      else train[b++] = i;
    }
    return { train, test };
  });
}

/**
 * Splits rows 0..n-1 into `k` folds; fold f tests on its rows and trains on all others.
 *
 * - Plain (scikit-learn `KFold`): fold sizes differ by at most one, the first `n % k` folds
 *   one larger; without `shuffle` they are contiguous in row order, exactly as scikit-learn.
 * - `stratify` (scikit-learn `StratifiedKFold`): each class's rows are dealt to the folds so
 *   that every fold holds about `count / k` of each class; without `shuffle` the assignment is
 *   exactly scikit-learn's. Throws if every class has fewer than `k` rows (as scikit-learn).
 *
 * Shuffling uses this module's seeded generator, so shuffled folds are deterministic by
 * `seed` but differ from scikit-learn's (numpy's generator).
 *
 * @param n - number of rows
 * @param k - number of folds, 2..n
 * @param opts - shuffle, seed, stratify
 * @returns k folds, indices ascending
 *
 * @example
 * ```ts
 * kFold(5, 2); // [{ test: [0, 1, 2], train: [3, 4] }, { test: [3, 4], train: [0, 1, 2] }]
 * kFold(6, 3, { stratify: [0, 0, 0, 1, 1, 1] }).map((f) => [...f.test]); // [[0, 3], [1, 4], [2, 5]]
 * ```
 */
export function kFold(n: number, k: number, opts: KFoldOptions = {}): Fold[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`kFold: n is ${n}; expected a row count`);
  if (!Number.isInteger(k) || k < 2) throw new Error(`kFold: k is ${k}; expected an integer >= 2`);
  if (k > n) throw new Error(`kFold: cannot make ${k} folds of ${n} rows`);
  const rand = mulberry32(opts.seed ?? 0);
  const assign = new Int32Array(n);
  if (opts.stratify === undefined) {
    const order = Int32Array.from({ length: n }, (_, i) => i);
    if (opts.shuffle) shuffleInPlace(order, rand);
    const base = Math.floor(n / k);
    let pos = 0;
    for (let f = 0; f < k; f++) {
      const size = base + (f < n % k ? 1 : 0);
      for (let s = 0; s < size; s++) assign[order[pos++]] = f;
    }
    return foldsFromAssignment(assign, k);
  }
  const y = opts.stratify;
  if (y.length !== n) throw new Error(`kFold: stratify has ${y.length} labels for ${n} rows`);
  // Classes numbered in order of first appearance, as scikit-learn encodes them.
  const code = new Map<number, number>();
  const enc = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(y[i])) throw new Error(`kFold: stratify label at row ${i} is NaN`);
    let c = code.get(y[i]);
    if (c === undefined) code.set(y[i], (c = code.size));
    enc[i] = c;
  }
  const nClasses = code.size;
  const counts = new Int32Array(nClasses);
  for (let i = 0; i < n; i++) counts[enc[i]]++;
  if (counts.every((c) => c < k))
    throw new Error(
      `kFold: k = ${k} is greater than the number of rows in every class (largest: ${Math.max(...counts)})`,
    );
  // Deal the class-sorted rows round-robin to the folds: allocation[f][c] rows of class c go
  // to fold f, which keeps every fold's class counts within one of count / k.
  const sortedClasses = Int32Array.from(enc).sort();
  const allocation = Array.from({ length: k }, () => new Int32Array(nClasses));
  for (let i = 0; i < n; i++) allocation[i % k][sortedClasses[i]]++;
  const rowsOf: number[][] = Array.from({ length: nClasses }, () => []);
  for (let i = 0; i < n; i++) rowsOf[enc[i]].push(i);
  for (let c = 0; c < nClasses; c++) {
    // Fold numbers for this class's rows, in row order: fold 0's share first, then fold 1's...
    const foldsForClass = new Int32Array(counts[c]);
    let pos = 0;
    for (let f = 0; f < k; f++) for (let s = 0; s < allocation[f][c]; s++) foldsForClass[pos++] = f;
    if (opts.shuffle) shuffleInPlace(foldsForClass, rand);
    rowsOf[c].forEach((row, r) => (assign[row] = foldsForClass[r]));
  }
  return foldsFromAssignment(assign, k);
}

/** Options of {@link crossValidate}. */
export interface CrossValidateOptions extends KFoldOptions {
  /** Number of rows. */
  n: number;
  /** Number of folds. */
  k: number;
  /**
   * Fits on `train`, evaluates on `test`; returns named scores (the same names every fold),
   * e.g. `{ auc: rocAuc(...), logLoss: logLoss(...) }`.
   */
  fitAndScore: (train: Int32Array, test: Int32Array, fold: number) => Record<string, number>;
}

/** What {@link crossValidate} returns. */
export interface CrossValidateResult {
  folds: Fold[];
  /** Per fold, the scores fitAndScore returned. */
  scores: Record<string, number>[];
  /** Per score name, the mean over folds. */
  mean: Record<string, number>;
  /** Per score name, the population standard deviation over folds (numpy's `std`, ddof 0). */
  std: Record<string, number>;
}

/**
 * k-fold cross-validation (scikit-learn's `cross_validate`, scores only): splits with
 * {@link kFold}, calls `fitAndScore` once per fold in order, and summarises each score.
 *
 * @example
 * ```ts
 * const { mean, std } = crossValidate({
 *   n: y.length, k: 5, shuffle: true, seed: 1, stratify: y,
 *   fitAndScore: (train, test) => {
 *     const model = fitLogisticRegression({ featureNames, columns: takeRows(columns, train), y: takeY(y, train) });
 *     return { auc: rocAuc(takeY(y, test), predictProba(model, takeRows(columns, test))) };
 *   },
 * });
 * mean.auc; // e.g. 0.99
 * ```
 */
export function crossValidate(opts: CrossValidateOptions): CrossValidateResult {
  const folds = kFold(opts.n, opts.k, opts);
  const scores = folds.map((f, i) => opts.fitAndScore(f.train, f.test, i));
  const names = Object.keys(scores[0]);
  scores.forEach((s, i) => {
    const got = Object.keys(s);
    if (got.length !== names.length || names.some((nm) => !(nm in s)))
      throw new Error(`crossValidate: fold ${i} returned scores [${got.join(', ')}], fold 0 [${names.join(', ')}]`);
  });
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const name of names) {
    const v = scores.map((s) => s[name]);
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    mean[name] = m;
    std[name] = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  }
  return { folds, scores, mean, std };
}
