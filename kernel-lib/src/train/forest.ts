/**
 * Random forests, following scikit-learn's `RandomForestClassifier` / `RandomForestRegressor`:
 * the same defaults (100 trees, bootstrap, max_features 'sqrt' for classification and all
 * features for regression, gini / squared error, fully grown trees with min_samples_split 2 and
 * min_samples_leaf 1), exact CART splits, the out-of-bag score and impurity-decrease feature
 * importances normalised the same way.
 *
 * Features are compared as float32 (train/tree-ensemble.ts): every column is rounded to float32
 * before training, and a threshold is a float32 value between two adjacent distinct float32
 * values, so `Math.fround(x) <= threshold` separates the training rows exactly as the split
 * search saw them, in TypeScript and in the compiled ONNX graph alike.
 *
 * Missing values (NaN) are handled like scikit-learn >= 1.4 trees: at a node where the feature
 * has missing training values, each threshold is tried with the missing rows sent left and
 * right, plus the split "non-missing left, missing right", and the best is kept (`defaultLeft`
 * records the side). Where the node saw no missing values for the chosen feature, NaN goes to
 * the child with more training rows.
 *
 * Trees can be grown on worker threads (`threads`); each tree's random stream depends only on
 * the seed and the tree's index, so the forest is identical whatever the thread count.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { DecisionTree, TreeEnsembleModel } from './types';

/** Options for {@link fitRandomForest}; defaults are scikit-learn's. */
export interface RandomForestOptions {
  /** Feature names, one per column, in column order. */
  featureNames: string[];
  /** Column-major training features; NaN means missing. Compared as float32. */
  columns: Float64Array[];
  /**
   * Targets, one per row. Classification: any numeric labels (the model's `classes` are the
   * distinct labels sorted); regression: real values. NaN is an error.
   */
  y: ArrayLike<number>;
  task: 'classification' | 'regression';
  /** Number of trees; default 100. */
  nEstimators?: number;
  /** Maximum depth (root = depth 0); default unlimited. */
  maxDepth?: number;
  /** A node with fewer (distinct in-bag) rows is a leaf; default 2. */
  minSamplesSplit?: number;
  /** Each child keeps at least this many (distinct in-bag) rows; default 1. */
  minSamplesLeaf?: number;
  /**
   * Features tried per split: 'sqrt' or 'log2' of the feature count, or a fraction in (0, 1]
   * of it (at least 1). Default 'sqrt' for classification, 1 (all) for regression.
   */
  maxFeatures?: 'sqrt' | 'log2' | number;
  /** Grow each tree on a bootstrap sample (n draws with replacement); default true. */
  bootstrap?: boolean;
  /** Compute the out-of-bag score (accuracy or R2); needs bootstrap. Default false. */
  oobScore?: boolean;
  /** Random seed; default 0. The same seed gives the same forest whatever `threads` is. */
  seed?: number;
  /** Worker threads growing trees; default 1 (grow in this thread). */
  threads?: number;
  /** Non-negative weight per row; default 1. Multiplies the bootstrap counts. */
  sampleWeight?: ArrayLike<number>;
  /** Called after each finished tree. */
  onTree?: (done: number, total: number) => void;
}

/** What {@link fitRandomForest} returns. */
export interface RandomForestResult {
  model: TreeEnsembleModel;
  /** Out-of-bag accuracy (classification) or R2 (regression), when `oobScore` was asked for. */
  oobScore?: number;
  /** Mean impurity decrease per feature (scikit-learn's `feature_importances_`), summing to 1. */
  featureImportance: number[];
}

/** The data and parameters a tree grower needs; typed arrays only, so it can be shared with workers. */
interface KernelData {
  n: number;
  f: number;
  /** Float32 feature columns (NaN = missing). */
  x: Float32Array[];
  /** Number of classes (classification) or 0 (regression). */
  k: number;
  /** Class index per row (classification). */
  yClass: Int32Array;
  /** Target per row (regression). */
  yReg: Float64Array;
  weight: Float64Array;
  /** 1 for columns with a missing value. */
  hasNaN: Uint8Array;
  maxFeatures: number;
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  bootstrap: boolean;
  seed: number;
}

