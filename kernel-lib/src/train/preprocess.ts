/**
 * Fitting and applying the transformer stages of `types.ts`: mean imputation, standard and
 * min-max scaling, one-hot and label encoding of a numeric categorical column, and feature
 * selection. Fitted stages are plain JSON; `applyStages` is the TypeScript reference
 * evaluation that the compiled ONNX graph must match.
 *
 * Missing values (NaN), per stage when applied: the imputer fills them; the scalers keep them
 * NaN; one-hot encoding turns them (and unknown values) into all-zero indicators; label
 * encoding turns them (and unknown values) into NaN; feature selection passes them through.
 */
import type {
  Columns,
  ImputerStage,
  LabelEncoderStage,
  MinMaxScalerStage,
  OneHotEncoderStage,
  SelectFeaturesStage,
  StandardScalerStage,
  TransformerStage,
} from './types';

/** Throws unless `names` and `columns` line up and all columns have the same length. */
function checkColumns(fn: string, names: readonly string[], columns: Columns): number {
  if (names.length !== columns.length) {
    throw new Error(
      `${fn}: got ${names.length} feature names but ${columns.length} columns; they must match one to one`,
    );
  }
  const n = columns.length > 0 ? columns[0].length : 0;
  columns.forEach((col, j) => {
    if (col.length !== n) {
      throw new Error(`${fn}: column '${names[j]}' has ${col.length} rows but column '${names[0]}' has ${n}`);
    }
  });
  return n;
}

/** Mean and population variance of the non-NaN values (two-pass for accuracy). */
function nanMeanVar(col: Float64Array): { mean: number; variance: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
  }
  if (count === 0) return { mean: NaN, variance: NaN, count };
  const mean = sum / count;
  let ss = 0;
  let comp = 0;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (!Number.isNaN(v)) {
      const d = v - mean;
      ss += d * d;
      comp += d;
    }
  }
  // Corrected two-pass formula (Chan, Golub & LeVeque): removes the rounding error of `mean`.
  const variance = Math.max(0, (ss - (comp * comp) / count) / count);
  return { mean, variance, count };
}

/**
 * Fits a mean imputer: each column's missing values (NaN) will be replaced by the mean of
 * its observed values. A column with no observed values imputes 0.
 *
 * @param names - feature names, one per column
 * @param columns - column-major training data; NaN marks a missing value
 * @returns an {@link ImputerStage} to pass to {@link applyStages}
 *
 * @example
 * ```ts
 * const imputer = fitImputer(['age', 'income'], [
 *   Float64Array.from([20, NaN, 40]),
 *   Float64Array.from([NaN, NaN, NaN]),
 * ]);
 * imputer.values; // [30, 0]
 * ```
 */
export function fitImputer(names: readonly string[], columns: Columns): ImputerStage {
  checkColumns('fitImputer', names, columns);
  const values = columns.map((col) => {
    const { mean, count } = nanMeanVar(col);
    return count === 0 ? 0 : mean;
  });
  return { kind: 'imputer', featureNames: [...names], values };
}

/**
 * Fits a standard scaler like scikit-learn's `StandardScaler`: `(x - mean) / scale` where
 * `scale` is the population standard deviation (divides by n, not n - 1). NaN values are
 * ignored when fitting (and stay NaN when applied). A constant column gets scale 1, so it
 * maps to 0 instead of dividing by zero; an all-NaN column gets mean 0 and scale 1.
 *
 * @param names - feature names, one per column
 * @param columns - column-major training data
 * @returns a {@link StandardScalerStage} to pass to {@link applyStages}
 *
 * @example
 * ```ts
 * const scaler = fitStandardScaler(['x', 'const'], [
 *   Float64Array.from([1, 2, 3, 4]),
 *   Float64Array.from([7, 7, 7, 7]),
 * ]);
 * scaler.mean;  // [2.5, 7]
 * scaler.scale; // [1.118..., 1]   (sqrt(1.25); constant column -> 1)
 * ```
 */
