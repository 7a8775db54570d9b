/**
 * Leaf-wise tree growth (LightGBM's best-first strategy): repeatedly split the leaf whose best
 * split gains most, until `numLeaves` leaves, `maxDepth`, or no split gains anything. Rows of
 * each leaf are a contiguous range of one index array, partitioned in place; the smaller child's
 * histogram is built from its rows and the larger child's is the parent's minus it.
 *
 * Every leaf's range is sorted by row (the tree starts from sorted rows and partitions are
 * stable), which keeps memory access in order and lets a partition be undone by a merge.
 * The gradients travel with the rows (`og`/`oh` hold, at each position, the gradient of the row
 * `idx` has there), so a leaf's histograms read them in order without gathering them first.
 */
import type { BinnedFeatures } from './binning';
import {
  BIN_STRIDE,
  countHistograms,
  subtractHistograms,
  type HistogramBuffers,
  type HistogramBuilder,
} from './histogram';
import { findBestSplit, SplitInfo, type SplitParams } from './split';

/** Tree shape limits and split rules. */
export interface GrowParams extends SplitParams {
  numLeaves: number;
  /** <= 0: no limit. */
  maxDepth: number;
}

/** A grown tree: nodes (the model's arrays, without values) and the rows of each leaf. */
export interface GrownTree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  defaultLeft: boolean[];
  gain: number[];
  count: number[];
  /** The bin each split compares with (bins <= splitBin go left), for traversing binned rows. */
  splitBin: number[];
  numLeaves: number;
  /** leafNode[l]: the node of leaf l; its rows are idx[leafStart[l]..leafEnd[l]). */
  leafNode: Int32Array;
  leafStart: Int32Array;
  leafEnd: Int32Array;
  /** Gradient and hessian sums of each leaf. */
  leafG: Float64Array;
  leafH: Float64Array;
}

/**
 * Grows trees over one binned data set; keeps its buffers (histograms, partition scratch)
 * between trees.
 *
 * @example
 * ```ts
 * const grower = new TreeGrower(buffers, builder, params);
 * const tree = grower.grow(n, true, features, features.length, g, h, 0);
 * ```
 */
export class TreeGrower {
  private readonly hists: Float64Array[] = [];
  private readonly tmp: Int32Array;
  private readonly tmpG: Float64Array;
  private readonly tmpH: Float64Array;
  private readonly data: BinnedFeatures;
  /** Row indices; the first `nBag` are the rows a tree learns from. Reordered by grow(). */
  private readonly idx: Int32Array;
  /** Gradients and hessians by position in `idx` (see the file comment). */
  private readonly og: Float64Array;
  private readonly oh: Float64Array;
  private readonly best: SplitInfo[] = [];
  private readonly slotOf: Int32Array;
  private readonly depth: Int32Array;
  private readonly leafCount: Float64Array;
  private readonly counts: Float64Array;

  constructor(
    buffers: HistogramBuffers,
    private readonly builder: HistogramBuilder,
    private readonly p: GrowParams,
    private readonly newHistogram: (length: number) => Float64Array = (len) => new Float64Array(len),
  ) {
    const data = buffers.data;
    this.data = data;
    this.idx = buffers.idx;
    this.og = buffers.og;
    this.oh = buffers.oh;
    this.tmp = new Int32Array(data.n);
    this.tmpG = new Float64Array(data.n);
    this.tmpH = new Float64Array(data.n);
    for (let l = 0; l < p.numLeaves; l++) this.best.push(new SplitInfo());
    this.slotOf = new Int32Array(p.numLeaves);
    this.depth = new Int32Array(p.numLeaves);
    this.leafCount = new Float64Array(p.numLeaves);
    this.counts = new Float64Array(data.totalBins);
  }