/** One grown tree as typed arrays (`value` has `m` numbers per node: 1, or k for multiclass). */
interface GrownTree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  value: Float64Array;
  gain: Float64Array;
  count: Float64Array;
  /** 1 for rows in the tree's bootstrap sample. */
  inBag: Uint8Array;
}

/**
 * Grows tree `treeIndex` of a forest. Self-contained on purpose (no reference to anything
 * outside its body): worker threads receive its source text, which works the same from the
 * TypeScript sources under vitest and from the compiled dist.
 */
function growTree(d: KernelData, treeIndex: number): GrownTree {
  const FLT_MAX = 3.4028234663852886e38;
  const EPSILON = 2.220446049250313e-16;
  const { n, f, x, k, yClass, yReg, weight } = d;
  const classification = k > 0;
  const m = classification && k > 2 ? k : 1;
  const kk = classification ? k : 1;

  // Random stream: splitmix32-hash the seed with the tree index, then mulberry32.
  let h = (Math.imul(d.seed | 0, 0x9e3779b1) ^ Math.imul(treeIndex + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97) >>> 0;
  let state = (h ^ (h >>> 15)) >>> 0;
  const rand = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  // Bootstrap: the in-bag weight of a row is its draw count times its sample weight.
  const w = new Float64Array(n);
  const inBag = new Uint8Array(n);
  if (d.bootstrap) {
    for (let i = 0; i < n; i++) w[Math.floor(rand() * n)] += 1;
    for (let i = 0; i < n; i++) w[i] *= weight[i];
  } else w.set(weight);
  let ns = 0;
  for (let i = 0; i < n; i++) if (w[i] > 0) ns++;
  if (ns === 0) {
    // Only zero-weight rows were drawn: grow this tree on all weighted rows instead.
    w.set(weight);
    for (let i = 0; i < n; i++) if (w[i] > 0) ns++;
  }
  const samples = new Int32Array(ns);
  for (let i = 0, p = 0; i < n; i++)
    if (w[i] > 0) {
      samples[p++] = i;
      inBag[i] = 1;
    }

  const cap = Math.max(1, 2 * ns - 1);
  const feature = new Int32Array(cap).fill(-1);
  const threshold = new Float32Array(cap);
  const left = new Int32Array(cap).fill(-1);
  const right = new Int32Array(cap).fill(-1);
  const defaultLeft = new Uint8Array(cap);
  const value = new Float64Array(cap * m);
  const gain = new Float64Array(cap);
  const count = new Float64Array(cap);
  let nodeCount = 0;

  const xf = new Float32Array(ns);
  const hasNaN = d.hasNaN;
  const feats = Int32Array.from({ length: f }, (_, j) => j);
  // Weighted class counts: the node's, its missing rows', the left (non-missing prefix) side's.
  const tot = new Float64Array(kk);
  const mis = new Float64Array(kk);
  const lft = new Float64Array(kk);

  /** Sorts xf[lo, hi) ascending, permuting samples alike (quicksort, 3-way partition). */
  const sort = (lo: number, hi: number): void => {
    while (hi - lo > 16) {
      const a = xf[lo];
      const b = xf[(lo + hi) >> 1];
      const c = xf[hi - 1];
      const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
      let lt = lo;
      let gt = hi - 1;
      let i = lo;
      while (i <= gt) {
        const v = xf[i];
        if (v < pivot) {
          const s = samples[i];
          xf[i] = xf[lt];
          samples[i] = samples[lt];
          xf[lt] = v;
          samples[lt] = s;
          lt++;
          i++;
        } else if (v > pivot) {
          const s = samples[i];
          xf[i] = xf[gt];
          samples[i] = samples[gt];
          xf[gt] = v;
          samples[gt] = s;
          gt--;
        } else i++;
      }
      // Recurse on the smaller side, loop on the larger: O(log n) stack.
      if (lt - lo < hi - gt - 1) {
        sort(lo, lt);
        lo = gt + 1;
      } else {
        sort(gt + 1, hi);
        hi = lt;
      }
    }
    for (let i = lo + 1; i < hi; i++) {
      const v = xf[i];
      const s = samples[i];
      let j = i - 1;
      while (j >= lo && xf[j] > v) {
        xf[j + 1] = xf[j];
        samples[j + 1] = samples[j];
        j--;
      }
      xf[j + 1] = v;
      samples[j + 1] = s;
    }
  };

  // Large segments: LSD radix sort (4 passes of 8 bits) on each value's order-preserving
  // 32-bit key, O(n) instead of O(n log n); a pass is skipped when all keys share its digit.
  const RADIX = 256;
  const hist = new Int32Array(4 * RADIX);
  const keysA = new Uint32Array(ns);
  const keysB = new Uint32Array(ns);
  const idxA = new Int32Array(ns);
  const idxB = new Int32Array(ns);
  const bits = new Uint32Array(xf.buffer);
  const sortSegment = (lo: number, hi: number): void => {
    const len = hi - lo;
    if (len < 128) {
      sort(lo, hi);
      return;
    }
    hist.fill(0);
    for (let p = lo; p < hi; p++) {
      const b = bits[p];
      // Negative floats: flip all bits; positive: set the sign bit.
      const key = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
      keysA[p - lo] = key;
      idxA[p - lo] = samples[p];
      hist[key & 255]++;
      hist[RADIX + ((key >>> 8) & 255)]++;
      hist[2 * RADIX + ((key >>> 16) & 255)]++;
      hist[3 * RADIX + (key >>> 24)]++;
    }
    let srcK = keysA;
    let srcI = idxA;
    let dstK = keysB;
    let dstI = idxB;
    for (let pass = 0; pass < 4; pass++) {
      const shift = pass * 8;
      const off = pass * RADIX;
      if (hist[off + ((srcK[0] >>> shift) & 255)] === len) continue;
      for (let bucket = 0, sum = 0; bucket < RADIX; bucket++) {
        const c = hist[off + bucket];
        hist[off + bucket] = sum;
        sum += c;
      }
      for (let q = 0; q < len; q++) {
        const key = srcK[q];
        const at = hist[off + ((key >>> shift) & 255)]++;
        dstK[at] = key;
        dstI[at] = srcI[q];
      }
      const tk = srcK;
      srcK = dstK;
      dstK = tk;
      const ti = srcI;
      srcI = dstI;
      dstI = ti;
    }
    for (let q = 0; q < len; q++) {
      const key = srcK[q];
      samples[lo + q] = srcI[q];
      bits[lo + q] = key & 0x80000000 ? (key ^ 0x80000000) >>> 0 : ~key >>> 0;
    }
  };

  // Depth-first growth; a node's id is assigned when it is popped, so children follow parents.
  const stack: number[] = [0, ns, 0, -1, 0]; // start, end, depth, parent, isLeft
  while (stack.length > 0) {
    const isLeft = stack.pop()!;
    const parent = stack.pop()!;
    const depth = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const node = nodeCount++;
    if (parent >= 0) {
      if (isLeft) left[parent] = node;
      else right[parent] = node;
    }

    // Node statistics, its value and impurity.
    let wN = 0;
    let sum = 0;
    let sumSq = 0;
    tot.fill(0);
    for (let p = start; p < end; p++) {
      const i = samples[p];
      const wi = w[i];
      wN += wi;
      if (classification) tot[yClass[i]] += wi;
      else {
        sum += wi * yReg[i];
        sumSq += wi * yReg[i] * yReg[i];
      }
    }
    let impurity: number;
    if (classification) {
      let sq = 0;
      for (let c = 0; c < k; c++) sq += tot[c] * tot[c];
      impurity = 1 - sq / (wN * wN);
      if (m === 1) value[node] = tot[1] / wN;
      else for (let c = 0; c < k; c++) value[node * m + c] = tot[c] / wN;
    } else {
      const mean = sum / wN;
      impurity = Math.max(0, sumSq / wN - mean * mean);
      value[node] = mean;
    }
    count[node] = wN;
    if (parent >= 0) gain[parent] -= wN * impurity;
    const nN = end - start;
    if (depth >= d.maxDepth || nN < d.minSamplesSplit || nN < 2 * d.minSamplesLeaf || impurity <= EPSILON) continue;

    // The best split over maxFeatures features drawn without replacement, drawing on while all
    // drawn so far were constant (scikit-learn's rule).
    let bestProxy = -Infinity;
    let bestFeature = -1;
    // The split lies between the adjacent distinct values bestLo < bestHi (Infinity: the
    // split "non-missing left, missing right").
    let bestLo = 0;
    let bestHi = 0;
    let bestMissingLeft = false;
    const minLeaf = d.minSamplesLeaf;
    let visited = 0;
    for (let drawn = 0; drawn < f && (drawn < d.maxFeatures || visited === 0); drawn++) {
      const r = drawn + Math.floor(rand() * (f - drawn));
      const j = feats[r];
      feats[r] = feats[drawn];
      feats[drawn] = j;
      const col = x[j];
      // Copy the feature, moving missing rows to the end.
      let endNon = end;
      if (!hasNaN[j]) for (let p = start; p < end; p++) xf[p] = col[samples[p]];
      else
        for (let p = start; p < endNon;) {
          const v = col[samples[p]];
          if (v !== v) {
            endNon--;
            const s = samples[p];
            samples[p] = samples[endNon];
            samples[endNon] = s;
          } else {
            xf[p] = v;
            p++;
          }
        }
      const nMissing = end - endNon;
      if (endNon === start) continue; // all missing: constant
      sortSegment(start, endNon);
      if (xf[endNon - 1] === xf[start] && nMissing === 0) continue; // constant
      visited++;

      // Missing-row totals.
      let wM = 0;
      let sM = 0;
      if (nMissing > 0) {
        mis.fill(0);
        for (let p = endNon; p < end; p++) {
          const i = samples[p];
          wM += w[i];
          if (classification) mis[yClass[i]] += w[i];
          else sM += w[i] * yReg[i];
        }
      }
      // Scan thresholds left to right; L = non-missing prefix.
      lft.fill(0);
      let wL = 0;
      let sL = 0;
      // Classification: sq* are sums of squared class weights, kept incrementally.
      let sqL = 0; // sum_c L_c^2
      let crossLM = 0; // sum_c L_c M_c
      let sqRa = 0; // sum_c (T_c - L_c)^2, the right side when missing rows go right (T = node totals)
      let sqRb = 0; // sum_c (T_c - M_c - L_c)^2, the right side when they go left
      let sqM = 0; // sum_c M_c^2
      if (classification) {
        for (let c = 0; c < k; c++) {
          sqRa += tot[c] * tot[c];
          const nm = tot[c] - (nMissing > 0 ? mis[c] : 0);
          sqRb += nm * nm;
          if (nMissing > 0) sqM += mis[c] * mis[c];
        }
      }
      for (let p = start; p < endNon; p++) {
        const i = samples[p];
        const wi = w[i];
        if (classification) {
          const c = yClass[i];
          const lc = lft[c];
          const rc = tot[c] - lc;
          const rcb = rc - (nMissing > 0 ? mis[c] : 0);
          sqL += wi * (2 * lc + wi);
          sqRa += wi * (wi - 2 * rc);
          sqRb += wi * (wi - 2 * rcb);
          if (nMissing > 0) crossLM += wi * mis[c];
          lft[c] = lc + wi;
        } else sL += wi * yReg[i];
        wL += wi;
        const nL = p + 1 - start;
        const last = p + 1 === endNon;
        if (!last && xf[p + 1] === xf[p]) continue;
        if (last && nMissing === 0) break;
        // Missing rows right (also the "non-missing left, missing right" split when last).
        const nRa = end - start - nL;
        if (nL >= minLeaf && nRa >= minLeaf) {
          const wR = wN - wL;
          let proxy: number;
          if (classification) proxy = sqL / wL + sqRa / wR;
          else {
            const sR = sum - sL;
            proxy = (sL * sL) / wL + (sR * sR) / wR;
          }
          if (proxy > bestProxy) {
            bestProxy = proxy;
            bestFeature = j;
            bestLo = xf[p];
            bestHi = last ? Infinity : xf[p + 1];
            bestMissingLeft = nMissing > 0 ? false : nL > nRa;
          }
        }
        // Missing rows left.
        if (nMissing > 0 && !last) {
          const nLb = nL + nMissing;
          const nRb = endNon - p - 1;
          if (nLb >= minLeaf && nRb >= minLeaf) {
            const wLb = wL + wM;
            const wRb = wN - wLb;
            let proxy: number;
            if (classification) proxy = (sqL + 2 * crossLM + sqM) / wLb + sqRb / wRb;
            else {
              const sLb = sL + sM;
              const sRb = sum - sLb;
              proxy = (sLb * sLb) / wLb + (sRb * sRb) / wRb;
            }
            if (proxy > bestProxy) {
              bestProxy = proxy;
              bestFeature = j;
              bestLo = xf[p];
              bestHi = xf[p + 1];
              bestMissingLeft = true;
            }
          }
        }
      }
    }
    if (bestFeature < 0) continue;
    // A float32 threshold with bestLo <= t < bestHi: the rounded midpoint, or bestLo when the
    // midpoint rounds up to bestHi (adjacent float32 values).
    const mid = Math.fround((bestLo + bestHi) / 2);
    const bestThreshold = bestHi === Infinity ? FLT_MAX : mid < bestHi ? mid : bestLo;

    // Partition the node's rows by the best split.
    const col = x[bestFeature];
    let i0 = start;
    let i1 = end;
    while (i0 < i1) {
      const v = col[samples[i0]];
      if (v !== v ? bestMissingLeft : v <= bestThreshold) i0++;
      else {
        i1--;
        const s = samples[i0];
        samples[i0] = samples[i1];
        samples[i1] = s;
      }
    }
    feature[node] = bestFeature;
    threshold[node] = bestThreshold;
    defaultLeft[node] = bestMissingLeft ? 1 : 0;
    gain[node] = wN * impurity;
    // Right pushed first so the left subtree is grown (and numbered) first.
    stack.push(i0, end, depth + 1, node, 0, start, i0, depth + 1, node, 1);
  }
  return {
    feature: feature.slice(0, nodeCount),
    threshold: threshold.slice(0, nodeCount),
    left: left.slice(0, nodeCount),
    right: right.slice(0, nodeCount),
    defaultLeft: defaultLeft.slice(0, nodeCount),
    value: value.slice(0, nodeCount * m),
    gain: gain.slice(0, nodeCount),
    count: count.slice(0, nodeCount),
    inBag,
  };
}

/**
 * The worker program: compiles growTree from its source text, then grows the trees whose
 * indices it takes from a shared counter. `sync` holds [events, exited workers, next tree]; every
 * event (a tree, an error, an exit) bumps sync[0] and wakes the blocked main thread.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { source, data, nTrees, sync, port } = workerData;
const signal = () => { Atomics.add(sync, 0, 1); Atomics.notify(sync, 0); };
process.on('exit', () => { Atomics.add(sync, 1, 1); signal(); });
try {
  const growTree = (0, eval)('(' + source + ')');
  for (;;) {
    const i = Atomics.add(sync, 2, 1);
    if (i >= nTrees) break;
    const t = growTree(data, i);
    const arrays = [t.feature, t.threshold, t.left, t.right, t.defaultLeft, t.value, t.gain, t.count, t.inBag];
    port.postMessage({ i, t }, arrays.map((a) => a.buffer));
    signal();
  }
} catch (e) {
  port.postMessage({ error: String((e && e.stack) || e) });
  signal();
}
port.close();
`;

/** Copies a typed array into shared memory, so workers read it without a copy each. */
function shared<T extends Float32Array | Float64Array | Int32Array>(a: T): T {
  const Ctor = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/**
 * Grows all trees on `threads` worker threads and returns them by index. Blocks this thread
 * (Atomics.wait + receiveMessageOnPort) so that fitRandomForest stays synchronous.
 */
function growInWorkers(data: KernelData, nTrees: number, threads: number, onTree: (done: number) => void): GrownTree[] {
  const sharedData: KernelData = {
    ...data,
    x: data.x.map(shared),
    yClass: shared(data.yClass),
    yReg: shared(data.yReg),
    weight: shared(data.weight),
    hasNaN: data.hasNaN,
  };
  const sync = new Int32Array(new SharedArrayBuffer(12));
  const source = growTree.toString();
  const workers: Worker[] = [];
  const ports: MessagePort[] = [];
  const out: GrownTree[] = new Array<GrownTree>(nTrees);
  try {
    for (let t = 0; t < Math.min(threads, nTrees); t++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      workers.push(
        new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { source, data: sharedData, nTrees, sync, port: port2 },
          transferList: [port2],
        }),
      );
    }
    let received = 0;
    const drain = (): void => {
      for (const port of ports) {
        for (let msg = receiveMessageOnPort(port); msg; msg = receiveMessageOnPort(port)) {
          const body = msg.message as { i: number; t: GrownTree } | { error: string };
          if ('error' in body) throw new Error(`fitRandomForest: a worker thread failed: ${body.error}`);
          out[body.i] = body.t;
          onTree(++received);
        }
      }
    };
    for (;;) {
      const seen = Atomics.load(sync, 0);
      const exited = Atomics.load(sync, 1);
      drain();
      if (received === nTrees) break;
      // Every worker has exited, so all their messages were already queued: none is coming.
      if (exited === workers.length)
        throw new Error(`fitRandomForest: the worker threads exited after ${received} of ${nTrees} trees`);
      // Sleep until a worker reports; the timeout only guards against a missed wake-up.
      Atomics.wait(sync, 0, seen, 1000);
    }
  } finally {
    for (const port of ports) port.close();
    for (const w of workers) void w.terminate();
  }
  return out;
}

