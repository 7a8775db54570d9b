import { beforeAll, describe, expect, it } from 'vitest';
import { fitKMeans, predictKMeans } from './kmeans';
import { loadDataset, seededRandom } from './test-support/datasets';
import { runPythonJson } from './test-support/python';

// Multithreaded BLAS in the reference Python oversubscribes the shared cores (scikit-learn's
// lbfgs on digits: 4 s with default threads, 0.15 s with one).
process.env.OMP_NUM_THREADS ??= '1';
process.env.OPENBLAS_NUM_THREADS ??= '1';

interface SkKMeans {
  inertia: number;
  bestOfInit: number;
  x?: number[][];
}

/** scikit-learn KMeans on the given data (or make_blobs): the inertia of n_init runs' best. */
const SKLEARN_KMEANS = `
import json, sys
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
d = json.load(sys.stdin)
out = []
for s in d["fits"]:
    if s.get("blobs"):
        X, _ = make_blobs(n_samples=2000, centers=6, n_features=5, cluster_std=1.5, random_state=0)
    else:
        X = np.array(s["x"], dtype=float).T
    runs = [KMeans(n_clusters=s["k"], n_init=1, random_state=r, algorithm=s.get("algorithm", "lloyd")).fit(X).inertia_ for r in range(s["n_init"] * 5)]
    m = KMeans(n_clusters=s["k"], n_init=s["n_init"], random_state=0).fit(X)
    o = {"inertia": float(m.inertia_), "bestOfInit": float(min(runs[: s["n_init"]]))}
    if s.get("blobs"):
        o["x"] = X.T.tolist()
    out.append(o)
print(json.dumps(out))
`;

describe('fitKMeans vs scikit-learn', () => {
  const iris = loadDataset('iris');
  let sk: SkKMeans[] = [];
  beforeAll(() => {
    sk = runPythonJson<SkKMeans[]>(SKLEARN_KMEANS, {
      fits: [
        { blobs: true, k: 6, n_init: 1 },
        { x: iris.columns.map((c) => Array.from(c)), k: 3, n_init: 10 },
        { x: iris.columns.map((c) => Array.from(c)), k: 8, n_init: 4 },
      ],
    });
  }, 120_000);

  it('blobs (2000 x 5, 6 centres), default settings: inertia within 1% of sklearn', () => {
    const columns = sk[0].x!.map((c) => Float64Array.from(c));
    const names = columns.map((_, j) => `f${j}`);
    for (const algorithm of ['lloyd', 'elkan'] as const) {
      const r = fitKMeans({ featureNames: names, columns, k: 6, algorithm });
      const rel = r.inertia / sk[0].inertia - 1;
      console.log(
        `blobs ${algorithm}: inertia ${r.inertia.toFixed(3)} vs sklearn ${sk[0].inertia.toFixed(3)} (${(100 * rel).toFixed(3)}%), ${r.iterations} iterations`,
      );
      expect(rel).toBeLessThan(0.01);
    }
  });

  it('iris k=3 and k=8: best-of-nInit inertia within 1% of sklearn best-of-n_init', () => {
    for (const [idx, k, nInit] of [
      [1, 3, 10],
      [2, 8, 4],
    ] as const) {
      const r = fitKMeans({ featureNames: iris.featureNames, columns: iris.columns, k, nInit, seed: 1 });
      const ref = Math.min(sk[idx].inertia, sk[idx].bestOfInit);
      const rel = r.inertia / ref - 1;
      console.log(
        `iris k=${k} nInit=${nInit}: inertia ${r.inertia.toFixed(4)} vs sklearn ${ref.toFixed(4)} (${(100 * rel).toFixed(3)}%)`,
      );
      expect(rel).toBeLessThan(0.01);
      // The reported inertia is that of the returned centroids.
      const { distances } = predictKMeans(r.model, iris.columns);
      let s = 0;
      for (let i = 0; i < iris.y.length; i++) s += Math.min(...distances!.subarray(i * k, i * k + k)) ** 2;
      expect(s).toBeCloseTo(r.inertia, 8);
    }
  });
});

