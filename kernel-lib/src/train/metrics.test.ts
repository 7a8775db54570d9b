import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accuracy,
  calibrationError,
  confusionMatrix,
  f1,
  inertia,
  logLoss,
  mae,
  multiLogLoss,
  prAuc,
  precision,
  r2,
  recall,
  rmse,
  rocAuc,
  silhouetteScore,
  type Average,
} from './metrics';
import { loadDataset, seededRandom } from './test-support/datasets';
import { runPythonJson } from './test-support/python';

describe('rocAuc', () => {
  it('matches the scikit-learn docs example', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
  });

  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(rocAuc([0, 0, 1, 1], [1, 2, 3, 4])).toBe(1);
    expect(rocAuc([0, 0, 1, 1], [4, 3, 2, 1])).toBe(0);
  });

  it('counts ties as one half (average rank)', () => {
    // All scores tied: every positive/negative pair is a tie -> 0.5.
    expect(rocAuc([0, 1, 0, 1, 1], [3, 3, 3, 3, 3])).toBe(0.5);
    // pos {0.5, 0.9}, neg {0.5, 0.1}: pairs (0.5,0.5)=1/2, (0.5,0.1)=1, (0.9,0.5)=1, (0.9,0.1)=1
    // -> 3.5 / 4.
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1])).toBeCloseTo(0.875, 12);
    // pos {2, 2, 1}, neg {2, 1, 0}: wins/ties per positive: 2 -> 0.5+1+1, 2 -> same, 1 -> 0+0.5+1
    // -> (2.5 + 2.5 + 1.5) / 9.
    expect(rocAuc([1, 1, 1, 0, 0, 0], [2, 2, 1, 2, 1, 0])).toBeCloseTo(6.5 / 9, 12);
  });

  it('agrees with the brute-force pairwise definition on random data with ties', () => {
    let s = 12345;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const y: number[] = [];
    const sc: number[] = [];
    for (let i = 0; i < 300; i++) {
      y.push(rnd() < 0.3 ? 1 : 0);
      sc.push(Math.floor(rnd() * 20)); // many ties
    }
    let num = 0;
    let den = 0;
    for (let i = 0; i < y.length; i++) {
      for (let j = 0; j < y.length; j++) {
        if (y[i] === 1 && y[j] === 0) {
          den++;
          num += sc[i] > sc[j] ? 1 : sc[i] === sc[j] ? 0.5 : 0;
        }
      }
    }
    expect(rocAuc(y, Float64Array.from(sc))).toBeCloseTo(num / den, 12);
  });

  it('throws when only one class is present', () => {
    expect(() => rocAuc([1, 1, 1], [0.1, 0.2, 0.3])).toThrow(/only one class/);
    expect(() => rocAuc([0, 0], [0.1, 0.2])).toThrow(/only one class/);
  });

  it('throws on bad labels, NaN scores, bad weights and length mismatch', () => {
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(/row 1 is 2/);
    expect(() => rocAuc([0, 1], [0.1, NaN])).toThrow(/row 1 is NaN/);
    expect(() => rocAuc([0, 1], [0.1])).toThrow(/2 entries but scores has 1/);
    expect(() => rocAuc([0, 1], [0.1, 0.2], [1])).toThrow(/sampleWeight has 1 entries for 2 rows/);
    expect(() => rocAuc([0, 1], [0.1, 0.2], [1, -1])).toThrow(/sampleWeight at row 1 is -1/);
    expect(() => rocAuc([0, 1], [0.1, 0.2], [0, 0])).toThrow(/sums to 0/);
  });
});

describe('logLoss', () => {
  it('is the mean negative log likelihood', () => {
    expect(logLoss([1, 0], [0.9, 0.2])).toBeCloseTo((-Math.log(0.9) - Math.log(0.8)) / 2, 12);
    expect(logLoss([1, 1, 0, 0], [0.5, 0.5, 0.5, 0.5])).toBeCloseTo(Math.log(2), 12);
  });

  it('clips probabilities at the float64 machine epsilon, as scikit-learn >= 1.5', () => {
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(Number.EPSILON), 12);
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(Number.EPSILON), 2);
    expect(logLoss([1, 0], [1, 0])).toBeLessThan(1e-14);
  });

  it('throws on bad input', () => {
    expect(() => logLoss([0, 3], [0.1, 0.2])).toThrow(/row 1 is 3/);
    expect(() => logLoss([0, 1], [0.1, 1.2])).toThrow(/must be in \[0, 1\]/);
    expect(() => logLoss([], [])).toThrow(/no rows/);
  });
});

