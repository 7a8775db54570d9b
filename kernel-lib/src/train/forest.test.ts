import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOnnxParity } from '../onnx/test-support/parity';
import { fitRandomForest, type RandomForestOptions } from './forest';
import { accuracy, r2, rocAuc } from './metrics';
import { predictTreeEnsemble, validateTreeEnsemble } from './tree-ensemble';
import { loadDataset, seededRandom, takeRows, takeY, trainTestSplit, type DatasetName } from './test-support/datasets';
import { runPythonJson } from './test-support/python';

interface Split {
  name: DatasetName;
  featureNames: string[];
  xTrain: Float64Array[];
  yTrain: Float64Array;
  xTest: Float64Array[];
  yTest: Float64Array;
}

function split(name: DatasetName, seed = 42): Split {
  const ds = loadDataset(name);
  const { train, test } = trainTestSplit(ds.y.length, 0.25, seed);
  return {
    name,
    featureNames: ds.featureNames,
    xTrain: takeRows(ds.columns, train),
    yTrain: takeY(ds.y, train),
    xTest: takeRows(ds.columns, test),
    yTest: takeY(ds.y, test),
  };
}

/** A copy of `s` with each feature value missing (NaN) with probability `rate`, train and test alike. */
function withMissing(s: Split, rate: number, seed: number): Split {
  const r = seededRandom(seed);
  const blank = (cols: Float64Array[]) => cols.map((c) => c.map((v) => (r() < rate ? NaN : v)));
  return { ...s, xTrain: blank(s.xTrain), xTest: blank(s.xTest) };
}

interface SklearnResult {
  metric: number;
  oob: number;
  importance: number[];
}

/** scikit-learn's forests on the same splits, one Python start for all of them. */
const SKLEARN = `
import json, sys
import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
out = []
for case in json.load(sys.stdin):
    # JSON has no NaN: missing values arrive as null, which dtype=float turns back into NaN.
    xtr, ytr = np.array(case["xTrain"], dtype=float).T, np.array(case["yTrain"])
    xte, yte = np.array(case["xTest"], dtype=float).T, np.array(case["yTest"])
    if case["task"] == "regression":
        m = RandomForestRegressor(n_estimators=100, oob_score=True, random_state=0).fit(xtr, ytr)
        metric = r2_score(yte, m.predict(xte))
    else:
        m = RandomForestClassifier(n_estimators=100, oob_score=True, random_state=0).fit(xtr, ytr)
        metric = roc_auc_score(yte, m.predict_proba(xte)[:, 1]) if case["task"] == "auc" else accuracy_score(yte, m.predict(xte))
        if case["task"] == "auc":
            out.append({"metric": accuracy_score(yte, m.predict(xte)), "oob": m.oob_score_, "importance": []})
    out.append({"metric": metric, "oob": m.oob_score_, "importance": m.feature_importances_.tolist()})
print(json.dumps(out))
`;

function fit(s: Split, task: RandomForestOptions['task'], extra: Partial<RandomForestOptions> = {}) {
  return fitRandomForest({
    featureNames: s.featureNames,
    columns: s.xTrain,
    y: s.yTrain,
    task,
    oobScore: true,
    seed: 1,
    ...extra,
  });
}