  /**
   * Grows one tree on rows `idx[0..nBag)` (`identity`: they are 0..n-1 in order) with the
   * gradients of class `cls` (`g`/`h` are that class's arrays, length n).
   */
  grow(
    nBag: number,
    identity: boolean,
    features: Int32Array,
    nFeatures: number,
    g: Float64Array,
    h: Float64Array,
    cls: number,
  ): GrownTree {
    const p = this.p;
    const data = this.data;
    const idx = this.idx;
    const maxLeaves = p.numLeaves;
    const t: GrownTree = {
      feature: [-1],
      threshold: [0],
      left: [-1],
      right: [-1],
      defaultLeft: [false],
      gain: [0],
      count: [nBag],
      splitBin: [-1],
      numLeaves: 1,
      leafNode: new Int32Array(maxLeaves),
      leafStart: new Int32Array(maxLeaves),
      leafEnd: new Int32Array(maxLeaves),
      leafG: new Float64Array(maxLeaves),
      leafH: new Float64Array(maxLeaves),
    };
    let sg = 0;
    let sh = 0;
    const og = this.og;
    const oh = this.oh;
    if (identity) {
      og.set(g.subarray(0, nBag));
      oh.set(h.subarray(0, nBag));
    } else {
      for (let i = 0; i < nBag; i++) {
        const r = idx[i];
        og[i] = g[r];
        oh[i] = h[r];
      }
    }
    for (let i = 0; i < nBag; i++) {
      sg += og[i];
      sh += oh[i];
    }
    t.leafEnd[0] = nBag;
    t.leafG[0] = sg;
    t.leafH[0] = sh;
    this.depth[0] = 0;
    this.leafCount[0] = nBag;
    this.slotOf[0] = 0;
    let nextSlot = 1;
    if (this.canSplit(0)) {
      this.builder.build(this.hist(0), 0, nBag, identity, features, nFeatures, cls);
      findBestSplit(this.hist(0), null, data, features, nFeatures, sg, sh, nBag, p, this.best[0]);
    } else this.best[0].reset();

    let nLeaves = 1;
    while (nLeaves < maxLeaves) {
      let bl = -1;
      let bestGain = 0;
      for (let l = 0; l < nLeaves; l++) {
        if (this.best[l].gain > bestGain) {
          bestGain = this.best[l].gain;
          bl = l;
        }
      }
      if (bl < 0) break;
      const s = this.best[bl];

      // Stable in-place partition: left rows stay first, both sides keep their row order.
      const start = t.leafStart[bl];
      const end = t.leafEnd[bl];
      const col = data.bins[s.feature];
      const nan = data.nanBin[s.feature];
      const thr = s.bin;
      const defLeft = s.defaultLeft;
      const tmp = this.tmp;
      const tmpG = this.tmpG;
      const tmpH = this.tmpH;
      let w = start;
      let r = 0;
      for (let i = start; i < end; i++) {
        const row = idx[i];
        const b = col[row];
        if (b === nan ? defLeft : b <= thr) {
          idx[w] = row;
          og[w] = og[i];
          oh[w] = oh[i];
          w++;
        } else {
          tmp[r] = row;
          tmpG[r] = og[i];
          tmpH[r] = oh[i];
          r++;
        }
      }
      idx.set(tmp.subarray(0, r), w);
      og.set(tmpG.subarray(0, r), w);
      oh.set(tmpH.subarray(0, r), w);
      if (w - start < p.minDataInLeaf || end - w < p.minDataInLeaf) {
        // The estimated counts were wrong: undo the partition (merge the two sorted halves) and
        // search this leaf again with exact counts.
        this.merge(start, w, end);
        countHistograms(this.counts, data, features, nFeatures, idx, start, end);
        const hist = this.hist(this.slotOf[bl]);
        findBestSplit(hist, this.counts, data, features, nFeatures, t.leafG[bl], t.leafH[bl], end - start, p, s);
        continue;
      }
      s.leftCount = w - start;
      s.rightCount = end - w;

      const node = t.leafNode[bl];
      const ln = t.feature.length;
      const rn = ln + 1;
      t.feature[node] = s.feature;
      t.threshold[node] = data.upper[s.feature][s.bin];
      t.left[node] = ln;
      t.right[node] = rn;
      t.defaultLeft[node] = s.defaultLeft;
      t.gain[node] = s.gain;
      t.splitBin[node] = s.bin;
      for (let c = 0; c < 2; c++) {
        t.feature.push(-1);
        t.threshold.push(0);
        t.left.push(-1);
        t.right.push(-1);
        t.defaultLeft.push(false);
        t.gain.push(0);
        t.splitBin.push(-1);
      }
      t.count.push(s.leftCount, s.rightCount);

      const nl = nLeaves++;
      const d = this.depth[bl] + 1;
      t.leafNode[bl] = ln;
      t.leafEnd[bl] = w;
      t.leafG[bl] = s.leftG;
      t.leafH[bl] = s.leftH;
      this.leafCount[bl] = s.leftCount;
      this.depth[bl] = d;
      t.leafNode[nl] = rn;
      t.leafStart[nl] = w;
      t.leafEnd[nl] = end;
      t.leafG[nl] = s.rightG;
      t.leafH[nl] = s.rightH;
      this.leafCount[nl] = s.rightCount;
      this.depth[nl] = d;

      const canL = this.canSplit(bl);
      const canR = this.canSplit(nl);
      const parentSlot = this.slotOf[bl];
      if (canL || canR) {
        const leftSmaller = w - start <= end - w;
        const small = leftSmaller ? bl : nl;
        const large = leftSmaller ? nl : bl;
        const fresh = nextSlot++;
        this.slotOf[small] = fresh;
        this.slotOf[large] = parentSlot;
        const hs = this.hist(fresh);
        this.builder.build(hs, t.leafStart[small], t.leafEnd[small], false, features, nFeatures, cls);
        if (leftSmaller ? canR : canL) {
          subtractHistograms(this.hist(parentSlot), hs, data.offset, data.numBins, features, nFeatures);
        }
      }
      for (const l of [bl, nl]) {
        if (l === bl ? canL : canR) {
          findBestSplit(
            this.hist(this.slotOf[l]),
            null,
            data,
            features,
            nFeatures,
            t.leafG[l],
            t.leafH[l],
            this.leafCount[l],
            p,
            this.best[l],
          );
        } else this.best[l].reset();
      }
    }
    t.numLeaves = nLeaves;
    return t;
  }