describe('accuracy', () => {
  it('is the fraction of exact matches', () => {
    expect(accuracy([0, 1, 1, 0], [0, 1, 0, 0])).toBe(0.75);
    expect(accuracy(Float64Array.from([1, 1]), [1, 1])).toBe(1);
    expect(accuracy([0, 1], [0, 0], [3, 1])).toBe(0.75);
  });

  it('throws on length mismatch', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(/yPred has 1/);
  });
});

/** Data shared by the scikit-learn comparisons; built deterministically. */
function fixtures() {
  const rand = seededRandom(2024);
  const n = 400;
  const yb: number[] = [];
  const score: number[] = [];
  const prob: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = rand() < 0.35 ? 1 : 0;
    yb.push(y);
    // Rounded scores give many ties; probabilities include exact bin edges, 0 and 1.
    score.push(Math.round((y * 0.8 + rand()) * 20) / 20);
    prob.push(
      i % 50 === 0
        ? 0
        : i % 50 === 1
          ? 1
          : i % 7 === 0
            ? (i % 10) / 10
            : Math.min(1, Math.max(0, 0.25 + 0.5 * y + 0.4 * (rand() - 0.5))),
    );
    w.push(0.5 + 2 * rand());
  }
  const k = 4;
  const yc: number[] = [];
  const pc: number[] = [];
  const predc: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * k);
    yc.push(c);
    const raw = Array.from({ length: k }, (_, j) => rand() + (j === c ? 1.5 : 0));
    const s = raw.reduce((a, b) => a + b, 0);
    pc.push(...raw.map((v) => v / s));
    // Class 3 is never predicted and class 4 never true: the averaging must cover both.
    predc.push(rand() < 0.6 ? Math.min(c, 2) : rand() < 0.1 ? 4 : Math.floor(rand() * 3));
  }
  const yr: number[] = [];
  const pr: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = 10 * rand() - 3;
    yr.push(t);
    pr.push(t + (rand() - 0.5) * 2);
  }
  return { yb, score, prob, w, k, yc, pc, predc, yr, pr };
}

interface SkResults {
  roc: number;
  rocW: number;
  ap: number;
  apW: number;
  apDocs: number;
  ll: number;
  llW: number;
  mll: number;
  mllW: number;
  acc: number;
  accW: number;
  prf: Record<string, [number, number, number]>;
  cm: number[][];
  cmW: number[][];
  rmse: number;
  rmseW: number;
  mae: number;
  maeW: number;
  r2: number;
  r2W: number;
  ece: Record<string, number>;
  inertia: number;
  inertiaW: number;
  silIris: number;
  silIrisExact: number;
  silBlobs: number;
  silMany: number;
}