export function fitStandardScaler(names: readonly string[], columns: Columns): StandardScalerStage {
  checkColumns('fitStandardScaler', names, columns);
  const mean: number[] = [];
  const scale: number[] = [];
  for (const col of columns) {
    const s = nanMeanVar(col);
    if (s.count === 0) {
      mean.push(0);
      scale.push(1);
      continue;
    }
    mean.push(s.mean);
    // scikit-learn's _is_constant_feature rule: a variance within the rounding error of the
    // computation counts as zero.
    const eps = Number.EPSILON;
    const bound = s.count * eps * s.variance + (s.count * s.mean * eps) ** 2;
    scale.push(s.variance <= bound ? 1 : Math.sqrt(s.variance));
  }
  return { kind: 'standardScaler', featureNames: [...names], mean, scale };
}

/**
 * Fits a min-max scaler like scikit-learn's `MinMaxScaler(feature_range=range)`: maps each
 * column's observed [min, max] onto `range` as `x * scale + offset`. NaN values are ignored
 * when fitting and stay NaN when applied; values outside the training range map outside
 * `range` (no clipping). A constant column (range below 10 machine epsilons, scikit-learn's
 * rule) gets scale 1 and maps to `range[0]`; an all-NaN column gets scale 1 and offset 0.
 *
 * @param names - feature names, one per column
 * @param columns - column-major training data
 * @param range - target interval, default [0, 1]
 * @returns a {@link MinMaxScalerStage}
 *
 * @example
 * ```ts
 * const st = fitMinMaxScaler(['x'], [Float64Array.from([2, 4, NaN, 6])]);
 * st.scale;  // [0.25]
 * st.offset; // [-0.5]   so 2 -> 0, 6 -> 1, NaN -> NaN
 * ```
 */
export function fitMinMaxScaler(
  names: readonly string[],
  columns: Columns,
  range: readonly [number, number] = [0, 1],
): MinMaxScalerStage {
  checkColumns('fitMinMaxScaler', names, columns);
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi))
    throw new Error(`fitMinMaxScaler: range [${lo}, ${hi}] must be finite with min < max`);
  const scale: number[] = [];
  const offset: number[] = [];
  for (const col of columns) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (min > max) {
      scale.push(1);
      offset.push(0);
      continue;
    }
    const dataRange = max - min;
    const a = (hi - lo) / (dataRange < 10 * Number.EPSILON ? 1 : dataRange);
    scale.push(a);
    offset.push(lo - min * a);
  }
  return { kind: 'minMaxScaler', featureNames: [...names], scale, offset };
}

