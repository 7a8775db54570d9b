/**
 * Permutation feature importance (scikit-learn's `permutation_importance`): how much a
 * model's score drops when one feature's values are shuffled across rows, breaking its link
 * with the target while keeping its distribution.
 */
import type { Columns } from './types';

/** Options of {@link permutationImportance}. */
export interface PermutationImportanceOptions {
  /** The fitted model: columns (in training order) -> predictions, one per row. */
  predict: (columns: Columns) => Float64Array;
  /** Evaluation data, column-major; usually held-out rows. */
  columns: Columns;
  /** Targets, one per row. */
  y: ArrayLike<number>;
  /** Higher is better, e.g. `(y, p) => rocAuc(y, p)` or `(y, p) => -rmse(y, p)`. */
  score: (y: ArrayLike<number>, pred: Float64Array) => number;
  /** Shuffles per feature; default 5 (as scikit-learn). */
  nRepeats?: number;
  /** Seed of the shuffles; default 0. */
  seed?: number;
}

/** What {@link permutationImportance} returns. */
export interface PermutationImportanceResult {
  /** The score on the unshuffled data. */
  baseline: number;
  /** Per feature, the mean of `baseline - shuffled score` over the repeats. */
  mean: Float64Array;
  /** Per feature, the population standard deviation (ddof 0) of those decreases. */
  std: Float64Array;
  /** Per feature, the decrease of each repeat. */
  importances: Float64Array[];
}

/**
 * Permutation importance: for each feature and repeat, shuffles that column (the other
 * columns untouched), predicts, and records `baseline - score`. A feature the model ignores
 * scores exactly 0; a decisive one scores about the whole gap to a chance-level model.
 * Negative values mean shuffling helped, i.e. the feature is noise for this model. The
 * shuffles come from a seeded generator: deterministic by `seed`, but not numpy's.
 *
 * `predict` receives fresh arrays for the shuffled column and the caller's arrays for the
 * others: it must not modify them.
 *
 * @example
 * ```ts
 * const r = permutationImportance({
 *   predict: (cols) => predictProba(model, cols),
 *   columns: takeRows(columns, test),
 *   y: takeY(y, test),
 *   score: (yt, p) => rocAuc(yt, p),
 *   nRepeats: 10,
 *   seed: 1,
 * });
 * r.mean; // per feature, the mean drop in AUC
 * ```
 */
export function permutationImportance(opts: PermutationImportanceOptions): PermutationImportanceResult {
  const fn = 'permutationImportance';
  const { columns, y } = opts;
  const nRepeats = opts.nRepeats ?? 5;
  if (!Number.isInteger(nRepeats) || nRepeats < 1) throw new Error(`${fn}: nRepeats is ${nRepeats}; expected >= 1`);
  const n = y.length;
  columns.forEach((c, j) => {
    if (c.length !== n) throw new Error(`${fn}: column ${j} has ${c.length} rows but y has ${n}`);
  });
  if (n < 2) throw new Error(`${fn}: needs at least 2 rows to shuffle, got ${n}`);
  const evaluate = (cols: Columns): number => {
    const pred = opts.predict(cols);
    if (pred.length !== n) throw new Error(`${fn}: predict returned ${pred.length} values for ${n} rows`);
    return opts.score(y, pred);
  };
  const baseline = evaluate(columns);
  let a = (opts.seed ?? 0) >>> 0;
  // mulberry32, seeded once so that every (feature, repeat) gets its own shuffle.
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const importances = columns.map((col, j) => {
    const drops = new Float64Array(nRepeats);
    const shuffled = new Float64Array(n);
    const cols = [...columns];
    for (let r = 0; r < nRepeats; r++) {
      shuffled.set(col);
      for (let i = n - 1; i > 0; i--) {
        const s = Math.floor(rand() * (i + 1));
        const t = shuffled[i];
        shuffled[i] = shuffled[s];
        shuffled[s] = t;
      }
      cols[j] = Float64Array.from(shuffled);
      drops[r] = baseline - evaluate(cols);
    }
    return drops;
  });
  const mean = Float64Array.from(importances, (d) => d.reduce((s, v) => s + v, 0) / d.length);
  const std = Float64Array.from(importances, (d, j) =>
    Math.sqrt(d.reduce((s, v) => s + (v - mean[j]) ** 2, 0) / d.length),
  );
  return { baseline, mean, std, importances };
}
