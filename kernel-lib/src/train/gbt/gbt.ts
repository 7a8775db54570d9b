/**
 * Gradient-boosted decision trees, LightGBM-style: histogram-based, leaf-wise growth, L1/L2
 * regularised leaves, bagging and feature fraction, early stopping on a validation set. The
 * result is a plain {@link TreeEnsembleModel} that the reference predictor and the ONNX compiler
 * read.
 */
import type { DecisionTree, TreeEnsembleModel } from '../types';
import { binFeatures, MAX_BINS, type BinnedFeatures } from './binning';
import { BIN_STRIDE, SerialHistogramBuilder, type HistogramBuffers, type HistogramBuilder } from './histogram';
import { TreeGrower, type GrownTree } from './grow-tree';
import { makeObjective, OBJECTIVES, weightedMedian, type GbtObjective } from './objectives';
import { Rng } from './random';
import { leafOutput } from './split';
import { ParallelHistogramBuilder } from './workers';

/** Options of {@link fitGbt}; defaults and meanings follow LightGBM's parameters of the same role. */
export interface GbtOptions {
  /** Feature names, one per column, in column order. */
  featureNames: string[];
  /** Column-major training features; NaN means missing. Infinite values are rejected. */
  columns: Float64Array[];
  /** Labels: binary 0/1; multiclass 0..numClass-1; regression any finite number. */
  y: ArrayLike<number>;
  /** Loss: binary log-loss, softmax, L2, L1 or Huber (LightGBM's `objective`). */
  objective: GbtObjective;
  /** Classes, multiclass only; default max label + 1. */
  numClass?: number;
  /** Boosting iterations (trees per output); default 100. */
  numIterations?: number;
  /** Shrinkage applied to every leaf value; default 0.1. */
  learningRate?: number;
  /** Maximum leaves per tree; default 31. */
  numLeaves?: number;
  /** Maximum tree depth; default -1 (no limit). */
  maxDepth?: number;
  /** Minimum rows per leaf; default 20. */
  minDataInLeaf?: number;
  /** Minimum hessian sum per leaf; default 1e-3. */
  minSumHessianInLeaf?: number;
  /** L1 penalty on leaf values; default 0. */
  lambdaL1?: number;
  /** L2 penalty on leaf values; default 0. */
  lambdaL2?: number;
  /** Minimum gain of a split; default 0. */
  minGainToSplit?: number;
  /** Maximum bins per feature, the missing-value bin included; 2..256, default 255. */
  maxBin?: number;
  /** Rows sampled to place the bin bounds; default 200000 (LightGBM's bin_construct_sample_cnt). */
  binSampleCount?: number;
  /** Fraction of rows each tree learns from, re-drawn every `baggingFreq` iterations; default 1. */
  baggingFraction?: number;
  /** Bagging period in iterations; default 0 (no bagging). */
  baggingFreq?: number;
  /** Fraction of features each tree may split on (LightGBM's feature_fraction); default 1. */
  featureFraction?: number;
  /** Huber loss: residuals beyond this are penalised linearly (LightGBM's `alpha`); default 0.9. */
  huberDelta?: number;
  /** Non-negative weight per row; default 1. */
  sampleWeight?: ArrayLike<number>;
  /** Evaluated after every iteration (validLoss), and used by early stopping. */
  validation?: { columns: Float64Array[]; y: ArrayLike<number>; sampleWeight?: ArrayLike<number> };
  /**
   * Stop when the validation loss has not improved for this many iterations, and keep the trees
   * up to the best iteration; default 0 (off). Needs `validation`.
   */
  earlyStoppingRounds?: number;
  /** Seed of bin sampling, bagging and feature fraction; default 0. */
  seed?: number;
  /** Threads building histograms; the model does not depend on it. Default 1. */
  threads?: number;
  /** Called after every iteration with its (1-based) number and losses. */
  onIteration?: (info: { iteration: number; trainLoss?: number; validLoss?: number }) => void;
}