/** Sorted distinct non-NaN values of a column, with their counts. */
function distinctValues(col: Float64Array): { values: number[]; counts: number[] } {
  const counts = new Map<number, number>();
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (!Number.isNaN(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const values = [...counts.keys()].sort((a, b) => a - b);
  return { values, counts: values.map((v) => counts.get(v) ?? 0) };
}

function categoricalColumn(fn: string, names: readonly string[], columns: Columns, column: string): Float64Array {
  checkColumns(fn, names, columns);
  const j = names.indexOf(column);
  if (j < 0) throw new Error(`${fn}: column '${column}' is not among the features (${names.join(', ')})`);
  const col = columns[j];
  for (let i = 0; i < col.length; i++) {
    if (col[i] === Infinity || col[i] === -Infinity)
      throw new Error(`${fn}: column '${column}' row ${i} is ${col[i]}; categories must be finite`);
  }
  return col;
}

/** Throws if two categories are the same number once rounded to float32 (the graph's type). */
function checkFloat32Distinct(fn: string, column: string, categories: readonly number[]): void {
  const seen = new Map<number, number>();
  for (const c of categories) {
    const f = Math.fround(c);
    const other = seen.get(f);
    if (other !== undefined)
      throw new Error(`${fn}: categories ${other} and ${c} of column '${column}' are equal in float32`);
    seen.set(f, c);
  }
}

/**
 * Fits a one-hot encoder for the numeric categorical column `column` (scikit-learn's
 * `OneHotEncoder(handle_unknown='ignore')` on that column): the categories are its sorted
 * distinct non-NaN values. Applied, the column is replaced by one 0/1 column per category,
 * named `column=category` and appended after the other columns; NaN and values not among
 * the categories give all zeros.
 *
 * With `maxCategories`, only the `maxCategories` most frequent values are kept (ties keep the
 * larger value, as scikit-learn's stable count sort does); rarer ones then encode as all zeros.
 * scikit-learn would add an "infrequent" column instead, and counts it in `max_categories`:
 * its frequent categories for `max_categories = maxCategories + 1` are these.
 *
 * @param names - feature names, one per column
 * @param columns - column-major training data
 * @param column - the categorical column to encode
 * @param opts - maxCategories
 * @returns a {@link OneHotEncoderStage}
 *
 * @example
 * ```ts
 * const st = fitOneHotEncoder(['age', 'colour'], [Float64Array.from([30, 40, 50]), Float64Array.from([2, 1, NaN])], 'colour');
 * st.categories; // [1, 2]
 * applyStages([st], [Float64Array.from([30]), Float64Array.from([2])]);
 * // columns age, colour=1, colour=2: [[30], [0], [1]]
 * ```
 */
export function fitOneHotEncoder(
  names: readonly string[],
  columns: Columns,
  column: string,
  opts: { maxCategories?: number } = {},
): OneHotEncoderStage {
  const fn = 'fitOneHotEncoder';
  const col = categoricalColumn(fn, names, columns, column);
  const { values, counts } = distinctValues(col);
  if (values.length === 0) throw new Error(`${fn}: column '${column}' has no observed (non-NaN) values`);
  let categories = values;
  const max = opts.maxCategories;
  if (max !== undefined) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`${fn}: maxCategories is ${max}; expected an integer >= 1`);
    if (values.length > max) {
      // Ascending count, ties by ascending value; the last `max` are the most frequent.
      const order = values.map((_, k) => k).sort((a, b) => counts[a] - counts[b] || a - b);
      const kept = new Set(order.slice(order.length - max));
      categories = values.filter((_, k) => kept.has(k));
    }
  }
  checkFloat32Distinct(fn, column, categories);
  return { kind: 'oneHotEncoder', featureNames: [...names], column, categories };
}

/**
 * Fits a label encoder for the numeric categorical column `column` (scikit-learn's
 * `OrdinalEncoder(handle_unknown='use_encoded_value', unknown_value=nan)` on that column): the
 * categories are its sorted distinct non-NaN values, and a value is replaced by its index
 * among them. NaN and unknown values become NaN, for the model's missing-value handling.
 *
 * @param names - feature names, one per column
 * @param columns - column-major training data
 * @param column - the categorical column to encode
 * @returns a {@link LabelEncoderStage}
 *
 * @example
 * ```ts
 * const st = fitLabelEncoder(['code'], [Float64Array.from([30, 10, 20, 10])], 'code');
 * st.categories; // [10, 20, 30]
 * applyStages([st], [Float64Array.from([20, 99, NaN])]); // [[1, NaN, NaN]]
 * ```
 */
export function fitLabelEncoder(names: readonly string[], columns: Columns, column: string): LabelEncoderStage {
  const fn = 'fitLabelEncoder';
  const { values } = distinctValues(categoricalColumn(fn, names, columns, column));
  if (values.length === 0) throw new Error(`${fn}: column '${column}' has no observed (non-NaN) values`);
  checkFloat32Distinct(fn, column, values);
  return { kind: 'labelEncoder', featureNames: [...names], column, categories: values };
}

/** How {@link fitSelectFeatures} chooses columns. */
export type SelectFeaturesSpec =
  | { keep: readonly string[] }
  | { varianceThreshold: number }
  | { k: number; y: ArrayLike<number>; scoreFunc: 'f_classif' | 'f_regression' };