describe('fitKMeans', () => {
  /** Gaussian blobs around random centres, column-major. */
  function blobs(n: number, p: number, k: number, seed: number, spread = 1): Float64Array[] {
    const r = seededRandom(seed);
    const centres = Array.from({ length: k }, () => Array.from({ length: p }, () => 20 * r() - 10));
    const cols = Array.from({ length: p }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const c = centres[i % k];
      for (let j = 0; j < p; j++) {
        const g = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
        cols[j][i] = c[j] + spread * g;
      }
    }
    return cols;
  }

  it('lloyd and elkan give the same clustering from the same initialisation', () => {
    for (const [seed, k, spread] of [
      [1, 5, 3],
      [2, 12, 4],
      [3, 3, 8],
    ] as const) {
      const cols = blobs(1500, 4, k, seed, spread);
      const names = cols.map((_, j) => `f${j}`);
      const lloyd = fitKMeans({ featureNames: names, columns: cols, k, seed, nInit: 2 });
      const elkan = fitKMeans({ featureNames: names, columns: cols, k, seed, nInit: 2, algorithm: 'elkan' });
      expect(elkan.model.centroids).toEqual(lloyd.model.centroids);
      expect(elkan.inertia).toBe(lloyd.inertia);
      expect(elkan.iterations).toBe(lloyd.iterations);
    }
  });

  it('lloyd and elkan agree on integer-grid data full of exact distance ties', () => {
    const r = seededRandom(21);
    const n = 800;
    const cols = [0, 1].map(() => Float64Array.from({ length: n }, () => Math.floor(r() * 7)));
    for (const k of [2, 5, 9]) {
      for (let seed = 0; seed < 4; seed++) {
        const opts = { featureNames: ['a', 'b'], columns: cols, k, seed };
        const lloyd = fitKMeans(opts);
        const elkan = fitKMeans({ ...opts, algorithm: 'elkan' });
        expect(elkan.model.centroids, `k=${k} seed=${seed}`).toEqual(lloyd.model.centroids);
        expect(elkan.iterations).toBe(lloyd.iterations);
      }
    }
  });

  it('is reproducible by seed, stops early with a loose tol and at maxIter', () => {
    const cols = blobs(600, 3, 4, 5, 4);
    const names = ['a', 'b', 'c'];
    const a = fitKMeans({ featureNames: names, columns: cols, k: 4, seed: 7 });
    const b = fitKMeans({ featureNames: names, columns: cols, k: 4, seed: 7 });
    expect(b).toEqual(a);
    const one = fitKMeans({ featureNames: names, columns: cols, k: 4, seed: 7, maxIter: 1 });
    expect(one.iterations).toBe(1);
    expect(one.inertia).toBeGreaterThanOrEqual(a.inertia - 1e-9);
    const loose = fitKMeans({ featureNames: names, columns: cols, k: 4, seed: 7, tol: 10 });
    expect(loose.iterations).toBeLessThanOrEqual(a.iterations);
  });

  it('handles k = rows, k = 1 and duplicated points (empty clusters relocated)', () => {
    const x = Float64Array.from([1, 1, 1, 1, 5, 9]);
    const all = fitKMeans({ featureNames: ['x'], columns: [x], k: 3 });
    expect(all.model.centroids.map((c) => c[0]).sort((p, q) => p - q)).toEqual([1, 5, 9]);
    expect(all.inertia).toBe(0);
    const one = fitKMeans({ featureNames: ['x'], columns: [x], k: 1 });
    expect(one.model.centroids[0][0]).toBeCloseTo(3, 12);
    const dup = fitKMeans({ featureNames: ['x'], columns: [Float64Array.from([2, 2, 2, 2])], k: 2 });
    expect(dup.inertia).toBe(0);
  });

  it('rejects bad input with clear errors', () => {
    const x = Float64Array.from([1, 2, 3]);
    expect(() => fitKMeans({ featureNames: ['x'], columns: [Float64Array.from([1, NaN, 3])], k: 2 })).toThrow(
      /column 'x' has a missing value \(NaN\) at row 1; impute/,
    );
    expect(() => fitKMeans({ featureNames: ['x'], columns: [x], k: 4 })).toThrow(
      /k = 4 exceeds the number of rows \(3\)/,
    );
    expect(() => fitKMeans({ featureNames: ['x'], columns: [x], k: 0 })).toThrow(/k must be a positive integer, got 0/);
    expect(() => fitKMeans({ featureNames: ['x'], columns: [x], k: 1.5 })).toThrow(/k must be a positive integer/);
    expect(() => fitKMeans({ featureNames: ['x', 'y'], columns: [x, Float64Array.from([1, 2])], k: 1 })).toThrow(
      /column 'y' has 2 rows but column 'x' has 3/,
    );
    expect(() => fitKMeans({ featureNames: ['x'], columns: [x], k: 1, algorithm: 'full' as 'lloyd' })).toThrow(
      /algorithm must be 'lloyd' or 'elkan'/,
    );
    expect(() => fitKMeans({ featureNames: ['x'], columns: [x], k: 1, nInit: 0 })).toThrow(/nInit must be a positive/);
    expect(() => fitKMeans({ featureNames: [], columns: [], k: 1 })).toThrow(/no feature columns/);
  });
});

describe('predictKMeans', () => {
  it('returns the nearest centroid (first on ties) and Euclidean distances', () => {
    const model = {
      kind: 'kmeans' as const,
      featureNames: ['x', 'y'],
      centroids: [
        [0, 0],
        [2, 0],
        [0, 4],
      ],
    };
    const { cluster, distances } = predictKMeans(model, [
      Float64Array.from([1, 2, 0, NaN]),
      Float64Array.from([0, 0, 3, 1]),
    ]);
    expect(Array.from(cluster!)).toEqual([0, 1, 2, NaN]);
    expect(Array.from(distances!.subarray(0, 9))).toEqual([
      1,
      1,
      Math.sqrt(17),
      2,
      0,
      Math.sqrt(20),
      3,
      Math.sqrt(13),
      1,
    ]);
    expect(Number.isNaN(distances![9])).toBe(true);
    expect(() => predictKMeans(model, [Float64Array.from([1])])).toThrow(/2 features \(x, y\) but got 1 columns/);
  });
});
