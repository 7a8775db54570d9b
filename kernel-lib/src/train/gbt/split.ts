/**
 * Best split of a leaf from its gradient histogram, with LightGBM's regularised gain: a leaf
 * with gradient sum G and hessian sum H scores T(G)^2 / (H + lambdaL2), where T(G) = sign(G) *
 * max(0, |G| - lambdaL1), and outputs -T(G) / (H + lambdaL2). Missing values (the NaN bin) are
 * tried on both sides of every threshold, and alone against all values.
 *
 * Row counts per bin (for minDataInLeaf) are estimated from the hessians as LightGBM does
 * (count * binHessian / leafHessian, exact when hessians are constant) unless exact counts are
 * given; the grower checks the chosen split's real counts.
 */
import type { BinnedFeatures } from './binning';
import { BIN_STRIDE } from './histogram';

/** Regularisation and size limits that decide whether a split is allowed. */
export interface SplitParams {
  minDataInLeaf: number;
  minSumHessianInLeaf: number;
  lambdaL1: number;
  lambdaL2: number;
  minGainToSplit: number;
}

/** A candidate split; `gain` is the gain over the parent minus minGainToSplit, <= 0 when none. */
export class SplitInfo {
  gain = 0;
  feature = -1;
  /** Numeric bins 0..bin go left. */
  bin = 0;
  defaultLeft = false;
  leftG = 0;
  leftH = 0;
  leftCount = 0;
  rightG = 0;
  rightH = 0;
  rightCount = 0;

  reset(): void {
    this.gain = 0;
    this.feature = -1;
  }
}

/** LightGBM's ThresholdL1: soft-thresholds a gradient sum by the L1 penalty. */
export function thresholdL1(g: number, l1: number): number {
  return g > l1 ? g - l1 : g < -l1 ? g + l1 : 0;
}

/**
 * The regularised output of a leaf, before shrinkage.
 *
 * @example
 * ```ts
 * leafOutput(-4, 2, 0, 0); // 2
 * leafOutput(-4, 2, 1, 2); // 0.75
 * ```
 */
export function leafOutput(g: number, h: number, l1: number, l2: number): number {
  return -thresholdL1(g, l1) / (h + l2);
}

/** The regularised score of a leaf (what a split's gain compares). */
export function leafGain(g: number, h: number, l1: number, l2: number): number {
  const t = thresholdL1(g, l1);
  return (t * t) / (h + l2);
}

/**
 * Finds the best split of a leaf over features `features[0..nFeatures)` into `out` (its `gain` is
 * <= 0 when no split is allowed). Ties keep the first candidate in feature, then bin order.
 * `counts`: exact rows per bin (see {@link countHistograms}), or null to estimate them.
 *
 * @example
 * ```ts
 * const best = new SplitInfo();
 * findBestSplit(hist, null, data, features, features.length, sumG, sumH, count, params, best);
 * if (best.gain > 0) console.log(best.feature, data.upper[best.feature][best.bin]);
 * ```
 */
export function findBestSplit(
  hist: Float64Array,
  counts: Float64Array | null,
  data: BinnedFeatures,
  features: Int32Array,
  nFeatures: number,
  sumG: number,
  sumH: number,
  count: number,
  p: SplitParams,
  out: SplitInfo,
): void {
  out.reset();
  const l1 = p.lambdaL1;
  const l2 = p.lambdaL2;
  const minData = p.minDataInLeaf;
  const minHess = p.minSumHessianInLeaf;
  const minShift = leafGain(sumG, sumH, l1, l2) + p.minGainToSplit;
  const cntFactor = sumH > 0 ? count / sumH : 0;
  let best = 0;
  for (let k = 0; k < nFeatures; k++) {
    const f = features[k];
    const base = data.offset[f] * BIN_STRIDE;
    const cbase = data.offset[f];
    const hasNaN = data.nanBin[f] >= 0;
    const numeric = hasNaN ? data.numBins[f] - 1 : data.numBins[f];
    let nanG = 0;
    let nanH = 0;
    let nanC = 0;
    if (hasNaN) {
      const nb = base + numeric * BIN_STRIDE;
      nanG = hist[nb];
      nanH = hist[nb + 1];
      nanC = counts ? counts[cbase + numeric] : (nanH * cntFactor + 0.5) | 0;
    }
    // Decided from the sums, not the (possibly estimated) count, so that the children's sums
    // always match where the rows go.
    const nanRows = counts ? nanC > 0 : nanH > 0 || nanG !== 0;
    // Splitting at the last numeric bin only separates the missing values from the rest.
    const lastT = nanRows ? numeric - 1 : numeric - 2;
    let lg = 0;
    let lh = 0;
    let lc = 0;
    for (let t = 0; t <= lastT; t++) {
      const b = base + t * BIN_STRIDE;
      lg += hist[b];
      const bh = hist[b + 1];
      lh += bh;
      lc += counts ? counts[cbase + t] : (bh * cntFactor + 0.5) | 0;
      // Missing values to the right.
      {
        const rc = count - lc;
        const rh = sumH - lh;
        if (lc >= minData && rc >= minData && lh >= minHess && rh >= minHess) {
          const rg = sumG - lg;
          const tl = lg > l1 ? lg - l1 : lg < -l1 ? lg + l1 : 0;
          const tr = rg > l1 ? rg - l1 : rg < -l1 ? rg + l1 : 0;
          const gain = (tl * tl) / (lh + l2) + (tr * tr) / (rh + l2) - minShift;
          if (gain > best) {
            best = gain;
            out.feature = f;
            out.bin = t;
            // Without missing values in this leaf, unseen NaN follows the larger side.
            out.defaultLeft = nanRows ? false : hasNaN ? lh >= rh : 0 <= data.upper[f][t];
            out.leftG = lg;
            out.leftH = lh;
            out.leftCount = lc;
          }
        }
      }
      // Missing values to the left.
      if (nanRows && t < numeric - 1) {
        const xg = lg + nanG;
        const xh = lh + nanH;
        const xc = lc + nanC;
        const rc = count - xc;
        const rh = sumH - xh;
        if (xc >= minData && rc >= minData && xh >= minHess && rh >= minHess) {
          const rg = sumG - xg;
          const tl = xg > l1 ? xg - l1 : xg < -l1 ? xg + l1 : 0;
          const tr = rg > l1 ? rg - l1 : rg < -l1 ? rg + l1 : 0;
          const gain = (tl * tl) / (xh + l2) + (tr * tr) / (rh + l2) - minShift;
          if (gain > best) {
            best = gain;
            out.feature = f;
            out.bin = t;
            out.defaultLeft = true;
            out.leftG = xg;
            out.leftH = xh;
            out.leftCount = xc;
          }
        }
      }
    }
  }
  if (out.feature >= 0) {
    out.gain = best;
    out.rightG = sumG - out.leftG;
    out.rightH = sumH - out.leftH;
    out.rightCount = count - out.leftCount;
  }
}