/** What {@link fitGbt} returns. */
export interface GbtResult {
  /** The ensemble: algorithm 'gbt', aggregate 'sum', params = the resolved options. */
  model: TreeEnsembleModel;
  /** 1-based iteration kept last (the best one with early stopping, else the last trained). */
  bestIteration: number;
  /** Losses per iteration (LightGBM's default metric of the objective). */
  history: { iteration: number; trainLoss?: number; validLoss?: number }[];
  /** Per feature: total split gain and number of splits in the kept trees. */
  featureImportance: { gain: number[]; split: number[] };
}

/** The resolved scalar options, stored as the model's params. */
interface Resolved {
  objective: GbtObjective;
  numClass: number;
  numIterations: number;
  learningRate: number;
  numLeaves: number;
  maxDepth: number;
  minDataInLeaf: number;
  minSumHessianInLeaf: number;
  lambdaL1: number;
  lambdaL2: number;
  minGainToSplit: number;
  maxBin: number;
  binSampleCount: number;
  baggingFraction: number;
  baggingFreq: number;
  featureFraction: number;
  huberDelta: number;
  earlyStoppingRounds: number;
  seed: number;
  threads: number;
}

const FN = 'fitGbt';

function fail(msg: string): never {
  throw new Error(`${FN}: ${msg}`);
}

function checkNumber(name: string, v: number, ok: (v: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !ok(v)) fail(`${name} must be ${what}, got ${v}`);
  return v;
}

const isInt = (v: number): boolean => Number.isInteger(v);

function resolve(opts: GbtOptions, y: Float64Array): Resolved {
  if (!OBJECTIVES.includes(opts.objective))
    fail(`objective must be one of ${OBJECTIVES.map((o) => `'${o}'`).join(', ')}, got '${String(opts.objective)}'`);
  let maxLabel = 0;
  for (let i = 0; i < y.length; i++) if (y[i] > maxLabel) maxLabel = y[i];
  const r: Resolved = {
    objective: opts.objective,
    numClass: opts.objective === 'multiclass' ? (opts.numClass ?? Math.floor(maxLabel) + 1) : 1,
    numIterations: opts.numIterations ?? 100,
    learningRate: opts.learningRate ?? 0.1,
    numLeaves: opts.numLeaves ?? 31,
    maxDepth: opts.maxDepth ?? -1,
    minDataInLeaf: opts.minDataInLeaf ?? 20,
    minSumHessianInLeaf: opts.minSumHessianInLeaf ?? 1e-3,
    lambdaL1: opts.lambdaL1 ?? 0,
    lambdaL2: opts.lambdaL2 ?? 0,
    minGainToSplit: opts.minGainToSplit ?? 0,
    maxBin: opts.maxBin ?? 255,
    binSampleCount: opts.binSampleCount ?? 200000,
    baggingFraction: opts.baggingFraction ?? 1,
    baggingFreq: opts.baggingFreq ?? 0,
    featureFraction: opts.featureFraction ?? 1,
    huberDelta: opts.huberDelta ?? 0.9,
    earlyStoppingRounds: opts.earlyStoppingRounds ?? 0,
    seed: opts.seed ?? 0,
    threads: opts.threads ?? 1,
  };
  const nonNeg = (v: number): boolean => Number.isFinite(v) && v >= 0;
  const fraction = (v: number): boolean => v > 0 && v <= 1;
  if (opts.objective === 'multiclass')
    checkNumber('numClass', r.numClass, (v) => isInt(v) && v >= 2, 'an integer >= 2');
  checkNumber('numIterations', r.numIterations, (v) => isInt(v) && v >= 1, 'an integer >= 1');
  checkNumber('learningRate', r.learningRate, (v) => Number.isFinite(v) && v > 0, 'a positive number');
  checkNumber('numLeaves', r.numLeaves, (v) => isInt(v) && v >= 2 && v <= 131072, 'an integer from 2 to 131072');
  checkNumber('maxDepth', r.maxDepth, isInt, 'an integer (<= 0: no limit)');
  checkNumber('minDataInLeaf', r.minDataInLeaf, (v) => isInt(v) && v >= 0, 'an integer >= 0');
  checkNumber('minSumHessianInLeaf', r.minSumHessianInLeaf, nonNeg, 'a number >= 0');
  checkNumber('lambdaL1', r.lambdaL1, nonNeg, 'a number >= 0');
  checkNumber('lambdaL2', r.lambdaL2, nonNeg, 'a number >= 0');
  checkNumber('minGainToSplit', r.minGainToSplit, nonNeg, 'a number >= 0');
  checkNumber('maxBin', r.maxBin, (v) => isInt(v) && v >= 2 && v <= 256, 'an integer from 2 to 256');
  checkNumber('binSampleCount', r.binSampleCount, (v) => isInt(v) && v >= 1, 'an integer >= 1');
  checkNumber('baggingFraction', r.baggingFraction, fraction, 'in (0, 1]');
  checkNumber('baggingFreq', r.baggingFreq, (v) => isInt(v) && v >= 0, 'an integer >= 0');
  checkNumber('featureFraction', r.featureFraction, fraction, 'in (0, 1]');
  checkNumber('huberDelta', r.huberDelta, (v) => Number.isFinite(v) && v > 0, 'a positive number');
  checkNumber('earlyStoppingRounds', r.earlyStoppingRounds, (v) => isInt(v) && v >= 0, 'an integer >= 0');
  checkNumber('seed', r.seed, isInt, 'an integer');
  checkNumber('threads', r.threads, (v) => isInt(v) && v >= 1 && v <= 256, 'an integer from 1 to 256');
  if (r.earlyStoppingRounds > 0 && !opts.validation)
    fail(`earlyStoppingRounds (${r.earlyStoppingRounds}) needs a validation set (option 'validation')`);
  return r;
}