/**
 * Per-feature univariate scores of scikit-learn's `f_classif` (one-way ANOVA F between the
 * classes of `y`) or `f_regression` (F of the correlation with `y`:
 * `r^2 / (1 - r^2) * (n - 2)`). Degenerate features follow scikit-learn: for `f_regression` a
 * constant feature scores 0 and a perfectly correlated one the largest float64; for
 * `f_classif`, F is Infinity when the classes are each constant but differ, and NaN when the
 * feature is constant. Features must not contain NaN (impute first).
 *
 * @example
 * ```ts
 * featureScores([Float64Array.from([1, 2, 3, 4])], [0, 0, 1, 1], 'f_classif'); // [8]
 * ```
 */
export function featureScores(
  columns: Columns,
  y: ArrayLike<number>,
  scoreFunc: 'f_classif' | 'f_regression',
): Float64Array {
  const fn = 'featureScores';
  const n = y.length;
  columns.forEach((c, j) => {
    if (c.length !== n) throw new Error(`${fn}: column ${j} has ${c.length} rows but y has ${n}`);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(c[i]))
        throw new Error(`${fn}: column ${j} row ${i} is ${c[i]}; impute missing values before scoring`);
    }
  });
  for (let i = 0; i < n; i++) if (!Number.isFinite(y[i])) throw new Error(`${fn}: y at row ${i} is ${y[i]}`);
  if (scoreFunc === 'f_regression') {
    if (n < 3) throw new Error(`${fn}: f_regression needs at least 3 rows, got ${n}`);
    let ym = 0;
    for (let i = 0; i < n; i++) ym += y[i];
    ym /= n;
    let yy = 0;
    for (let i = 0; i < n; i++) yy += (y[i] - ym) ** 2;
    return Float64Array.from(columns, (c) => {
      let xm = 0;
      for (let i = 0; i < n; i++) xm += c[i];
      xm /= n;
      let xy = 0;
      let xx = 0;
      for (let i = 0; i < n; i++) {
        xy += (c[i] - xm) * (y[i] - ym);
        xx += (c[i] - xm) ** 2;
      }
      const r = xy / (Math.sqrt(xx) * Math.sqrt(yy));
      const f = ((r * r) / (1 - r * r)) * (n - 2);
      if (Number.isNaN(f)) return 0;
      return f === Infinity ? Number.MAX_VALUE : f;
    });
  }
  if (scoreFunc !== 'f_classif') throw new Error(`${fn}: unknown scoreFunc '${String(scoreFunc)}'`);
  const classOf = new Map<number, number>();
  const cls = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let c = classOf.get(y[i]);
    if (c === undefined) classOf.set(y[i], (c = classOf.size));
    cls[i] = c;
  }
  const k = classOf.size;
  if (k < 2 || n <= k) throw new Error(`${fn}: f_classif needs 2 or more classes and more rows than classes`);
  const sizes = new Float64Array(k);
  for (let i = 0; i < n; i++) sizes[cls[i]]++;
  return Float64Array.from(columns, (c) => {
    // Between- and within-class sums of squares about the means (two-pass, for accuracy).
    const sums = new Float64Array(k);
    let total = 0;
    for (let i = 0; i < n; i++) {
      sums[cls[i]] += c[i];
      total += c[i];
    }
    const grand = total / n;
    let within = 0;
    for (let i = 0; i < n; i++) within += (c[i] - sums[cls[i]] / sizes[cls[i]]) ** 2;
    let between = 0;
    for (let g = 0; g < k; g++) between += sizes[g] * (sums[g] / sizes[g] - grand) ** 2;
    return between / (k - 1) / (within / (n - k));
  });
}

