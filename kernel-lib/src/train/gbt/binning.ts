/**
 * Feature binning: every feature value becomes a small integer (its bin), so that histograms of
 * gradients per bin replace sorting at every split (LightGBM's approach).
 *
 * Values are compared as float32, like the predictors do. Bin b of a feature holds the values x
 * with `upper[b-1] < x <= upper[b]`, where the `upper` bounds are float32 values; a split "bin <=
 * b" therefore equals the model's rule `Math.fround(x) <= upper[b]` for every value, seen in the
 * bin sample or not. Missing values (NaN) get one extra bin, the last, when the training column
 * has any.
 */
import { Rng } from './random';

/** The largest finite float32: the upper bound of the last numeric bin. */
export const MAX_FLOAT32 = 3.4028234663852886e38;

/** LightGBM's `min_data_in_bin` default: a bin holds at least this many sampled values. */
export const MIN_DATA_IN_BIN = 3;

/** Binned training features (column-major). */
export interface BinnedFeatures {
  /** Rows. */
  n: number;
  /** bins[f][i]: the bin of row i for feature f. */
  bins: Uint8Array[];
  /** Bins of feature f, the NaN bin included. */
  numBins: Int32Array;
  /** The NaN bin of feature f (its last bin), or -1 when the training column has no NaN. */
  nanBin: Int32Array;
  /** upper[f][b]: the float32 upper bound of numeric bin b (the last one is {@link MAX_FLOAT32}). */
  upper: Float64Array[];
  /** Where feature f starts in a flat histogram, in bins: f * 256 (a fixed stride, see histogram.ts). */
  offset: Int32Array;
  /** The length of a flat histogram, in bins. */
  totalBins: number;
  /** The same bins row-major: rows[i * nf + f] (nf = bins.length). */
  rows: Uint8Array;
}

/** Histogram slots per feature: the most bins a feature can have. */
export const MAX_BINS = 256;

/**
 * Upper bounds of at most `maxBins` bins over sorted float32 values (no NaN), each bin holding at
 * least `minDataInBin` values (except possibly the last) and, when there are more distinct values
 * than bins, about an equal share of the values (quantile bins). A bound lies between the largest
 * value of its bin and the smallest of the next, at the float32 midpoint when one exists.
 *
 * @example
 * ```ts
 * binUpperBounds(Float64Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3]), 255, 3); // [1.5, 2.5, MAX_FLOAT32]
 * ```
 */
export function binUpperBounds(sorted: Float64Array, maxBins: number, minDataInBin: number): number[] {
  const total = sorted.length;
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < total; i++) {
    const v = sorted[i];
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1]++;
    else {
      values.push(v);
      counts.push(1);
    }
  }
  const upper: number[] = [];
  const few = values.length <= maxBins;
  let remaining = total;
  let cur = 0;
  for (let i = 0; i < values.length - 1; i++) {
    cur += counts[i];
    const binsLeft = maxBins - upper.length;
    if (binsLeft <= 1) break;
    // Quantile bins: close a bin once it holds its share of what is left.
    const target = few ? minDataInBin : Math.max(minDataInBin, remaining / binsLeft);
    if (cur >= target) {
      const a = values[i];
      const c = values[i + 1];
      let m = Math.fround((a + c) / 2);
      if (!(m >= a && m < c)) m = a;
      upper.push(m);
      remaining -= cur;
      cur = 0;
    }
  }
  upper.push(MAX_FLOAT32);
  return upper;
}

/**
 * For each 16-bit prefix p of the float32 sort key (sign-adjusted bits), the bins of the smallest
 * and the largest value with that prefix: every value with prefix p lies in bins low[p]..high[p].
 */