/** Checks labels for the objective; `what` names the data set in messages. */
function checkLabels(y: Float64Array, r: Resolved, what: string): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) fail(`${what} at row ${i} is ${v}; labels must be finite numbers`);
    if (r.objective === 'binary' && v !== 0 && v !== 1)
      fail(`${what} at row ${i} is ${v}; binary labels must be 0 or 1`);
    if (r.objective === 'multiclass' && (!isInt(v) || v < 0 || v >= r.numClass))
      fail(
        `${what} at row ${i} is ${v}; multiclass labels must be integers from 0 to numClass - 1 (${r.numClass - 1})`,
      );
  }
}

function checkColumns(names: string[], columns: Float64Array[], n: number, what: string, allowInf: boolean): void {
  if (columns.length !== names.length)
    fail(
      `${what} has ${columns.length} columns but there are ${names.length} feature names; they must match one to one`,
    );
  for (let j = 0; j < columns.length; j++) {
    const col = columns[j];
    if (!(col instanceof Float64Array)) fail(`${what} column '${names[j]}' must be a Float64Array`);
    if (col.length !== n) fail(`${what} column '${names[j]}' has ${col.length} rows but y has ${n}`);
    if (allowInf) continue;
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (v === Infinity || v === -Infinity)
        fail(`${what} column '${names[j]}' has ${v} at row ${i}; use NaN for missing values, or clip`);
    }
  }
}

function checkWeights(w: ArrayLike<number> | undefined, n: number, what: string): Float64Array | null {
  if (!w) return null;
  if (w.length !== n) fail(`${what} has ${w.length} entries but y has ${n}`);
  const out = Float64Array.from(w);
  for (let i = 0; i < n; i++)
    if (!(out[i] >= 0) || !Number.isFinite(out[i]))
      fail(`${what} at row ${i} is ${out[i]}; weights must be finite and >= 0`);
  return out;
}

