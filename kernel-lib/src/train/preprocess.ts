/**
 * Fitting and applying the transformer stages of `types.ts`: mean imputation and standard
 * scaling. Fitted stages are plain JSON; `applyStages` is the TypeScript reference evaluation
 * that the compiled ONNX graph must match.
 */
import type { Columns, ImputerStage, StandardScalerStage, TransformerStage } from './types';

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
 * Applies fitted stages in order and returns new columns; the input is not modified.
 * Each stage must have been fitted on the same number of columns as `columns` has.
 *
 * @param stages - fitted stages, e.g. `[imputer, scaler]`
 * @param columns - column-major data in the stages' feature order
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
    if (stage.kind !== 'imputer' && stage.kind !== 'standardScaler')
      throw new Error(`applyStages: stage ${s} (${stage.kind}) is not supported yet`);
    out = out.map((col, j) => {
      if (stage.kind === 'imputer') {
        const fill = stage.values[j];
        for (let i = 0; i < col.length; i++) if (Number.isNaN(col[i])) col[i] = fill;
      } else {
        const m = stage.mean[j];
        const sc = stage.scale[j];
        for (let i = 0; i < col.length; i++) col[i] = (col[i] - m) / sc;
      }
      return col;
    });
  }
  return out;
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