/**
 * Fits a feature selection, one of:
 *
 * - `{ keep }`: exactly these columns, in this order;
 * - `{ varianceThreshold }` (scikit-learn's `VarianceThreshold`): the columns whose population
 *   variance of the non-NaN values exceeds the threshold (with threshold 0, also those whose
 *   non-NaN values are not all equal); all-NaN columns are dropped;
 * - `{ k, y, scoreFunc }` (scikit-learn's `SelectKBest`): the `k` columns with the highest
 *   {@link featureScores}; ties prefer the later column and NaN scores rank lowest, as
 *   scikit-learn's stable sort does. Kept columns stay in their original order.
 *
 * NaN values pass through the fitted stage unchanged.
 *
 * @param names - feature names, one per column
 * @param columns - column-major training data
 * @param spec - how to choose
 * @returns a {@link SelectFeaturesStage}; throws if nothing would be kept
 *
 * @example
 * ```ts
 * const cols = [Float64Array.from([1, 1, 1]), Float64Array.from([0, 5, 9])];
 * fitSelectFeatures(['c', 'x'], cols, { varianceThreshold: 0 }).keep;              // ['x']
 * fitSelectFeatures(['c', 'x'], cols, { k: 1, y: [0, 1, 1], scoreFunc: 'f_classif' }).keep; // ['x']
 * ```
 */
export function fitSelectFeatures(
  names: readonly string[],
  columns: Columns,
  spec: SelectFeaturesSpec,
): SelectFeaturesStage {
  const fn = 'fitSelectFeatures';
  checkColumns(fn, names, columns);
  const stage = (keep: string[]): SelectFeaturesStage => {
    if (keep.length === 0) throw new Error(`${fn}: no feature is kept`);
    return { kind: 'selectFeatures', featureNames: [...names], keep };
  };
  if ('keep' in spec) {
    const seen = new Set<string>();
    for (const k of spec.keep) {
      if (!names.includes(k)) throw new Error(`${fn}: '${k}' is not among the features (${names.join(', ')})`);
      if (seen.has(k)) throw new Error(`${fn}: '${k}' is listed twice in keep`);
      seen.add(k);
    }
    return stage([...spec.keep]);
  }
  if ('varianceThreshold' in spec) {
    const t = spec.varianceThreshold;
    if (!(t >= 0)) throw new Error(`${fn}: varianceThreshold is ${t}; expected >= 0`);
    const keep = names.filter((_, j) => {
      const { variance, count } = nanMeanVar(columns[j]);
      if (count === 0) return false;
      if (t === 0) {
        // scikit-learn also compares the peak-to-peak range, so rounding noise in the
        // variance of a constant column cannot keep it.
        const { values } = distinctValues(columns[j]);
        return values.length > 1 && variance > 0;
      }
      return variance > t;
    });
    if (keep.length === 0) throw new Error(`${fn}: no feature has a variance above ${t}`);
    return stage(keep);
  }
  const { k, y, scoreFunc } = spec;
  if (!Number.isInteger(k) || k < 1 || k > names.length)
    throw new Error(`${fn}: k is ${k}; expected an integer from 1 to the number of features (${names.length})`);
  const scores = featureScores(columns, y, scoreFunc);
  const rank = (j: number) => (Number.isNaN(scores[j]) ? -Infinity : scores[j]);
  const order = names.map((_, j) => j).sort((a, b) => rank(a) - rank(b) || a - b);
  const chosen = new Set(order.slice(order.length - k));
  return stage(names.filter((_, j) => chosen.has(j)));
}