const SKLEARN = `
import json, sys
import numpy as np
from scipy.spatial.distance import cdist
from sklearn import metrics as m
from sklearn.calibration import calibration_curve
d = json.load(sys.stdin)
yb, score, prob, w = (np.array(d[k]) for k in ("yb", "score", "prob", "w"))
k = d["k"]; yc = np.array(d["yc"]); pc = np.array(d["pc"]).reshape(-1, k); predc = np.array(d["predc"])
yr, pr = np.array(d["yr"]), np.array(d["pr"])
out = {}
out["roc"] = m.roc_auc_score(yb, score); out["rocW"] = m.roc_auc_score(yb, score, sample_weight=w)
out["ap"] = m.average_precision_score(yb, score); out["apW"] = m.average_precision_score(yb, score, sample_weight=w)
out["apDocs"] = m.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
out["ll"] = m.log_loss(yb, prob); out["llW"] = m.log_loss(yb, prob, sample_weight=w)
out["mll"] = m.log_loss(yc, pc, labels=list(range(k))); out["mllW"] = m.log_loss(yc, pc, labels=list(range(k)), sample_weight=w)
out["acc"] = m.accuracy_score(yc, predc); out["accW"] = m.accuracy_score(yc, predc, sample_weight=w)
prf = {}
bpred = (score >= 0.6).astype(int)
for avg in ("binary",):
    for sw, tag in ((None, ""), (w, "W")):
        prf[avg + tag] = [f(yb, bpred, average=avg, sample_weight=sw, zero_division=0) for f in (m.precision_score, m.recall_score, m.f1_score)]
for avg in ("macro", "weighted", "micro"):
    for sw, tag in ((None, ""), (w, "W")):
        prf[avg + tag] = [f(yc, predc, average=avg, sample_weight=sw, zero_division=0) for f in (m.precision_score, m.recall_score, m.f1_score)]
prf["labels"] = [f(yc, predc, average="macro", labels=[0, 2, 3], zero_division=0) for f in (m.precision_score, m.recall_score, m.f1_score)]
prf["pos0"] = [f(yb, bpred, pos_label=0, zero_division=0) for f in (m.precision_score, m.recall_score, m.f1_score)]
out["prf"] = prf
out["cm"] = m.confusion_matrix(yc, predc).tolist(); out["cmW"] = m.confusion_matrix(yc, predc, sample_weight=w).tolist()
out["rmse"] = m.root_mean_squared_error(yr, pr); out["rmseW"] = m.root_mean_squared_error(yr, pr, sample_weight=w)
out["mae"] = m.mean_absolute_error(yr, pr); out["maeW"] = m.mean_absolute_error(yr, pr, sample_weight=w)
out["r2"] = m.r2_score(yr, pr); out["r2W"] = m.r2_score(yr, pr, sample_weight=w)
ece = {}
for nb in (1, 5, 10, 15):
    pt, pp = calibration_curve(yb, prob, n_bins=nb, strategy="uniform")
    # calibration_curve drops empty bins; the bin counts come from its own binning rule.
    bins = np.linspace(0.0, 1.0, nb + 1)
    counts = np.bincount(np.searchsorted(bins[1:-1], prob), minlength=nb)
    counts = counts[counts > 0]
    ece[str(nb)] = float(np.sum(counts / len(prob) * np.abs(pt - pp)))
out["ece"] = ece
X = np.array(d["x"]).T; C = np.array(d["centroids"])
dist = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1).min(1)
out["inertia"] = float(dist.sum()); out["inertiaW"] = float(dist @ w[: len(dist)])
iris = np.array(d["iris"]).T; il = np.array(d["irisLabels"])
out["silIris"] = m.silhouette_score(iris, il)
out["silIrisExact"] = m.silhouette_score(cdist(iris, iris), il, metric="precomputed")
B = np.array(d["blobs"]).T
out["silBlobs"] = m.silhouette_score(B, np.array(d["blobLabels"]))
M = np.array(d["many"]).T
out["silMany"] = m.silhouette_score(cdist(M, M), np.arange(len(M)) % 2700, metric="precomputed")
print(json.dumps(out))
`;