/** The row weights (default 1), checked: finite, >= 0, not all 0. */
function sampleWeights(fn: string, sampleWeight: ArrayLike<number> | undefined, n: number): Float64Array {
  if (!sampleWeight) return new Float64Array(n).fill(1);
  if (sampleWeight.length !== n)
    throw new Error(`${fn}: sampleWeight has ${sampleWeight.length} entries but y has ${n}`);
  const w = Float64Array.from(sampleWeight);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!(w[i] >= 0) || !Number.isFinite(w[i]))
      throw new Error(`${fn}: sampleWeight at row ${i} is ${w[i]}; weights must be finite and >= 0`);
    sum += w[i];
  }
  if (!(sum > 0)) throw new Error(`${fn}: sampleWeight sums to 0; at least one row needs a positive weight`);
  return w;
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

/**
 * Fits a random forest (scikit-learn's `RandomForestClassifier` / `RandomForestRegressor`
 * semantics and defaults; see the module comment for splits, missing values and threads).
 *
 * Classification with two classes gives a `binary` model whose single output is P(y =
 * classes[1]) (the average over trees of the class-1 fraction in the reached leaf); with more
 * classes a `multiclass` model whose trees carry the class-fraction vector of each leaf;
 * regression averages the leaf means. All use aggregate 'average' and no post-transform, so
 * the model compiles to ONNX (compilePipeline) and predicts with predictTreeEnsemble.
 *
 * Throws, naming the option, on: feature names not matching the columns, columns of different
 * lengths, infinite feature values (NaN is fine: it means missing), a NaN or infinite target,
 * a single class, bad nEstimators / maxDepth / minSamplesSplit / minSamplesLeaf / maxFeatures /
 * threads / sampleWeight, or oobScore without bootstrap.
 *
 * @example
 * ```ts
 * import { fitRandomForest, predictTreeEnsemble } from '@plinth/kernel-lib';
 * const { model, oobScore, featureImportance } = fitRandomForest({
 *   featureNames: ['age', 'income'],
 *   columns: [Float64Array.from([25, 32, 47, 51, NaN, 38]), Float64Array.from([30e3, 42e3, 88e3, 61e3, 52e3, 45e3])],
 *   y: [0, 0, 1, 1, 1, 0],
 *   task: 'classification',
 *   nEstimators: 50,
 *   oobScore: true,
 *   seed: 42,
 * });
 * predictTreeEnsemble(model, [Float64Array.from([40]), Float64Array.from([70e3])]).probability; // P(y = 1)
 * ```
 */