function prefixBins(ub: Float64Array, low: Uint8Array, high: Uint8Array): void {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const last = ub.length - 1;
  const binOf = (key: number, from: number): number => {
    u32[0] = key & 0x80000000 ? key & 0x7fffffff : ~key;
    const v = f32[0];
    let b = from;
    // NaN patterns (at both ends of the key order) compare false: they keep the bin.
    while (b < last && v > ub[b]) b++;
    return b;
  };
  let bl = 0;
  let bh = 0;
  for (let p = 0; p < 65536; p++) {
    bl = binOf((p << 16) >>> 0, bl);
    bh = Math.max(bh, bl);
    bh = binOf(((p << 16) | 0xffff) >>> 0, bh);
    low[p] = bl;
    high[p] = bh;
  }
}

/**
 * Bins the training columns: bin bounds from a seeded sample of at most `sampleCount` rows
 * (LightGBM's `bin_construct_sample_cnt`), then every row binned by binary search. At most
 * `maxBin` bins per feature, the NaN bin included. `shared`: bins in SharedArrayBuffers, for
 * worker threads.
 *
 * @example
 * ```ts
 * const b = binFeatures([Float64Array.from([0.5, NaN, 2, 7])], 255, 200000, 0);
 * b.bins[0]; // Uint8Array [0, 3, 1, 2]: three value bins and the NaN bin (3)
 * ```
 */
export function binFeatures(
  columns: Float64Array[],
  maxBin: number,
  sampleCount: number,
  seed: number,
  shared = false,
): BinnedFeatures {
  const nf = columns.length;
  const n = nf > 0 ? columns[0].length : 0;
  const rng = new Rng(seed ^ 0x5bd1e995);
  const sample = n > sampleCount ? rng.sample(n, sampleCount) : null;
  const bins: Uint8Array[] = [];
  const numBins = new Int32Array(nf);
  const nanBin = new Int32Array(nf);
  const upper: Float64Array[] = [];
  const offset = new Int32Array(nf);
  const lowBin = new Uint8Array(65536);
  const highBin = new Uint8Array(65536);
  for (let f = 0; f < nf; f++) {
    const col = new Float32Array(columns[f]); // native float32 rounding
    let hasNaN = false;
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (v !== v) {
        hasNaN = true;
        break;
      }
    }
    const m = sample ? sample.length : n;
    const vals = new Float64Array(m);
    let k = 0;
    for (let s = 0; s < m; s++) {
      const v = col[sample ? sample[s] : s];
      if (v === v) vals[k++] = v;
    }
    const sorted = vals.subarray(0, k).sort();
    const ub = Float64Array.from(binUpperBounds(sorted, hasNaN ? maxBin - 1 : maxBin, MIN_DATA_IN_BIN));
    const nb = ub.length;
    const nan = hasNaN ? nb : -1;
    const out = shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
    // A bin range per 16-bit prefix of the float32's order-preserving key narrows the search
    // to (almost always) one bin; the float comparisons below still decide.
    prefixBins(ub, lowBin, highBin);
    const bits = new Uint32Array(col.buffer, col.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (v !== v) {
        out[i] = nan;
        continue;
      }
      const u = bits[i];
      const p = (u & 0x80000000 ? ~u : u | 0x80000000) >>> 16;
      // First bin whose upper bound is >= v.
      let lo = lowBin[p];
      let hi = highBin[p];
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (v <= ub[mid]) hi = mid;
        else lo = mid + 1;
      }
      out[i] = lo;
    }
    bins.push(out);
    upper.push(ub);
    numBins[f] = hasNaN ? nb + 1 : nb;
    nanBin[f] = nan;
    offset[f] = f * MAX_BINS;
  }
  const totalBins = nf * MAX_BINS;
  // Row-major copy, transposed in blocks of rows so that reads and writes stay in cache.
  const rows = shared ? new Uint8Array(new SharedArrayBuffer(Math.max(1, n * nf))) : new Uint8Array(n * nf);
  const BLOCK = 4096;
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const i1 = Math.min(n, i0 + BLOCK);
    for (let f = 0; f < nf; f++) {
      const col = bins[f];
      for (let i = i0, o = i0 * nf + f; i < i1; i++, o += nf) rows[o] = col[i];
    }
  }
  return { n, bins, numBins, nanBin, upper, offset, totalBins, rows };
}