describe('fitRandomForest', () => {
  it('matches scikit-learn on breast_cancer (binary, also with 20% missing), wine (multiclass), diabetes (regression)', async () => {
    const bc = split('breast_cancer');
    const wine = split('wine');
    const diab = split('diabetes');
    const bcNaN = withMissing(bc, 0.2, 9);
    const cases = [
      { ...bc, task: 'auc' },
      { ...wine, task: 'accuracy' },
      { ...diab, task: 'regression' },
      { ...bcNaN, task: 'auc' },
    ].map((c) => ({
      task: c.task,
      xTrain: c.xTrain.map((a) => Array.from(a)),
      yTrain: Array.from(c.yTrain),
      xTest: c.xTest.map((a) => Array.from(a)),
      yTest: Array.from(c.yTest),
    }));
    const [skAcc, skAuc, skWine, skDiab, skNaNAcc, skNaNAuc] = runPythonJson<SklearnResult[]>(SKLEARN, cases);

    const t0 = performance.now();
    const rfBc = fit(bc, 'classification');
    const tBc = performance.now() - t0;
    validateTreeEnsemble(rfBc.model);
    expect(rfBc.model.task).toBe('binary');
    expect(rfBc.model.classes).toEqual([0, 1]);
    const p = predictTreeEnsemble(rfBc.model, bc.xTest).probability!;
    const acc = accuracy(
      bc.yTest,
      p.map((v) => (v > 0.5 ? 1 : 0)),
    );
    const auc = rocAuc(bc.yTest, p);

    const rfWine = fit(wine, 'classification');
    validateTreeEnsemble(rfWine.model);
    expect(rfWine.model.task).toBe('multiclass');
    expect(rfWine.model.nOutputs).toBe(3);
    const wineAcc = accuracy(wine.yTest, predictTreeEnsemble(rfWine.model, wine.xTest).label!);

    const rfDiab = fit(diab, 'regression');
    validateTreeEnsemble(rfDiab.model);
    const diabR2 = r2(diab.yTest, predictTreeEnsemble(rfDiab.model, diab.xTest).prediction!);

    const rfNaN = fit(bcNaN, 'classification');
    const pNaN = predictTreeEnsemble(rfNaN.model, bcNaN.xTest).probability!;
    const nanAcc = accuracy(
      bcNaN.yTest,
      pNaN.map((v) => (v > 0.5 ? 1 : 0)),
    );
    const nanAuc = rocAuc(bcNaN.yTest, pNaN);

    const rows = [
      ['breast_cancer accuracy', acc, skAcc.metric],
      ['breast_cancer AUC', auc, skAuc.metric],
      ['breast_cancer OOB accuracy', rfBc.oobScore!, skAuc.oob],
      ['wine accuracy', wineAcc, skWine.metric],
      ['wine OOB accuracy', rfWine.oobScore!, skWine.oob],
      ['diabetes R2', diabR2, skDiab.metric],
      ['diabetes OOB R2', rfDiab.oobScore!, skDiab.oob],
      ['breast_cancer 20% NaN accuracy', nanAcc, skNaNAcc.metric],
      ['breast_cancer 20% NaN AUC', nanAuc, skNaNAuc.metric],
      ['breast_cancer 20% NaN OOB accuracy', rfNaN.oobScore!, skNaNAuc.oob],
    ] as const;
    console.log(
      `plinth vs scikit-learn (100 trees; breast_cancer fit ${tBc.toFixed(0)} ms):\n` +
        rows.map(([name, ours, sk]) => `  ${name}: ${ours.toFixed(4)} vs ${sk.toFixed(4)}`).join('\n'),
    );
    expect(Math.abs(acc - skAcc.metric)).toBeLessThanOrEqual(0.03);
    expect(Math.abs(auc - skAuc.metric)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(rfBc.oobScore! - skAuc.oob)).toBeLessThanOrEqual(0.03);
    // 45 test rows: one row is 0.022.
    expect(Math.abs(wineAcc - skWine.metric)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(rfWine.oobScore! - skWine.oob)).toBeLessThanOrEqual(0.04);
    expect(Math.abs(diabR2 - skDiab.metric)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(rfDiab.oobScore! - skDiab.oob)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(nanAcc - skNaNAcc.metric)).toBeLessThanOrEqual(0.04);
    expect(Math.abs(nanAuc - skNaNAuc.metric)).toBeLessThanOrEqual(0.03);
    expect(Math.abs(rfNaN.oobScore! - skNaNAuc.oob)).toBeLessThanOrEqual(0.04);

    // Importances: normalised like scikit-learn's, and as close to its as its own differ from
    // seed to seed (up to 0.095 on breast_cancer, whose correlated features share importance).
    const importanceGaps: string[] = [];
    for (const [name, r, sk] of [
      ['breast_cancer', rfBc, skAuc],
      ['wine', rfWine, skWine],
      ['diabetes', rfDiab, skDiab],
    ] as const) {
      expect(r.featureImportance.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      expect(r.featureImportance.every((v) => v >= 0)).toBe(true);
      const gap = Math.max(...r.featureImportance.map((v, j) => Math.abs(v - sk.importance[j])));
      importanceGaps.push(`${name} ${gap.toFixed(4)}`);
      expect(gap).toBeLessThanOrEqual(0.1);
    }
    console.log(`max |importance - scikit-learn's|: ${importanceGaps.join(', ')}`);

    // The compiled ONNX graph gives the same predictions.
    const onnxDiffs: string[] = [];
    for (const [name, s, model, tol] of [
      ['breast_cancer', bc, rfBc.model, 1e-5],
      ['wine', wine, rfWine.model, 1e-5],
      ['breast_cancer 20% NaN', bcNaN, rfNaN.model, 1e-5],
      // Predictions are ~25-350: a float32 ulp there is up to 3e-5.
      ['diabetes', diab, rfDiab.model, 1e-4],
    ] as const) {
      const report = await expectOnnxParity(
        { inputs: s.featureNames.map((n) => ({ name: n })), stages: [], model },
        s.xTest,
        tol,
      );
      onnxDiffs.push(`${name} ${JSON.stringify(report.diff)}`);
    }
    console.log(`ONNX vs predictTreeEnsemble max |diff|: ${onnxDiffs.join('; ')}`);
  });

  it('is deterministic per seed, whatever the thread count', () => {
    const s = split('iris', 3);
    const opts = { featureNames: s.featureNames, columns: s.xTrain, y: s.yTrain, task: 'classification' as const };
    const a = fitRandomForest({ ...opts, nEstimators: 20, seed: 7 });
    const b = fitRandomForest({ ...opts, nEstimators: 20, seed: 7 });
    const c = fitRandomForest({ ...opts, nEstimators: 20, seed: 8 });
    const progress: number[] = [];
    const d = fitRandomForest({
      ...opts,
      nEstimators: 20,
      seed: 7,
      threads: 2,
      onTree: (done, total) => progress.push(done / total),
    });
    expect(JSON.stringify(b.model)).toBe(JSON.stringify(a.model));
    expect(JSON.stringify(c.model)).not.toBe(JSON.stringify(a.model));
    expect(JSON.stringify(d.model)).toBe(JSON.stringify(a.model));
    expect(d.featureImportance).toEqual(a.featureImportance);
    expect(progress).toHaveLength(20);
    expect(progress[19]).toBe(1);
  });

  it('grows the same forest on worker threads from the compiled dist (as tslab loads it)', () => {
    // The test run's global setup builds kernel-lib/dist.
    const dist = path.resolve(__dirname, '../../dist/train/forest.js');
    const s = split('wine', 5);
    const input = {
      featureNames: s.featureNames,
      columns: s.xTrain.map((c) => Array.from(c)),
      y: Array.from(s.yTrain),
    };
    const script = `
      const { fitRandomForest } = require(${JSON.stringify(dist)});
      const d = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
      const r = fitRandomForest({ ...d, columns: d.columns.map((c) => Float64Array.from(c)), task: 'classification', nEstimators: 8, seed: 3, threads: 2 });
      process.stdout.write(JSON.stringify(r.model));
    `;
    const fromDist = execFileSync(process.execPath, ['-e', script], { input: JSON.stringify(input) }).toString();
    const here = fitRandomForest({ ...input, columns: s.xTrain, task: 'classification', nEstimators: 8, seed: 3 });
    expect(fromDist).toBe(JSON.stringify(here.model));
  });

  it('learns from missing values and puts NaN on the learned side; ONNX agrees on NaN and thresholds', async () => {
    const r = seededRandom(5);
    const n = 400;
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const missing = r() < 0.3;
      a[i] = missing ? NaN : Math.round(r() * 100) / 10;
      b[i] = r();
      // Missing rows are class 1, like high values of a; b is noise.
      y[i] = missing || a[i] > 7 ? 1 : 0;
    }
    const { model } = fitRandomForest({
      featureNames: ['a', 'b'],
      columns: [a, b],
      y,
      task: 'classification',
      nEstimators: 10,
      maxFeatures: 1,
      seed: 2,
    });
    validateTreeEnsemble(model);
    const test = [Float64Array.from([NaN, 1, 8, 7, 7.1, 6.9, 1e30, -1e30]), new Float64Array(8).fill(0.5)];
    const p = predictTreeEnsemble(model, test).probability!;
    expect(Array.from(p, (v) => Math.round(v))).toEqual([1, 0, 1, 0, 1, 0, 1, 0]);
    await expectOnnxParity({ inputs: [{ name: 'a' }, { name: 'b' }], stages: [], model }, test);
    // Every threshold is a float32 value, and training values on either side stay apart.
    for (const t of model.trees) for (const v of t.threshold) expect(Math.fround(v)).toBe(v);
  });

  it('regression, no bootstrap, depth and leaf limits, sample weights', () => {
    const s = split('diabetes', 4);
    const base = { featureNames: s.featureNames, columns: s.xTrain, y: s.yTrain, task: 'regression' as const };
    const shallow = fitRandomForest({ ...base, nEstimators: 5, maxDepth: 3, minSamplesLeaf: 5, bootstrap: false });
    for (const t of shallow.model.trees) {
      // Depth 3: at most 15 nodes; each leaf holds >= 5 rows.
      expect(t.feature.length).toBeLessThanOrEqual(15);
      t.feature.forEach((f, node) => {
        if (f < 0) expect(t.count![node]).toBeGreaterThanOrEqual(5);
      });
    }
    expect(shallow.oobScore).toBeUndefined();
    // Zero weights remove rows: the same as fitting without them.
    const w = Float64Array.from(s.yTrain, (_, i) => (i % 2 === 0 ? 1 : 0));
    const even = (c: Float64Array) => c.filter((_, i) => i % 2 === 0);
    const weighted = fitRandomForest({ ...base, nEstimators: 3, bootstrap: false, sampleWeight: w });
    const dropped = fitRandomForest({
      ...base,
      columns: s.xTrain.map(even),
      y: even(s.yTrain),
      nEstimators: 3,
      bootstrap: false,
    });
    const pw = predictTreeEnsemble(weighted.model, s.xTest).prediction!;
    const pd = predictTreeEnsemble(dropped.model, s.xTest).prediction!;
    expect(r2(pd, pw)).toBeGreaterThan(0.9);
  });

  it('rejects bad input, naming the option', () => {
    const base: RandomForestOptions = {
      featureNames: ['a', 'b'],
      columns: [Float64Array.from([1, 2, 3]), Float64Array.from([4, 5, 6])],
      y: [0, 1, 0],
      task: 'classification',
    };
    expect(() => fitRandomForest({ ...base, task: 'regression', y: [1, NaN, 2] })).toThrow(/y\[1\] is NaN/);
    expect(() => fitRandomForest({ ...base, columns: [base.columns[0], Float64Array.from([1, 2])] })).toThrow(
      /columns\[1\] \('b'\) has 2 rows but y has 3/,
    );
    expect(() => fitRandomForest({ ...base, featureNames: ['a'] })).toThrow(
      /featureNames has 1 names but columns has 2/,
    );
    expect(() => fitRandomForest({ ...base, nEstimators: 0 })).toThrow(/nEstimators must be a positive integer, got 0/);
    expect(() => fitRandomForest({ ...base, maxFeatures: 1.5 })).toThrow(/maxFeatures must be .* got 1.5/);
    expect(() => fitRandomForest({ ...base, maxDepth: 0 })).toThrow(/maxDepth/);
    expect(() => fitRandomForest({ ...base, minSamplesSplit: 1 })).toThrow(/minSamplesSplit/);
    expect(() => fitRandomForest({ ...base, minSamplesLeaf: 0.5 })).toThrow(/minSamplesLeaf/);
    expect(() => fitRandomForest({ ...base, threads: 0 })).toThrow(/threads/);
    expect(() => fitRandomForest({ ...base, bootstrap: false, oobScore: true })).toThrow(/oobScore needs bootstrap/);
    expect(() => fitRandomForest({ ...base, y: [1, 1, 1] })).toThrow(/single class/);
    expect(() => fitRandomForest({ ...base, sampleWeight: [1, -1, 1] })).toThrow(/sampleWeight at row 1/);
    expect(() => fitRandomForest({ ...base, columns: [Float64Array.from([1, Infinity, 3]), base.columns[1]] })).toThrow(
      /columns\[0\] \('a'\) row 1 is Infinity/,
    );
  });
});