export function fitRandomForest(opts: RandomForestOptions): RandomForestResult {
  const fn = 'fitRandomForest';
  const { featureNames, columns, task } = opts;
  if (task !== 'classification' && task !== 'regression')
    throw new Error(`${fn}: task must be 'classification' or 'regression', got ${JSON.stringify(task)}`);
  if (!Array.isArray(featureNames) || !Array.isArray(columns) || featureNames.length !== columns.length)
    throw new Error(
      `${fn}: featureNames has ${featureNames?.length} names but columns has ${columns?.length} columns; they must match one to one`,
    );
  const f = columns.length;
  if (f === 0) throw new Error(`${fn}: columns is empty; a forest needs at least one feature`);
  const n = opts.y.length;
  if (n === 0) throw new Error(`${fn}: y is empty; a forest needs at least one row`);
  const x = columns.map((col, j) => {
    if (col.length !== n)
      throw new Error(`${fn}: columns[${j}] ('${featureNames[j]}') has ${col.length} rows but y has ${n}`);
    const c = Float32Array.from(col);
    for (let i = 0; i < n; i++) {
      if (c[i] === Infinity || c[i] === -Infinity)
        throw new Error(
          `${fn}: columns[${j}] ('${featureNames[j]}') row ${i} is ${col[i]}, which is infinite as float32; use NaN for missing values`,
        );
    }
    return c;
  });
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(opts.y[i]))
      throw new Error(`${fn}: y[${i}] is ${opts.y[i]}; targets must be finite numbers (drop rows without a label)`);
  }

  const nEstimators = opts.nEstimators ?? 100;
  if (!isPositiveInteger(nEstimators))
    throw new Error(`${fn}: nEstimators must be a positive integer, got ${nEstimators}`);
  const maxDepth = opts.maxDepth ?? Infinity;
  if (maxDepth !== Infinity && !isPositiveInteger(maxDepth))
    throw new Error(`${fn}: maxDepth must be a positive integer (or omitted for no limit), got ${maxDepth}`);
  const minSamplesSplit = opts.minSamplesSplit ?? 2;
  if (!isPositiveInteger(minSamplesSplit) || minSamplesSplit < 2)
    throw new Error(`${fn}: minSamplesSplit must be an integer >= 2, got ${minSamplesSplit}`);
  const minSamplesLeaf = opts.minSamplesLeaf ?? 1;
  if (!isPositiveInteger(minSamplesLeaf))
    throw new Error(`${fn}: minSamplesLeaf must be a positive integer, got ${minSamplesLeaf}`);
  const mf = opts.maxFeatures ?? (task === 'classification' ? 'sqrt' : 1);
  let maxFeatures: number;
  if (mf === 'sqrt') maxFeatures = Math.max(1, Math.floor(Math.sqrt(f)));
  else if (mf === 'log2') maxFeatures = Math.max(1, Math.floor(Math.log2(f)));
  else if (typeof mf === 'number' && mf > 0 && mf <= 1) maxFeatures = Math.max(1, Math.floor(mf * f));
  else
    throw new Error(
      `${fn}: maxFeatures must be 'sqrt', 'log2' or a fraction in (0, 1] of the features, got ${JSON.stringify(mf)}`,
    );
  const bootstrap = opts.bootstrap ?? true;
  const wantOob = opts.oobScore ?? false;
  if (wantOob && !bootstrap) throw new Error(`${fn}: oobScore needs bootstrap (out-of-bag rows exist only then)`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`${fn}: seed must be an integer, got ${seed}`);
  const threads = opts.threads ?? 1;
  if (!isPositiveInteger(threads)) throw new Error(`${fn}: threads must be a positive integer, got ${threads}`);
  const weight = sampleWeights(fn, opts.sampleWeight, n);

  let classes: number[] | undefined;
  const yClass = new Int32Array(task === 'classification' ? n : 0);
  const yReg = new Float64Array(task === 'regression' ? n : 0);
  if (task === 'classification') {
    classes = [...new Set(Array.from({ length: n }, (_, i) => opts.y[i]))].sort((a, b) => a - b);
    if (classes.length < 2)
      throw new Error(`${fn}: y has a single class (${classes[0]}); classification needs at least two`);
    const index = new Map(classes.map((c, ci) => [c, ci]));
    for (let i = 0; i < n; i++) yClass[i] = index.get(opts.y[i])!;
  } else for (let i = 0; i < n; i++) yReg[i] = opts.y[i];
  const k = classes?.length ?? 0;

  const data: KernelData = {
    n,
    f,
    x,
    k,
    yClass,
    yReg,
    weight,
    hasNaN: Uint8Array.from(x, (c) => (c.some((v) => v !== v) ? 1 : 0)),
    maxFeatures,
    maxDepth,
    minSamplesSplit,
    minSamplesLeaf,
    bootstrap,
    seed,
  };
  const report = (done: number): void => opts.onTree?.(done, nEstimators);
  let grown: GrownTree[];
  if (threads > 1 && nEstimators > 1) grown = growInWorkers(data, nEstimators, threads, report);
  else {
    grown = [];
    for (let t = 0; t < nEstimators; t++) {
      grown.push(growTree(data, t));
      report(t + 1);
    }
  }

  const nOutputs = k > 2 ? k : 1;
  const outputs = Array.from({ length: nOutputs }, (_, o) => o);
  const trees: DecisionTree[] = grown.map((t) => ({
    outputs,
    feature: Array.from(t.feature),
    threshold: Array.from(t.threshold),
    left: Array.from(t.left),
    right: Array.from(t.right),
    defaultLeft: Array.from(t.defaultLeft, (v) => v === 1),
    value: Array.from(t.value),
    gain: Array.from(t.gain),
    count: Array.from(t.count),
  }));
  const model: TreeEnsembleModel = {
    kind: 'treeEnsemble',
    featureNames: [...featureNames],
    task: task === 'regression' ? 'regression' : k === 2 ? 'binary' : 'multiclass',
    ...(classes ? { classes } : {}),
    nOutputs,
    baseScore: new Array<number>(nOutputs).fill(0),
    aggregate: 'average',
    postTransform: 'none',
    trees,
    algorithm: 'randomForest',
    params: {
      task,
      nEstimators,
      maxDepth: maxDepth === Infinity ? null : maxDepth,
      minSamplesSplit,
      minSamplesLeaf,
      maxFeatures: mf,
      bootstrap,
      seed,
    },
  };
  const result: RandomForestResult = { model, featureImportance: importance(grown, f) };
  if (wantOob) result.oobScore = outOfBagScore(grown, data, nOutputs);
  return result;
}

