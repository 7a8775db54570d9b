/**
 * k-means clustering (scikit-learn's KMeans): k-means++ initialisation, Lloyd and Elkan.
 *
 * Both algorithms run the same iteration (assign every point to its nearest centre, then move
 * each centre to the mean of its points) with the same stopping rules; Elkan skips distance
 * computations that the triangle inequality proves unnecessary, so for the same initial
 * centres both return the same clustering. Data are centred first (as scikit-learn does) so
 * that squared distances lose less precision.
 */
import type { Columns, KMeansModel, Predictions } from './types';
import { checkFeatureColumns } from './linear';
import { mulberry32 } from './random';

/** Options for {@link fitKMeans}. */
export interface KMeansOptions {
  /** Feature names, one per column, in column order. */
  featureNames: string[];
  /** Column-major features; must not contain NaN (impute first). */
  columns: Columns;
  /** Number of clusters, 1 <= k <= rows. */
  k: number;
  /**
   * Independent k-means++ initialisations; the run with the lowest inertia wins. Default 1
   * (scikit-learn >= 1.4's `n_init='auto'` with k-means++).
   */
  nInit?: number;
  /** Maximum iterations per run; default 300. */
  maxIter?: number;
  /**
   * Stop when the summed squared centre movement of an iteration is at most
   * `tol * mean(feature variances)` (scikit-learn's relative tolerance); default 1e-4. A run also
   * stops when no point changes cluster.
   */
  tol?: number;
  /** 'lloyd' (default) or 'elkan' (fewer distance computations, same result). */
  algorithm?: 'lloyd' | 'elkan';
  /** Seed of the random number generator (k-means++ draws); default 0, so results are reproducible. */
  seed?: number;
}

/** What {@link fitKMeans} returns. */
export interface KMeansResult {
  model: KMeansModel;
  /** Sum of squared distances of the points to their nearest centre (of the winning run). */
  inertia: number;
  /** Iterations of the winning run. */
  iterations: number;
}

/** Squared Euclidean distance between row i of x and row c of centres (both row-major, width p). */
function sqDist(x: Float64Array, i: number, centres: Float64Array, c: number, p: number): number {
  let s = 0;
  const xo = i * p;
  const co = c * p;
  for (let j = 0; j < p; j++) {
    const d = x[xo + j] - centres[co + j];
    s += d * d;
  }
  return s;
}

/**
 * Clusters the rows of `columns` into `k` groups, equivalent to scikit-learn's
 * `KMeans(n_clusters=k, init='k-means++', n_init=nInit, max_iter, tol, algorithm)`: the greedy
 * k-means++ initialisation (2 + floor(ln k) candidate centres per step, keeping the one that
 * lowers the potential most), then Lloyd or Elkan iterations until no point changes cluster or
 * the centres move less than the scaled `tol`. An emptied cluster is re-seeded with the point
 * farthest from its centre, as scikit-learn does. The random draws differ from numpy's, so the
 * clustering matches scikit-learn's in quality (inertia), not bit for bit.
 *
 * Throws an error naming the column and row of a NaN or infinite value (impute first), and for
 * `k` outside 1..rows or a bad option.
 *
 * @param opts - see {@link KMeansOptions}
 * @returns the model (centroids in featureNames order), its inertia and the iteration count
 *
 * @example
 * ```ts
 * const { model, inertia } = fitKMeans({
 *   featureNames: ['x', 'y'],
 *   columns: [Float64Array.from([0, 0.1, 5, 5.1]), Float64Array.from([0, 0.2, 5, 4.9])],
 *   k: 2,
 *   seed: 42,
 * });
 * predictKMeans(model, [Float64Array.from([4.8]), Float64Array.from([5.2])]).cluster; // index of the (5, 5) centre
 * ```
 */
