/**
 * scikit-learn's toy datasets (breast_cancer, digits, diabetes, wine, iris) as committed
 * fixtures, for trainer and metric tests: the JSON files in `datasets/` were written once by
 * `export_datasets.py` (its docstring says how to regenerate them), so tests need no Python to
 * load them. Values are exact float64 copies of scikit-learn's arrays.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../random';

export type DatasetName = 'breast_cancer' | 'digits' | 'diabetes' | 'wine' | 'iris';

export interface Dataset {
  featureNames: string[];
  /** Column-major features: columns[j][i] is feature j of row i. */
  columns: Float64Array[];
  /** Targets: class values 0..K-1 for classification, real values for regression. */
  y: Float64Array;
  task: 'binary' | 'multiclass' | 'regression';
  /** Sorted distinct class values (classification only). */
  classes?: number[];
}

interface DatasetFile {
  name: string;
  task: Dataset['task'];
  featureNames: string[];
  classes?: number[];
  rows: number;
  x: number[][];
  y: number[];
}

const cache = new Map<DatasetName, Dataset>();

/**
 * Loads a dataset from its fixture file. Each call returns fresh arrays (the parsed file is
 * cached), so a test may modify what it gets.
 *
 * @example
 * ```ts
 * const { columns, y, task } = loadDataset('breast_cancer'); // 30 columns of 569 rows, 'binary'
 * ```
 */
export function loadDataset(name: DatasetName): Dataset {
  let ds = cache.get(name);
  if (!ds) {
    const file = path.join(__dirname, 'datasets', `${name}.json`);
    const raw = JSON.parse(readFileSync(file, 'utf8')) as DatasetFile;
    if (
      raw.x.length !== raw.featureNames.length ||
      raw.x.some((c) => c.length !== raw.rows) ||
      raw.y.length !== raw.rows
    ) {
      throw new Error(`loadDataset: ${file} is inconsistent; regenerate it with export_datasets.py`);
    }
    ds = {
      featureNames: raw.featureNames,
      columns: raw.x.map((c) => Float64Array.from(c)),
      y: Float64Array.from(raw.y),
      task: raw.task,
      classes: raw.classes,
    };
    cache.set(name, ds);
  }
  return {
    featureNames: [...ds.featureNames],
    columns: ds.columns.map((c) => Float64Array.from(c)),
    y: Float64Array.from(ds.y),
    task: ds.task,
    classes: ds.classes && [...ds.classes],
  };
}

/** A small deterministic PRNG (mulberry32): uniform floats in [0, 1) from a 32-bit seed. */
export const seededRandom = mulberry32;

/**
 * A deterministic random split of rows 0..n-1: `ceil(n * testFraction)` test rows (as
 * scikit-learn's `train_test_split` rounds), the rest train; both sorted ascending.
 *
 * @example
 * ```ts
 * const { train, test } = trainTestSplit(569, 0.25, 42); // 426 and 143 row indices
 * ```
 */
export function trainTestSplit(n: number, testFraction: number, seed: number): { train: Int32Array; test: Int32Array } {
  if (!(testFraction > 0 && testFraction < 1))
    throw new Error(`trainTestSplit: testFraction ${testFraction} must be in (0, 1)`);
  const nTest = Math.ceil(n * testFraction);
  if (nTest >= n) throw new Error(`trainTestSplit: ${n} rows leave no training rows at testFraction ${testFraction}`);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const rand = seededRandom(seed);
  // Fisher-Yates shuffle.
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return { train: perm.slice(nTest).sort(), test: perm.slice(0, nTest).sort() };
}

/** The rows `idx` of each column, in `idx` order. */
export function takeRows(columns: readonly Float64Array[], idx: ArrayLike<number>): Float64Array[] {
  return columns.map((c) => takeY(c, idx));
}

/** The entries `idx` of `y`, in `idx` order. */
export function takeY(y: ArrayLike<number>, idx: ArrayLike<number>): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = y[idx[i]];
  return out;
}