/** scikit-learn's feature_importances_: per-tree normalised impurity decrease, averaged, normalised. */
function importance(grown: GrownTree[], f: number): number[] {
  const total = new Float64Array(f);
  let used = 0;
  for (const t of grown) {
    if (t.feature.length <= 1) continue;
    const imp = new Float64Array(f);
    for (let node = 0; node < t.feature.length; node++) if (t.feature[node] >= 0) imp[t.feature[node]] += t.gain[node];
    let s = 0;
    for (let j = 0; j < f; j++) s += imp[j] /= t.count[0];
    for (let j = 0; j < f; j++) total[j] += s > 0 ? imp[j] / s : imp[j];
    used++;
  }
  let s = 0;
  for (let j = 0; j < f; j++) s += total[j] /= Math.max(used, 1);
  return Array.from(total, (v) => (s > 0 ? v / s : v));
}

/**
 * Out-of-bag accuracy (classification: the class of the highest mean out-of-bag probability)
 * or R2 (regression), over the rows that are out of bag for at least one tree.
 */
function outOfBagScore(grown: GrownTree[], d: KernelData, m: number): number {
  const { n, x, k } = d;
  const sum = new Float64Array(n * m);
  const seen = new Int32Array(n);
  for (const t of grown) {
    for (let i = 0; i < n; i++) {
      if (t.inBag[i]) continue;
      let node = 0;
      while (t.feature[node] >= 0) {
        const v = x[t.feature[node]][i];
        node = (v !== v ? t.defaultLeft[node] === 1 : v <= t.threshold[node]) ? t.left[node] : t.right[node];
      }
      for (let o = 0; o < m; o++) sum[i * m + o] += t.value[node * m + o];
      seen[i]++;
    }
  }
  let rows = 0;
  if (k > 0) {
    let correct = 0;
    for (let i = 0; i < n; i++) {
      if (seen[i] === 0) continue;
      rows++;
      let best: number;
      if (m === 1) best = sum[i] / seen[i] > 0.5 ? 1 : 0;
      else {
        best = 0;
        for (let o = 1; o < m; o++) if (sum[i * m + o] > sum[i * m + best]) best = o;
      }
      if (best === d.yClass[i]) correct++;
    }
    return rows > 0 ? correct / rows : NaN;
  }
  let mean = 0;
  for (let i = 0; i < n; i++)
    if (seen[i] > 0) {
      mean += d.yReg[i];
      rows++;
    }
  mean /= rows;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    if (seen[i] === 0) continue;
    const e = d.yReg[i] - sum[i] / seen[i];
    ssRes += e * e;
    ssTot += (d.yReg[i] - mean) ** 2;
  }
  return rows > 0 ? 1 - ssRes / ssTot : NaN;
}