export function fitKMeans(opts: KMeansOptions): KMeansResult {
  const fn = 'fitKMeans';
  const { featureNames, columns, k } = opts;
  const nInit = opts.nInit ?? 1;
  const maxIter = opts.maxIter ?? 300;
  const tol = opts.tol ?? 1e-4;
  const algorithm = opts.algorithm ?? 'lloyd';
  const seed = opts.seed ?? 0;
  if (columns.length === 0) throw new Error(`${fn}: no feature columns`);
  const n = columns[0].length;
  checkFeatureColumns(fn, featureNames, columns, n, `column '${featureNames[0]}'`);
  if (n === 0) throw new Error(`${fn}: no rows`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`${fn}: k must be a positive integer, got ${k}`);
  if (k > n) throw new Error(`${fn}: k = ${k} exceeds the number of rows (${n}); each cluster needs a point`);
  if (!Number.isInteger(nInit) || nInit < 1) throw new Error(`${fn}: nInit must be a positive integer, got ${nInit}`);
  if (!Number.isInteger(maxIter) || maxIter < 1)
    throw new Error(`${fn}: maxIter must be a positive integer, got ${maxIter}`);
  if (!(tol >= 0)) throw new Error(`${fn}: tol must be non-negative, got ${tol}`);
  if (algorithm !== 'lloyd' && algorithm !== 'elkan') {
    throw new Error(`${fn}: algorithm must be 'lloyd' or 'elkan', got '${String(algorithm)}'`);
  }
  if (!Number.isFinite(seed)) throw new Error(`${fn}: seed must be a finite number, got ${seed}`);
  const p = columns.length;

  // Row-major, centred copy; tol is scaled by the mean feature variance.
  const mean = columns.map((col) => col.reduce((a, b) => a + b, 0) / n);
  const x = new Float64Array(n * p);
  let varSum = 0;
  for (let j = 0; j < p; j++) {
    const col = columns[j];
    let v = 0;
    for (let i = 0; i < n; i++) {
      const d = col[i] - mean[j];
      x[i * p + j] = d;
      v += d * d;
    }
    varSum += v / n;
  }
  const tolScaled = (varSum / p) * tol;
  const xSq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += x[i * p + j] * x[i * p + j];
    xSq[i] = s;
  }

  const random = mulberry32(seed);
  let best: { centres: Float64Array; inertia: number; iterations: number } | null = null;
  for (let run = 0; run < nInit; run++) {
    const init = kmeansPlusPlus(x, n, p, k, random);
    const res = runKMeans(x, n, p, k, init, maxIter, tolScaled, algorithm);
    if (best === null || res.inertia < best.inertia) best = res;
  }
  const { centres, inertia, iterations } = best!;
  return {
    model: {
      kind: 'kmeans',
      featureNames: [...featureNames],
      centroids: Array.from({ length: k }, (_, c) => Array.from({ length: p }, (_, j) => centres[c * p + j] + mean[j])),
    },
    inertia,
    iterations,
  };
}

/**
 * Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): the first centre uniformly at random,
 * then each next one the best of 2 + floor(ln k) candidates drawn with probability proportional
 * to the squared distance to the nearest chosen centre.
 */
function kmeansPlusPlus(x: Float64Array, n: number, p: number, k: number, random: () => number): Float64Array {
  const centres = new Float64Array(k * p);
  const trials = 2 + Math.floor(Math.log(k));
  const first = Math.min(n - 1, Math.floor(random() * n));
  centres.set(x.subarray(first * p, first * p + p), 0);
  const closest = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = sqDist(x, i, centres, 0, p);
  const cumulative = new Float64Array(n);
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += closest[i];
      cumulative[i] = s;
    }
    let bestPot = Infinity;
    let bestIdx = 0;
    for (let t = 0; t < trials; t++) {
      // Lower-bound binary search (numpy's searchsorted, side='left').
      const target = random() * s;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid] < target) lo = mid + 1;
        else hi = mid;
      }
      const idx = lo;
      let candPot = 0;
      for (let i = 0; i < n; i++) {
        const d = Math.min(closest[i], sqDist(x, i, x, idx, p));
        candidateDist[i] = d;
        candPot += d;
      }
      if (candPot < bestPot) {
        bestPot = candPot;
        bestIdx = idx;
        bestDist.set(candidateDist);
      }
    }
    centres.set(x.subarray(bestIdx * p, bestIdx * p + p), c * p);
    closest.set(bestDist);
  }
  return centres;
}

/**
 * New centres = weighted means of their points; an empty cluster takes the point farthest from
 * its assigned (old) centre, which leaves that point's cluster (scikit-learn's relocation).
 * Labels are left as they are (the next assignment moves the point), as in scikit-learn.
 */