describe('metrics against scikit-learn', () => {
  const fx = fixtures();
  const iris = loadDataset('iris');
  // A k-means-like labelling of iris with a singleton cluster, to cover that rule.
  const irisLabels = Array.from(iris.y, (v, i) => (i === 0 ? 3 : v));
  const rand = seededRandom(99);
  const blobs = [new Float64Array(300), new Float64Array(300), new Float64Array(300)];
  const blobLabels: number[] = [];
  for (let i = 0; i < 300; i++) {
    const c = i % 3;
    blobLabels.push(c);
    for (let j = 0; j < 3; j++) blobs[j][i] = (j === c ? 4 : 0) + rand() * 3;
  }
  const x = [Float64Array.from(fx.yr), Float64Array.from(fx.pr)];
  // 3000 rows in 2700 clusters: too many for the n x k table, so the row-by-row path runs.
  const many = [0, 1].map(() => Float64Array.from({ length: 3000 }, () => rand()));
  const centroids = [
    [0, 0],
    [5, 5],
    [-2, 1],
  ];
  let sk: SkResults;
  beforeAll(() => {
    sk = runPythonJson<SkResults>(SKLEARN, {
      ...fx,
      x: x.map((c) => Array.from(c)),
      centroids,
      iris: iris.columns.map((c) => Array.from(c)),
      irisLabels,
      blobs: blobs.map((c) => Array.from(c)),
      blobLabels,
      many: many.map((c) => Array.from(c)),
    });
  }, 30000);
  let worst = 0;
  const close = (got: number, want: number) => {
    worst = Math.max(worst, Math.abs(got - want));
    expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9);
  };
  afterAll(() => console.log(`largest |plinth - scikit-learn| over the metric comparisons: ${worst.toExponential(2)}`));

  it('rocAuc and prAuc (average precision), with and without weights', () => {
    close(rocAuc(fx.yb, fx.score), sk.roc);
    close(rocAuc(fx.yb, fx.score, fx.w), sk.rocW);
    close(prAuc(fx.yb, fx.score), sk.ap);
    close(prAuc(fx.yb, fx.score, fx.w), sk.apW);
    close(prAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), sk.apDocs);
  });

  it('logLoss and multiLogLoss', () => {
    close(logLoss(fx.yb, fx.prob), sk.ll);
    close(logLoss(fx.yb, fx.prob, fx.w), sk.llW);
    close(multiLogLoss(fx.yc, fx.pc, fx.k), sk.mll);
    close(multiLogLoss(fx.yc, fx.pc, fx.k, fx.w), sk.mllW);
  });

  it('accuracy, precision, recall, f1 for every average', () => {
    close(accuracy(fx.yc, fx.predc), sk.acc);
    close(accuracy(fx.yc, fx.predc, fx.w), sk.accW);
    const bpred = fx.score.map((s) => (s >= 0.6 ? 1 : 0));
    const check = (key: string, yt: number[], yp: number[], opts: Parameters<typeof precision>[2]) => {
      const [p, r, f] = sk.prf[key];
      close(precision(yt, yp, opts), p);
      close(recall(yt, yp, opts), r);
      close(f1(yt, yp, opts), f);
    };
    check('binary', fx.yb, bpred, {});
    check('binaryW', fx.yb, bpred, { sampleWeight: fx.w });
    check('pos0', fx.yb, bpred, { posLabel: 0 });
    for (const avg of ['macro', 'weighted', 'micro'] as Average[]) {
      check(avg, fx.yc, fx.predc, { average: avg });
      check(`${avg}W`, fx.yc, fx.predc, { average: avg, sampleWeight: fx.w });
    }
    check('labels', fx.yc, fx.predc, { average: 'macro', labels: [0, 2, 3] });
  });

  it('confusionMatrix', () => {
    expect(confusionMatrix(fx.yc, fx.predc).matrix).toEqual(sk.cm);
    const cmW = confusionMatrix(fx.yc, fx.predc, { sampleWeight: fx.w });
    expect(cmW.labels).toEqual([0, 1, 2, 3, 4]);
    cmW.matrix.forEach((row, i) => row.forEach((v, j) => close(v, sk.cmW[i][j])));
  });

  it('rmse, mae, r2', () => {
    close(rmse(fx.yr, fx.pr), sk.rmse);
    close(rmse(fx.yr, fx.pr, fx.w), sk.rmseW);
    close(mae(fx.yr, fx.pr), sk.mae);
    close(mae(fx.yr, fx.pr, fx.w), sk.maeW);
    close(r2(fx.yr, fx.pr), sk.r2);
    close(r2(fx.yr, fx.pr, fx.w), sk.r2W);
  });

  it('calibrationError matches calibration_curve bins (including values on bin edges)', () => {
    for (const nb of [1, 5, 10, 15]) close(calibrationError(fx.yb, fx.prob, nb), sk.ece[String(nb)]);
  });

  it('inertia and silhouetteScore', () => {
    close(inertia(x, centroids), sk.inertia);
    close(inertia(x, centroids, fx.w), sk.inertiaW);
    close(silhouetteScore(iris.columns, irisLabels), sk.silIrisExact);
    close(silhouetteScore(iris.columns, irisLabels), sk.silIris);
    close(silhouetteScore(blobs, blobLabels), sk.silBlobs);
    close(
      silhouetteScore(
        many,
        Array.from({ length: 3000 }, (_, i) => i % 2700),
      ),
      sk.silMany,
    );
  });
});