  /** Histogram slot `slot`, allocated when first used (trees rarely use all numLeaves slots). */
  private hist(slot: number): Float64Array {
    while (this.hists.length <= slot) this.hists.push(this.newHistogram(this.data.totalBins * BIN_STRIDE));
    return this.hists[slot];
  }

  /**
   * Restores the sorted order of idx[start..end) from its sorted halves [start, mid) and
   * [mid, end), moving the gradients along.
   */
  private merge(start: number, mid: number, end: number): void {
    const { idx, og, oh, tmp, tmpG, tmpH } = this;
    let a = start;
    let b = mid;
    let o = 0;
    while (a < mid || b < end) {
      const i = b >= end || (a < mid && idx[a] < idx[b]) ? a++ : b++;
      tmp[o] = idx[i];
      tmpG[o] = og[i];
      tmpH[o] = oh[i];
      o++;
    }
    idx.set(tmp.subarray(0, o), start);
    og.set(tmpG.subarray(0, o), start);
    oh.set(tmpH.subarray(0, o), start);
  }

  /** Whether a leaf may split at all (depth, and room for two children of the minimum size). */
  private canSplit(leaf: number): boolean {
    const p = this.p;
    if (p.maxDepth > 0 && this.depth[leaf] >= p.maxDepth) return false;
    return this.leafCount[leaf] >= 2 * p.minDataInLeaf;
  }
}