/** Adds a tree's leaf values to `acc` for rows given as float32 columns (raw decision rule). */
function addTreeRaw(t: GrownTree, values: Float64Array, cols: Float32Array[], acc: Float64Array, off: number): void {
  const n = cols.length > 0 ? cols[0].length : 0;
  const feature = t.feature;
  const threshold = t.threshold;
  const left = t.left;
  const right = t.right;
  const defaultLeft = t.defaultLeft;
  for (let i = 0; i < n; i++) {
    let node = 0;
    while (feature[node] >= 0) {
      const v = cols[feature[node]][i];
      const goLeft = v !== v ? defaultLeft[node] : v <= threshold[node];
      node = goLeft ? left[node] : right[node];
    }
    acc[off + i] += values[node];
  }
}

/** Adds a tree's leaf values to `acc` for the binned training rows (all of them). */
function addTreeBinned(t: GrownTree, values: Float64Array, data: BinnedFeatures, acc: Float64Array, off: number): void {
  const { feature, splitBin, left, right, defaultLeft } = t;
  for (let i = 0; i < data.n; i++) {
    let node = 0;
    while (feature[node] >= 0) {
      const f = feature[node];
      const b = data.bins[f][i];
      const goLeft = b === data.nanBin[f] ? defaultLeft[node] : b <= splitBin[node];
      node = goLeft ? left[node] : right[node];
    }
    acc[off + i] += values[node];
  }
}

/**
 * Trains gradient-boosted trees, LightGBM's algorithm and defaults: features binned into at most
 * `maxBin` quantile bins (NaN in a bin of its own, sent left or right as learned), trees grown
 * leaf-wise to `numLeaves` leaves from gradient histograms, leaves regularised by `lambdaL1` /
 * `lambdaL2` and shrunk by `learningRate`. The base score is LightGBM's boost_from_average:
 * log-odds of the mean label (binary), log of each class's share (multiclass), the mean (L2,
 * Huber) or median (L1) label; L1 leaves are re-fitted to the median residual, as LightGBM does.
 *
 * Deterministic: the same options and seed give the same model, whatever `threads`.
 * Bad input throws an error naming the option, column or row.
 *
 * @param opts - see {@link GbtOptions}
 * @returns the model (for predictTreeEnsemble and the ONNX compiler), losses and importances
 *
 * @example
 * ```ts
 * const x = Float64Array.from({ length: 1000 }, (_, i) => i / 1000);
 * const y = Float64Array.from(x, (v) => (v > 0.5 ? 1 : 0));
 * const { model } = fitGbt({ featureNames: ['x'], columns: [x], y, objective: 'binary', numIterations: 20 });
 * predictTreeEnsemble(model, [Float64Array.from([0.2, 0.9])]).probability; // [~0.1, ~0.9]
 * ```
 */