describe('metric edge cases', () => {
  it('match the documented examples', () => {
    expect(prAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.8333333333333333, 14);
    expect(multiLogLoss([0, 2], [0.7, 0.2, 0.1, 0.1, 0.1, 0.8], 3)).toBeCloseTo(
      (-Math.log(0.7) - Math.log(0.8)) / 2,
      14,
    );
    expect(precision([0, 1, 2, 2], [0, 2, 2, 2], { average: 'macro' })).toBeCloseTo((1 + 0 + 2 / 3) / 3, 14);
    expect(recall([0, 1, 2, 2], [0, 2, 2, 2], { average: 'weighted' })).toBe(0.75);
    expect(f1([0, 1, 2, 2], [0, 2, 2, 2], { average: 'micro' })).toBe(0.75);
    expect(confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2])).toEqual({
      labels: [0, 1, 2],
      matrix: [
        [2, 0, 0],
        [0, 0, 1],
        [1, 0, 2],
      ],
    });
    expect(rmse([3, -0.5, 2, 7], [2.5, 0, 2, 8])).toBeCloseTo(Math.sqrt(0.375), 14);
    expect(mae([3, -0.5, 2, 7], [2.5, 0, 2, 8])).toBe(0.5);
    expect(r2([3, -0.5, 2, 7], [2.5, 0, 2, 8])).toBeCloseTo(0.9486081370449679, 14);
    expect(calibrationError([0, 1, 1, 1], [0.2, 0.2, 0.9, 0.9], 2)).toBeCloseTo(0.2, 14);
    expect(inertia([Float64Array.from([0, 1, 10])], [[0.5], [10]])).toBe(0.5);
    expect(silhouetteScore([Float64Array.from([0, 1, 10, 11])], [0, 0, 1, 1])).toBeCloseTo(
      (9.5 / 10.5 + 8.5 / 9.5) / 2,
      14,
    );
  });

  it('one class only: average precision 0 without positives (as scikit-learn), r2 rules', () => {
    expect(prAuc([0, 0, 0], [0.1, 0.2, 0.3])).toBe(0);
    expect(prAuc([1, 1, 1], [0.1, 0.2, 0.3])).toBe(1);
    expect(precision([0, 0], [0, 0])).toBe(0);
    expect(f1([0, 0], [0, 0])).toBe(0);
    expect(r2([1], [2])).toBeNaN();
    expect(r2([1, 1], [1, 1])).toBe(1);
    expect(r2([1, 1], [1, 2])).toBe(0);
  });

  it('errors name the problem', () => {
    expect(() => precision([0, 1, 2], [0, 1, 1])).toThrow(/3 classes .* average is 'binary'/);
    expect(() => precision([2, 3], [2, 3])).toThrow(/posLabel 1 is not a valid label/);
    expect(() => multiLogLoss([0, 3], [0.5, 0.5, 0.5, 0.5], 2)).toThrow(/row 1 is 3/);
    expect(() => multiLogLoss([0], [0.5, 0.5, 0.5], 2)).toThrow(/expected 1 rows x 2 = 2/);
    expect(() => rmse([1, 2], [1])).toThrow(/yPred has 1/);
    expect(() => r2([1, NaN], [1, 2])).toThrow(/must be finite/);
    expect(() => silhouetteScore([Float64Array.from([0, 1])], [0, 1])).toThrow(/number of labels is 2/);
    expect(() => silhouetteScore([Float64Array.from([0, 1, 2])], [0, 0, 0])).toThrow(/number of labels is 1/);
    expect(() => inertia([Float64Array.from([0, 1])], [[0, 1]])).toThrow(/centroid 0 has 2 coordinates for 1 columns/);
    expect(() => calibrationError([0, 1], [0.2, 0.3], 0)).toThrow(/nBins is 0/);
    expect(() => confusionMatrix([0], [0], { labels: [1, 1] })).toThrow(/not distinct/);
  });

  it('silhouetteScore samples above the limit, deterministically by seed', () => {
    const col = Float64Array.from({ length: 2000 }, (_, i) => (i % 2) * 10 + (i % 7) * 0.1);
    const labels = Array.from(col, (_, i) => i % 2);
    const exact = silhouetteScore([col], labels);
    const s1 = silhouetteScore([col], labels, { sampleSize: 500, seed: 3 });
    expect(silhouetteScore([col], labels, { sampleSize: 500, seed: 3 })).toBe(s1);
    expect(Math.abs(s1 - exact)).toBeLessThan(0.01);
  });
});