function updateCentres(
  x: Float64Array,
  n: number,
  p: number,
  k: number,
  labels: Int32Array,
  old: Float64Array,
): Float64Array {
  const sums = new Float64Array(k * p);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    counts[c]++;
    for (let j = 0; j < p; j++) sums[c * p + j] += x[i * p + j];
  }
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty.push(c);
  if (empty.length > 0) {
    const order = Array.from({ length: n }, (_, i) => i);
    const far = order.map((i) => sqDist(x, i, old, labels[i], p));
    order.sort((a, b) => far[b] - far[a] || a - b);
    empty.forEach((c, e) => {
      const i = order[e];
      const from = labels[i];
      for (let j = 0; j < p; j++) {
        sums[from * p + j] -= x[i * p + j];
        sums[c * p + j] = x[i * p + j];
      }
      counts[from]--;
      counts[c] = 1;
    });
  }
  const centres = new Float64Array(k * p);
  for (let c = 0; c < k; c++) {
    if (counts[c] > 0) for (let j = 0; j < p; j++) centres[c * p + j] = sums[c * p + j] / counts[c];
    else centres.set(old.subarray(c * p, c * p + p), c * p);
  }
  return centres;
}

/** Sum over i of the squared distance to centre labels[i]. */
function inertiaOf(x: Float64Array, n: number, p: number, centres: Float64Array, labels: Int32Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += sqDist(x, i, centres, labels[i], p);
  return s;
}

/** Nearest centre (squared distance, lowest index on ties) for every point. */
function assignAll(x: Float64Array, n: number, p: number, k: number, centres: Float64Array, labels: Int32Array): void {
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = sqDist(x, i, centres, 0, p);
    for (let c = 1; c < k; c++) {
      const d = sqDist(x, i, centres, c, p);
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    labels[i] = best;
  }
}

/**
 * One k-means run from `init` (scikit-learn's `_kmeans_single_lloyd` / `_elkan` loop): assign,
 * update, stop on unchanged labels (strict convergence) or total squared centre shift <= tol;
 * after a tol stop the points are reassigned to the final centres.
 */
function runKMeans(
  x: Float64Array,
  n: number,
  p: number,
  k: number,
  init: Float64Array,
  maxIter: number,
  tol: number,
  algorithm: 'lloyd' | 'elkan',
): { centres: Float64Array; inertia: number; iterations: number } {
  let centres = init;
  const labels = new Int32Array(n);
  const labelsOld = new Int32Array(n).fill(-1);
  const elkan = algorithm === 'elkan' ? new ElkanState(x, n, p, k) : null;
  let strict = false;
  let it = 0;
  for (; it < maxIter; it++) {
    if (elkan) elkan.assign(centres, labels, it === 0);
    else assignAll(x, n, p, k, centres, labels);
    const next = updateCentres(x, n, p, k, labels, centres);
    let shift = 0;
    const moved = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < p; j++) {
        const d = next[c * p + j] - centres[c * p + j];
        s += d * d;
      }
      shift += s;
      moved[c] = Math.sqrt(s);
    }
    elkan?.moved(moved, labels);
    centres = next;
    let same = true;
    for (let i = 0; i < n && same; i++) same = labels[i] === labelsOld[i];
    if (same) {
      strict = true;
      break;
    }
    if (shift <= tol) break;
    labelsOld.set(labels);
  }
  if (!strict) assignAll(x, n, p, k, centres, labels);
  return { centres, inertia: inertiaOf(x, n, p, centres, labels), iterations: Math.min(it + 1, maxIter) };
}

/**
 * Elkan's bounds: an upper bound on each point's distance to its centre and a lower bound on
 * its distance to every centre, loosened by how far centres move. A centre is examined only
 * when neither bound nor the centre-centre distances rule it out; candidates are compared by
 * exact squared distance with the lowest index winning ties, exactly as Lloyd's full scan, so
 * both give the same labels.
 */
class ElkanState {
  private readonly upper: Float64Array;
  private readonly lower: Float64Array;
  private readonly centreDist: Float64Array;
  private readonly half: Float64Array;

  constructor(
    private readonly x: Float64Array,
    private readonly n: number,
    private readonly p: number,
    private readonly k: number,
  ) {
    this.upper = new Float64Array(n);
    this.lower = new Float64Array(n * k);
    this.centreDist = new Float64Array(k * k);
    this.half = new Float64Array(k);
  }