/**
 * Applies fitted stages in order and returns new columns; the input is not modified. Each
 * stage must receive exactly the columns it was fitted on (`featureNames`, in order); a
 * one-hot stage replaces its column by indicator columns appended at the end, a selection
 * keeps its `keep` columns (see {@link stageOutputNames}).
 *
 * Category matching (one-hot, label encoding) compares values rounded to float32, which is
 * what the compiled graph (float32 inputs and parameters) compares, so both agree exactly.
 *
 * @param stages - fitted stages, e.g. `[imputer, scaler]`
 * @param columns - column-major data in the first stage's feature order
 * @returns freshly allocated transformed columns
 *
 * @example
 * ```ts
 * const names = ['x'];
 * const train = [Float64Array.from([1, NaN, 3])];
 * const imputer = fitImputer(names, train);                       // values [2]
 * const scaler = fitStandardScaler(names, applyStages([imputer], train));
 * applyStages([imputer, scaler], [Float64Array.from([NaN, 3])]);
 * // [Float64Array [0, 1.2247...]]
 * ```
 */
export function applyStages(stages: readonly TransformerStage[], columns: Columns): Columns {
  let out: Columns = columns.map((c) => Float64Array.from(c));
  for (const [s, stage] of stages.entries()) {
    if (stage.featureNames.length !== out.length) {
      throw new Error(
        `applyStages: stage ${s} (${stage.kind}) was fitted on ${stage.featureNames.length} columns ` +
          `(${stage.featureNames.join(', ')}) but got ${out.length}`,
      );
    }
    out = applyStage(stage, out, `applyStages: stage ${s} (${stage.kind})`);
  }
  return out;
}

/** One stage over columns the caller owns (per-column stages work in place). */
function applyStage(stage: TransformerStage, cols: Columns, where: string): Columns {
  const columnIndex = (name: string): number => {
    const j = stage.featureNames.indexOf(name);
    if (j < 0)
      throw new Error(`${where}: column '${name}' is not among its features (${stage.featureNames.join(', ')})`);
    return j;
  };
  switch (stage.kind) {
    case 'imputer':
      return cols.map((col, j) => {
        const fill = stage.values[j];
        for (let i = 0; i < col.length; i++) if (Number.isNaN(col[i])) col[i] = fill;
        return col;
      });
    case 'standardScaler':
      return cols.map((col, j) => {
        const m = stage.mean[j];
        const sc = stage.scale[j];
        for (let i = 0; i < col.length; i++) col[i] = (col[i] - m) / sc;
        return col;
      });
    case 'minMaxScaler':
      return cols.map((col, j) => {
        const a = stage.scale[j];
        const b = stage.offset[j];
        for (let i = 0; i < col.length; i++) col[i] = col[i] * a + b;
        return col;
      });
    case 'oneHotEncoder': {
      const j = columnIndex(stage.column);
      const src = cols[j];
      const cats = stage.categories.map((c) => Math.fround(c));
      const indicators = cats.map((c) => Float64Array.from(src, (v) => (Math.fround(v) === c ? 1 : 0)));
      return [...cols.filter((_, k) => k !== j), ...indicators];
    }
    case 'labelEncoder': {
      const j = columnIndex(stage.column);
      const index = new Map(stage.categories.map((c, k) => [Math.fround(c), k]));
      const col = cols[j];
      for (let i = 0; i < col.length; i++) col[i] = index.get(Math.fround(col[i])) ?? NaN;
      return cols;
    }
    case 'selectFeatures': {
      // Distinct names keep each output column a separate array (later stages work in place).
      if (new Set(stage.keep).size !== stage.keep.length) throw new Error(`${where}: keep lists a column twice`);
      return stage.keep.map((name) => cols[columnIndex(name)]);
    }
    default:
      throw new Error(`${where}: unknown stage kind '${(stage as { kind: string }).kind}'`);
  }
}

/**
 * The columns after a stage, in order: the same as its input for per-column stages; for
 * one-hot encoding the other columns then `column=category` per category; for feature
 * selection the kept columns.
 */
export function stageOutputNames(stage: TransformerStage): string[] {
  switch (stage.kind) {
    case 'oneHotEncoder':
      return [
        ...stage.featureNames.filter((n) => n !== stage.column),
        ...stage.categories.map((c) => `${stage.column}=${c}`),
      ];
    case 'selectFeatures':
      return [...stage.keep];
    default:
      return [...stage.featureNames];
  }
}