export function fitGbt(opts: GbtOptions): GbtResult {
  if (!opts || typeof opts !== 'object') fail('options must be an object');
  const featureNames = opts.featureNames;
  if (!Array.isArray(featureNames)) fail('featureNames must be an array of strings');
  if (!Array.isArray(opts.columns)) fail('columns must be an array of Float64Array');
  const y = Float64Array.from(opts.y ?? []);
  const n = y.length;
  if (n === 0) fail('no training rows (y is empty)');
  const r = resolve(opts, y);
  checkColumns(featureNames, opts.columns, n, 'columns', false);
  checkLabels(y, r, 'y');
  const w = checkWeights(opts.sampleWeight, n, 'sampleWeight');
  if (w && !(w.reduce((a, b) => a + b, 0) > 0)) fail('sampleWeight must have a positive sum');
  let vy: Float64Array | null = null;
  let vw: Float64Array | null = null;
  let vcols: Float32Array[] = [];
  if (opts.validation) {
    vy = Float64Array.from(opts.validation.y ?? []);
    if (vy.length === 0) fail('validation.y is empty');
    checkColumns(featureNames, opts.validation.columns ?? [], vy.length, 'validation', true);
    checkLabels(vy, r, 'validation.y');
    vw = checkWeights(opts.validation.sampleWeight, vy.length, 'validation.sampleWeight');
    vcols = opts.validation.columns.map((c) => new Float32Array(c));
  }

  const k = r.numClass;
  const nf = featureNames.length;
  const objective = makeObjective(r.objective, k, r.huberDelta);
  const base = objective.initScores(y, w);
  // Worker threads need all numLeaves histograms in shared memory up front; beyond 1 GiB of them
  // (huge numLeaves) stay single-threaded, which allocates them only as leaves appear.
  const poolBytes = r.numLeaves * nf * MAX_BINS * BIN_STRIDE * 8;
  const threads = poolBytes > 2 ** 30 ? 1 : Math.min(r.threads, Math.max(1, nf));
  const data = binFeatures(opts.columns, r.maxBin, r.binSampleCount, r.seed, threads > 1);
  const parallel = threads > 1 ? ParallelHistogramBuilder.create(threads, data, n, k, r.numLeaves) : null;
  const buffers: HistogramBuffers = parallel
    ? parallel.buffers
    : {
        data,
        idx: new Int32Array(n),
        g: new Float64Array(n * k),
        h: new Float64Array(n * k),
        og: new Float64Array(n),
        oh: new Float64Array(n),
      };
  const { idx, g, h } = buffers;
  const builder: HistogramBuilder = parallel ?? new SerialHistogramBuilder(buffers);
  const grower = new TreeGrower(buffers, builder, r, parallel ? (len) => parallel.newHistogram(len) : undefined);

  const acc = new Float64Array(n * k);
  const vacc = vy ? new Float64Array(vy.length * k) : null;
  const bagRng = new Rng(r.seed + 1);
  const featRng = new Rng(r.seed + 2);
  const useBagging = r.baggingFreq > 0 && r.baggingFraction < 1;
  const nBagWanted = useBagging ? Math.max(1, Math.round(n * r.baggingFraction)) : n;
  const bagRows = useBagging ? new Int32Array(nBagWanted) : null;
  const nUse = r.featureFraction < 1 ? Math.max(1, Math.round(nf * r.featureFraction)) : nf;
  const allFeatures = Int32Array.from({ length: nf }, (_, j) => j);
  const features = new Int32Array(nf);

  const trees: DecisionTree[] = [];
  const history: GbtResult['history'] = [];
  let bestLoss = Infinity;
  let bestIter = 0;
  let done = 0;
  const residuals = r.objective === 'regression_l1' ? new Float64Array(n) : null;
  type Info = GbtResult['history'][number];
  let pending: Info | null = null;
  const report = (p: Info, trainLoss: number): void => {
    const info: Info = { iteration: p.iteration, trainLoss };
    if (p.validLoss !== undefined) info.validLoss = p.validLoss;
    history.push(info);
    opts.onIteration?.(info);
  };

  try {
    for (let it = 0; it < r.numIterations; it++) {
      const loss = objective.gradients(base, acc, y, w, g, h);
      // The previous iteration's training loss comes with these gradients (one pass, not two).
      if (pending) report(pending, loss);
      pending = null;
      if (bagRows && it % r.baggingFreq === 0) bagRng.sample(n, nBagWanted, bagRows);
      const iterTrees: DecisionTree[] = [];
      let anySplit = false;
      for (let c = 0; c < k; c++) {
        if (bagRows) idx.set(bagRows);
        else for (let i = 0; i < n; i++) idx[i] = i;
        let nFeat = nf;
        if (nUse < nf) {
          featRng.sample(nf, nUse, features);
          nFeat = nUse;
        } else features.set(allFeatures);
        const gc = g.subarray(c * n, (c + 1) * n);
        const hc = h.subarray(c * n, (c + 1) * n);
        const t = grower.grow(bagRows ? nBagWanted : n, !bagRows, features, nFeat, gc, hc, c);
        if (t.numLeaves > 1) anySplit = true;
        const nodes = t.feature.length;
        const values = new Float64Array(nodes);
        for (let l = 0; l < t.numLeaves; l++) {
          let v: number;
          if (residuals) {
            // LightGBM re-fits L1 leaves to the median residual of their rows.
            const s = t.leafStart[l];
            const e = t.leafEnd[l];
            const res = residuals.subarray(0, e - s);
            const lw = w ? new Float64Array(e - s) : null;
            for (let i = s; i < e; i++) {
              const row = idx[i];
              res[i - s] = y[row] - (base[0] + acc[row]);
              if (lw) lw[i - s] = w![row];
            }
            v = weightedMedian(res, lw);
          } else v = leafOutput(t.leafG[l], t.leafH[l], r.lambdaL1, r.lambdaL2);
          values[t.leafNode[l]] = v * r.learningRate;
        }
        // A tree that could not split adds nothing (LightGBM keeps such trees constant at 0).
        if (t.numLeaves === 1) values.fill(0);
        const off = c * n;
        if (bagRows) addTreeBinned(t, values, data, acc, off);
        else {
          for (let l = 0; l < t.numLeaves; l++) {
            const v = values[t.leafNode[l]];
            for (let i = t.leafStart[l], e = t.leafEnd[l]; i < e; i++) acc[off + idx[i]] += v;
          }
        }
        if (vacc) addTreeRaw(t, values, vcols, vacc, c * vy!.length);
        iterTrees.push({
          outputs: [c],
          feature: t.feature,
          threshold: t.threshold,
          left: t.left,
          right: t.right,
          defaultLeft: t.defaultLeft,
          value: Array.from(values),
          gain: t.gain,
          count: t.count,
        });
      }
      if (!anySplit) break; // LightGBM stops when no tree of an iteration can split
      trees.push(...iterTrees);
      done = it + 1;
      pending = { iteration: done };
      if (vacc) pending.validLoss = objective.loss(base, vacc, vy!, vw);
      const info = pending;
      if (info.validLoss !== undefined && r.earlyStoppingRounds > 0) {
        if (info.validLoss < bestLoss) {
          bestLoss = info.validLoss;
          bestIter = done;
        } else if (done - bestIter >= r.earlyStoppingRounds) {
          break;
        }
      }
    }
    if (pending) report(pending, objective.loss(base, acc, y, w));
  } finally {
    builder.close();
  }
  const bestIteration = r.earlyStoppingRounds > 0 && bestIter > 0 ? bestIter : done;
  trees.length = bestIteration * k;

  const gain = new Array<number>(nf).fill(0);
  const split = new Array<number>(nf).fill(0);
  trees.forEach((t) =>
    t.feature.forEach((f, node) => {
      if (f >= 0) {
        gain[f] += t.gain![node];
        split[f]++;
      }
    }),
  );
  const params: Record<string, number | string> = { ...r };
  if (r.objective !== 'multiclass') delete params.numClass;
  if (r.objective !== 'huber') delete params.huberDelta;
  const model: TreeEnsembleModel = {
    kind: 'treeEnsemble',
    featureNames: [...featureNames],
    task: r.objective === 'binary' ? 'binary' : r.objective === 'multiclass' ? 'multiclass' : 'regression',
    nOutputs: k,
    baseScore: base,
    aggregate: 'sum',
    postTransform: r.objective === 'binary' ? 'logistic' : r.objective === 'multiclass' ? 'softmax' : 'none',
    trees,
    algorithm: 'gbt',
    params,
  };
  if (r.objective === 'binary') model.classes = [0, 1];
  if (r.objective === 'multiclass') model.classes = Array.from({ length: k }, (_, c) => c);
  return { model, bestIteration, history, featureImportance: { gain, split } };
}