  assign(centres: Float64Array, labels: Int32Array, first: boolean): void {
    const { x, n, p, k, upper, lower, centreDist, half } = this;
    if (first) {
      for (let i = 0; i < n; i++) {
        let best = 0;
        let bestD = Infinity;
        for (let c = 0; c < k; c++) {
          const d = sqDist(x, i, centres, c, p);
          lower[i * k + c] = Math.sqrt(d);
          if (d < bestD) {
            bestD = d;
            best = c;
          }
        }
        labels[i] = best;
        upper[i] = Math.sqrt(bestD);
      }
      return;
    }
    // Bounds are kept slightly loose (relative 1e-12) so rounding never prunes a true candidate.
    const slack = 1 - 1e-12;
    for (let a = 0; a < k; a++) {
      let m = Infinity;
      for (let b = 0; b < k; b++) {
        if (a === b) continue;
        const d = Math.sqrt(sqDist(centres, a, centres, b, p));
        centreDist[a * k + b] = d;
        if (d < m) m = d;
      }
      half[a] = 0.5 * m * slack;
    }
    for (let i = 0; i < n; i++) {
      let a = labels[i];
      let u = upper[i];
      // Strictly below half the distance to the nearest other centre: nothing can tie or win.
      if (u < half[a]) continue;
      let tight = false;
      let dA = 0;
      for (let c = 0; c < k; c++) {
        if (c === a) continue;
        if (u < lower[i * k + c] * slack || u < 0.5 * centreDist[a * k + c] * slack) continue;
        if (!tight) {
          dA = sqDist(x, i, centres, a, p);
          u = Math.sqrt(dA);
          lower[i * k + a] = u;
          tight = true;
          if (u < lower[i * k + c] * slack || u < 0.5 * centreDist[a * k + c] * slack) continue;
        }
        const d = sqDist(x, i, centres, c, p);
        lower[i * k + c] = Math.sqrt(d);
        if (d < dA || (d === dA && c < a)) {
          a = c;
          dA = d;
          u = Math.sqrt(d);
        }
      }
      labels[i] = a;
      upper[i] = u;
    }
  }

  /** Loosens the bounds after the centres moved by `moved` (Euclidean, per centre). */
  moved(moved: Float64Array, labels: Int32Array): void {
    const { n, k, upper, lower } = this;
    const grow = 1 + 1e-12;
    for (let i = 0; i < n; i++) {
      upper[i] += moved[labels[i]] * grow;
      for (let c = 0; c < k; c++) lower[i * k + c] = Math.max(0, lower[i * k + c] - moved[c] * grow);
    }
  }
}

/**
 * The nearest centroid (`cluster`, its index; lowest index on ties) and the Euclidean distance
 * to every centroid (`distances`, [N, K] row-major, scikit-learn's `transform`) for each row.
 * Columns must be in the model's `featureNames` order; a row with NaN gets NaN distances and
 * cluster.
 *
 * @param model - a fitted {@link KMeansModel}
 * @param columns - column-major features, one column per model feature
 * @returns `cluster` [N] and `distances` [N, K]
 *
 * @example
 * ```ts
 * const model = { kind: 'kmeans', featureNames: ['x'], centroids: [[0], [10]] } as const;
 * const { cluster, distances } = predictKMeans(model, [Float64Array.from([2, 9])]);
 * // cluster [0, 1]; distances [2, 8, 9, 1]
 * ```
 */
export function predictKMeans(model: KMeansModel, columns: Columns): Predictions {
  const p = model.featureNames.length;
  const k = model.centroids.length;
  if (columns.length !== p) {
    throw new Error(
      `predictKMeans: model has ${p} features (${model.featureNames.join(', ')}) but got ${columns.length} columns`,
    );
  }
  const n = p > 0 ? columns[0].length : 0;
  for (let j = 0; j < p; j++) {
    if (columns[j].length !== n) {
      throw new Error(
        `predictKMeans: column '${model.featureNames[j]}' has ${columns[j].length} rows but the first column has ${n}`,
      );
    }
  }
  const sq = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    const centre = model.centroids[c];
    for (let j = 0; j < p; j++) {
      const col = columns[j];
      const v = centre[j];
      for (let i = 0; i < n; i++) {
        const d = col[i] - v;
        sq[i * k + c] += d * d;
      }
    }
  }
  const cluster = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (sq[i * k + c] < sq[i * k + best]) best = c;
    cluster[i] = Number.isNaN(sq[i * k]) ? NaN : best;
  }
  return { cluster, distances: sq.map(Math.sqrt) };
}
