import { describe, expect, it } from 'vitest';
import { fitKMeans } from '../train/kmeans';
import { applyStages, fitImputer, fitStandardScaler } from '../train/preprocess';
import { loadDataset, seededRandom } from '../train/test-support/datasets';
import type { KMeansModel } from '../train/types';
import { compilePipeline, type PipelineSpec } from './compile';
import { decodeModel } from './proto';
import { expectOnnxParity, runInPython } from './test-support/parity';

function bare(model: KMeansModel): PipelineSpec {
  return { inputs: model.featureNames.map((name) => ({ name })), stages: [], model };
}

describe('k-means -> ONNX', () => {
  it('iris (imputer + scaler + k=3) and wine (k=6): distances within 1e-5, identical clusters, Python agrees', async () => {
    for (const [name, k] of [
      ['iris', 3],
      ['wine', 6],
    ] as const) {
      const ds = loadDataset(name);
      const r = seededRandom(4);
      const columns = ds.columns.map((c) => c.map((v) => (r() < 0.03 ? NaN : v)));
      const imputer = fitImputer(ds.featureNames, columns);
      const imputed = applyStages([imputer], columns);
      const scaler = fitStandardScaler(ds.featureNames, imputed);
      const { model } = fitKMeans({
        featureNames: ds.featureNames,
        columns: applyStages([scaler], imputed),
        k,
        nInit: 3,
      });
      const spec: PipelineSpec = {
        inputs: ds.featureNames.map((n) => ({ name: n })),
        stages: [imputer, scaler],
        model,
      };
      const report = await expectOnnxParity(spec, columns);
      console.log(
        `${name} k=${k}: max |distance diff| ${report.diff.distances!.toExponential(2)}, cluster mismatches 0`,
      );
      expect(new Set(report.onnx.cluster).size).toBe(k);
      const py = runInPython(spec, columns);
      expect(py.cluster).toEqual(Array.from(report.onnx.cluster!));
      const dPy = py.distances;
      const dNode = report.onnx.distances!;
      expect(dPy.length).toBe(dNode.length);
      expect(Math.max(...dPy.map((v, i) => Math.abs(v - dNode[i])))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('breaks exact ties towards the first centroid, like the reference', async () => {
    const model: KMeansModel = {
      kind: 'kmeans',
      featureNames: ['x', 'y'],
      centroids: [
        [0, 0],
        [2, 0],
        [1, 1],
        [1, -1],
      ],
    };
    // (1, 0) is equidistant from all four; (1, 0.5) from centroids 0, 1 (and nearer to 2).
    const columns = [Float64Array.from([1, 1, 0.5, 3, -1]), Float64Array.from([0, 0.5, 0.5, 0, 0])];
    const report = await expectOnnxParity(bare(model), columns);
    expect(Array.from(report.onnx.cluster!)).toEqual([0, 2, 0, 1, 0]);
    expect(report.diff.distances).toBeLessThanOrEqual(1e-7);
  });

  it('keeps clusters and distances exact far from the origin (1e6) where ||x||^2 - 2x.c + ||c||^2 would cancel', async () => {
    // Centroids and points are float32-exact; the clusters are 3 apart at 1e6, where float32's
    // spacing is 0.0625 and the expanded formula's terms (~1e12) lose every digit.
    const base = 1e6;
    const model: KMeansModel = {
      kind: 'kmeans',
      featureNames: ['a', 'b'],
      centroids: [
        [base, base],
        [base + 3, base],
        [base, base + 3],
      ],
    };
    const r = seededRandom(8);
    const n = 400;
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = base + Math.round(r() * 64 - 16) / 16;
      b[i] = base + Math.round(r() * 64 - 16) / 16;
    }
    const report = await expectOnnxParity(bare(model), [a, b], { distances: 1e-6 });
    console.log(`large values: max |distance diff| ${report.diff.distances!.toExponential(2)}`);
    expect(new Set(report.onnx.cluster).size).toBe(3);
    const py = runInPython(bare(model), [a, b]);
    expect(py.cluster).toEqual(Array.from(report.onnx.cluster!));
  });

  it('handles k = 1 and a single feature', async () => {
    const model: KMeansModel = { kind: 'kmeans', featureNames: ['x'], centroids: [[2.5]] };
    const report = await expectOnnxParity(bare(model), [Float64Array.from([0, 2.5, 10, -1e10])], {
      distances: 1e-5 * 1e10,
    });
    expect(Array.from(report.onnx.cluster!)).toEqual([0, 0, 0, 0]);
    expect(Array.from(report.onnx.distances!.subarray(0, 3))).toEqual([2.5, 0, 7.5]);
  });

  it('rejects bad parameters naming them', () => {
    const model: KMeansModel = {
      kind: 'kmeans',
      featureNames: ['a', 'b'],
      centroids: [
        [0, 0],
        [1, 1],
      ],
    };
    const compile = (m: Partial<KMeansModel>) => compilePipeline(bare({ ...model, ...m }));
    const graph = decodeModel(compile({})).graph;
    expect(graph.output.map((o) => o.name)).toEqual(['cluster', 'distances']);
    expect(() => compile({ centroids: [] })).toThrow(/centroids is empty/);
    expect(() =>
      compile({
        centroids: [
          [0, 0],
          [1, NaN],
        ],
      }),
    ).toThrow(/centroids\[1\] of 'b' is NaN/);
    expect(() => compile({ centroids: [[0, 0], [1]] })).toThrow(/centroids\[1\] has 1 entries for 2 features/);
    expect(() =>
      compile({
        centroids: [
          [0, 0],
          [1, 1e40],
        ],
      }),
    ).toThrow(/overflows float32/);
  });
});
