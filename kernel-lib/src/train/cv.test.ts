import { describe, expect, it } from 'vitest';
import { crossValidate, kFold } from './cv';
import { fitLogisticRegression, predictProba } from './logistic';
import { rocAuc } from './metrics';
import { fitStandardScaler, applyStages } from './preprocess';
import { loadDataset, takeRows, takeY } from './test-support/datasets';
import { runPythonJson } from './test-support/python';

const SKLEARN_FOLDS = `
import json, sys
import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold
d = json.load(sys.stdin)
out = {}
for name, c in d["cases"].items():
    X = np.zeros((c["n"], 1))
    if "y" in c:
        splits = StratifiedKFold(n_splits=c["k"]).split(X, np.array(c["y"]))
    else:
        splits = KFold(n_splits=c["k"]).split(X)
    out[name] = [[tr.tolist(), te.tolist()] for tr, te in splits]
print(json.dumps(out))
`;

describe('kFold', () => {
  const iris = loadDataset('iris');
  const wine = loadDataset('wine');
  // Unbalanced labels in a scrambled order, including a class smaller than k.
  const odd = Array.from({ length: 53 }, (_, i) => (i % 7 === 0 ? 2 : (i * 31) % 5 === 0 ? 1 : i === 52 ? 9 : 0));

  it('matches scikit-learn KFold and StratifiedKFold without shuffling', () => {
    const cases = {
      plain10_3: { n: 10, k: 3 },
      plain150_7: { n: 150, k: 7 },
      irisStrat: { n: 150, k: 5, y: Array.from(iris.y) },
      wineStrat: { n: 178, k: 4, y: Array.from(wine.y) },
      oddStrat: { n: odd.length, k: 3, y: odd },
    };
    const sk = runPythonJson<Record<string, [number[], number[]][]>>(SKLEARN_FOLDS, { cases });
    for (const [name, c] of Object.entries(cases)) {
      const folds = kFold(c.n, c.k, 'y' in c ? { stratify: c.y } : {});
      expect(
        folds.map((f) => [[...f.train], [...f.test]]),
        name,
      ).toEqual(sk[name]);
    }
  });

  it('shuffled stratified folds keep class proportions, cover every row once, and are seeded', () => {
    const y = wine.y;
    const folds = kFold(y.length, 5, { shuffle: true, seed: 7, stratify: y });
    const seen = new Int32Array(y.length);
    const classes = [0, 1, 2];
    const total = classes.map((c) => y.filter((v) => v === c).length);
    for (const f of folds) {
      f.test.forEach((i) => seen[i]++);
      expect(f.train.length + f.test.length).toBe(y.length);
      classes.forEach((c, j) => {
        const inFold = Array.from(f.test).filter((i) => y[i] === c).length;
        expect(Math.abs(inFold - total[j] / 5)).toBeLessThan(1);
      });
    }
    expect([...seen].every((v) => v === 1)).toBe(true);
    const again = kFold(y.length, 5, { shuffle: true, seed: 7, stratify: y });
    expect(again.map((f) => [...f.test])).toEqual(folds.map((f) => [...f.test]));
    const other = kFold(y.length, 5, { shuffle: true, seed: 8, stratify: y });
    expect(other.map((f) => [...f.test])).not.toEqual(folds.map((f) => [...f.test]));
    // Unstratified shuffled folds: sizes differ by at most one and are not contiguous.
    const plain = kFold(11, 3, { shuffle: true, seed: 1 });
    expect(plain.map((f) => f.test.length)).toEqual([4, 4, 3]);
    expect(plain[0].test[plain[0].test.length - 1] - plain[0].test[0]).toBeGreaterThan(3);
  });

  it('rejects bad arguments', () => {
    expect(() => kFold(3, 4)).toThrow(/cannot make 4 folds of 3 rows/);
    expect(() => kFold(10, 1)).toThrow(/k is 1/);
    expect(() => kFold(4, 2, { stratify: [0, 1, 2] })).toThrow(/3 labels for 4 rows/);
    expect(() => kFold(4, 3, { stratify: [0, 0, 1, 1] })).toThrow(/greater than the number of rows in every class/);
  });
});

describe('crossValidate', () => {
  it('scores a logistic regression on breast_cancer per fold, with mean and population std', () => {
    const ds = loadDataset('breast_cancer');
    const res = crossValidate({
      n: ds.y.length,
      k: 5,
      shuffle: true,
      seed: 3,
      stratify: ds.y,
      fitAndScore: (train, test) => {
        const trainCols = takeRows(ds.columns, train);
        const scaler = fitStandardScaler(ds.featureNames, trainCols);
        const model = fitLogisticRegression({
          featureNames: ds.featureNames,
          columns: applyStages([scaler], trainCols),
          y: takeY(ds.y, train),
        });
        const p = predictProba(model, applyStages([scaler], takeRows(ds.columns, test)));
        return { auc: rocAuc(takeY(ds.y, test), p), rows: test.length };
      },
    });
    expect(res.scores.length).toBe(5);
    expect(res.folds.length).toBe(5);
    expect(res.mean.rows).toBeCloseTo(569 / 5, 12);
    expect(res.mean.auc).toBeGreaterThan(0.98);
    const aucs = res.scores.map((s) => s.auc);
    const m = aucs.reduce((a, b) => a + b, 0) / 5;
    expect(res.mean.auc).toBeCloseTo(m, 14);
    expect(res.std.auc).toBeCloseTo(Math.sqrt(aucs.reduce((a, b) => a + (b - m) ** 2, 0) / 5), 14);
  });

  it('requires the same score names in every fold', () => {
    expect(() =>
      crossValidate({ n: 6, k: 2, fitAndScore: (_tr, _te, fold) => (fold === 0 ? { a: 1 } : { b: 1 }) }),
    ).toThrow(/fold 1 returned scores \[b\], fold 0 \[a\]/);
  });
});
