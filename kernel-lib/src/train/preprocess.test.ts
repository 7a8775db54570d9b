import { describe, expect, it } from 'vitest';
import {
  applyStages,
  featureScores,
  fitImputer,
  fitLabelEncoder,
  fitMinMaxScaler,
  fitOneHotEncoder,
  fitSelectFeatures,
  fitStandardScaler,
  stageOutputNames,
} from './preprocess';
import { loadDataset, seededRandom } from './test-support/datasets';
import { runPythonJson } from './test-support/python';

const f = (...v: number[]) => Float64Array.from(v);

describe('fitImputer', () => {
  it('uses the mean of observed values, 0 for an all-missing column', () => {
    const st = fitImputer(['a', 'b', 'c'], [f(1, NaN, 5), f(NaN, NaN, NaN), f(2, 2, 2)]);
    expect(st).toEqual({ kind: 'imputer', featureNames: ['a', 'b', 'c'], values: [3, 0, 2] });
  });

  it('fills NaN when applied and leaves the input untouched', () => {
    const cols = [f(1, NaN, 5), f(NaN, 4, NaN)];
    const st = fitImputer(['a', 'b'], cols);
    const out = applyStages([st], cols);
    expect(Array.from(out[0])).toEqual([1, 3, 5]);
    expect(Array.from(out[1])).toEqual([4, 4, 4]);
    expect(Number.isNaN(cols[0][1])).toBe(true);
  });

  it('rejects mismatched names and columns', () => {
    expect(() => fitImputer(['a'], [f(1), f(2)])).toThrow(/1 feature names but 2 columns/);
  });
});

describe('fitStandardScaler', () => {
  it('uses the population standard deviation, like scikit-learn', () => {
    const st = fitStandardScaler(['x'], [f(1, 2, 3, 4)]);
    expect(st.mean[0]).toBeCloseTo(2.5, 14);
    expect(st.scale[0]).toBeCloseTo(Math.sqrt(1.25), 14);
    const out = applyStages([st], [f(1, 2, 3, 4)]);
    const mean = out[0].reduce((s, v) => s + v, 0) / 4;
    const varr = out[0].reduce((s, v) => s + (v - mean) ** 2, 0) / 4;
    expect(mean).toBeCloseTo(0, 14);
    expect(varr).toBeCloseTo(1, 14);
  });

  it('gives a constant column scale 1 (also with a large offset), an all-NaN column mean 0 scale 1', () => {
    const st = fitStandardScaler(
      ['c', 'big', 'nan'],
      [f(7, 7, 7), f(1e9 + 0.1, 1e9 + 0.1, 1e9 + 0.1), f(NaN, NaN, NaN)],
    );
    expect(st.scale).toEqual([1, 1, 1]);
    expect(st.mean[0]).toBe(7);
    expect(st.mean[2]).toBe(0);
    expect(Array.from(applyStages([st], [f(7), f(1e9 + 0.1), f(5)])[0])).toEqual([0]);
  });

  it('ignores NaN when fitting; imputer then scaler compose', () => {
    const cols = [f(1, NaN, 3)];
    const sc = fitStandardScaler(['x'], cols);
    expect(sc.mean).toEqual([2]);
    expect(sc.scale).toEqual([1]);
    const imp = fitImputer(['x'], cols);
    const sc2 = fitStandardScaler(['x'], applyStages([imp], cols));
    const out = applyStages([imp, sc2], [f(NaN, 3)]);
    expect(out[0][0]).toBe(0);
    expect(out[0][1]).toBeCloseTo(1 / Math.sqrt(2 / 3), 14);
  });

  it('applyStages rejects a column count that does not match the stage', () => {
    const st = fitStandardScaler(['a', 'b'], [f(1, 2), f(3, 4)]);
    expect(() => applyStages([st], [f(1)])).toThrow(/fitted on 2 columns \(a, b\) but got 1/);
  });
});

describe('fitMinMaxScaler', () => {
  it('maps the observed range onto [0, 1] (or a given range), keeps NaN, handles constant and all-NaN columns', () => {
    const st = fitMinMaxScaler(['x', 'c', 'n'], [f(2, 4, NaN, 6), f(3, 3, 3, 3), f(NaN, NaN, NaN, NaN)]);
    expect(st).toEqual({
      kind: 'minMaxScaler',
      featureNames: ['x', 'c', 'n'],
      scale: [0.25, 1, 1],
      offset: [-0.5, -3, 0],
    });
    const out = applyStages([st], [f(2, 6, NaN, 8), f(3, 3, 3, 4), f(1, 2, 3, NaN)]);
    expect(Array.from(out[0])).toEqual([0, 1, NaN, 1.5]);
    expect(Array.from(out[1])).toEqual([0, 0, 0, 1]);
    expect(Array.from(out[2])).toEqual([1, 2, 3, NaN]);
    const r = fitMinMaxScaler(['x'], [f(0, 10)], [-1, 1]);
    expect(Array.from(applyStages([r], [f(0, 5, 10)])[0])).toEqual([-1, 0, 1]);
    expect(() => fitMinMaxScaler(['x'], [f(1)], [1, 1])).toThrow(/range \[1, 1\]/);
  });
});

describe('fitOneHotEncoder', () => {
  it('replaces the column by indicators appended at the end; NaN and unknown give zeros', () => {
    const st = fitOneHotEncoder(['a', 'b', 'c'], [f(1, 2, 3, 4), f(5, NaN, 3, 5), f(0, 0, 1, 1)], 'b');
    expect(st).toEqual({ kind: 'oneHotEncoder', featureNames: ['a', 'b', 'c'], column: 'b', categories: [3, 5] });
    expect(stageOutputNames(st)).toEqual(['a', 'c', 'b=3', 'b=5']);
    const out = applyStages([st], [f(1, 2, 3, 4), f(5, NaN, 3, 7), f(0, 0, 1, 1)]);
    expect(out.map((c) => Array.from(c))).toEqual([
      [1, 2, 3, 4],
      [0, 0, 1, 1],
      [0, 0, 1, 0],
      [1, 0, 0, 0],
    ]);
  });

  it('keeps the most frequent categories with maxCategories (ties keep the larger value)', () => {
    const st = fitOneHotEncoder(['k'], [f(1, 1, 1, 2, 2, 3, 3, 4, NaN, NaN, NaN, NaN)], 'k', { maxCategories: 2 });
    expect(st.categories).toEqual([1, 3]);
    expect(() => fitOneHotEncoder(['k'], [f(NaN)], 'k')).toThrow(/no observed/);
    expect(() => fitOneHotEncoder(['k'], [f(1)], 'z')).toThrow(/column 'z' is not among the features \(k\)/);
    expect(() => fitOneHotEncoder(['k'], [f(1, 16777217, 16777216)], 'k')).toThrow(/equal in float32/);
  });
});

describe('fitLabelEncoder', () => {
  it('encodes sorted distinct values by index; NaN and unknown become NaN', () => {
    const st = fitLabelEncoder(['x', 'code'], [f(1, 2, 3, 4), f(30, 10, 20, 10)], 'code');
    expect(st).toEqual({ kind: 'labelEncoder', featureNames: ['x', 'code'], column: 'code', categories: [10, 20, 30] });
    expect(stageOutputNames(st)).toEqual(['x', 'code']);
    const out = applyStages([st], [f(1, 2, 3), f(20, 99, NaN)]);
    expect(Array.from(out[0])).toEqual([1, 2, 3]);
    expect(Array.from(out[1])).toEqual([1, NaN, NaN]);
  });
});

describe('fitSelectFeatures', () => {
  const cols = [f(1, 1, 1, 1), f(0, 5, 9, 2), f(0, 0.1, 0, 0.1), f(NaN, NaN, NaN, NaN)];
  const names = ['c', 'x', 'small', 'nan'];

  it('keeps named columns in the given order', () => {
    const st = fitSelectFeatures(names, cols, { keep: ['small', 'c'] });
    expect(st).toEqual({ kind: 'selectFeatures', featureNames: names, keep: ['small', 'c'] });
    expect(applyStages([st], cols).map((c) => Array.from(c))).toEqual([Array.from(cols[2]), Array.from(cols[0])]);
    expect(() => fitSelectFeatures(names, cols, { keep: ['zz'] })).toThrow(/'zz' is not among the features/);
    expect(() => fitSelectFeatures(names, cols, { keep: ['x', 'x'] })).toThrow(/listed twice/);
  });

  it('drops low-variance and all-NaN columns by varianceThreshold', () => {
    expect(fitSelectFeatures(names, cols, { varianceThreshold: 0 }).keep).toEqual(['x', 'small']);
    expect(fitSelectFeatures(names, cols, { varianceThreshold: 0.01 }).keep).toEqual(['x']);
    expect(() => fitSelectFeatures(names, cols, { varianceThreshold: 100 })).toThrow(
      /no feature has a variance above 100/,
    );
  });

  it('keeps the k best by f_classif / f_regression, in column order', () => {
    const y = [0, 0, 1, 1];
    const st = fitSelectFeatures(['a', 'b', 'c'], [f(1, 2, 3, 4), f(4, 1, 2, 2), f(0, 0, 9, 9)], {
      k: 2,
      y,
      scoreFunc: 'f_classif',
    });
    expect(st.keep).toEqual(['a', 'c']);
    expect(Array.from(featureScores([f(1, 2, 3, 4)], y, 'f_classif'))).toEqual([8]);
    expect(() => fitSelectFeatures(['a'], [f(1, 2, 3, 4)], { k: 2, y, scoreFunc: 'f_classif' })).toThrow(/k is 2/);
    expect(() => fitSelectFeatures(['a'], [f(1, NaN, 3, 4)], { k: 1, y, scoreFunc: 'f_regression' })).toThrow(
      /impute missing values/,
    );
  });
});

const SKLEARN_STAGES = `
import json, sys, warnings
import numpy as np
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder
from sklearn.feature_selection import VarianceThreshold, SelectKBest, f_classif, f_regression
warnings.simplefilter("ignore")
d = json.load(sys.stdin)
def arr(cols):
    return np.array([[np.nan if v is None else v for v in c] for c in cols], dtype=float).T
out = {}
X = arr(d["mm"])
s = MinMaxScaler().fit(X); out["mm"] = [s.scale_.tolist(), s.min_.tolist()]
s = MinMaxScaler(feature_range=(-2, 3)).fit(X); out["mmRange"] = [s.scale_.tolist(), s.min_.tolist()]
cat = arr([d["cat"]])
e = OneHotEncoder(handle_unknown="ignore").fit(cat)
out["cats"] = [v for v in e.categories_[0].tolist() if v == v]
e = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=d["maxCat"] + 1).fit(cat)
infreq = set((e.infrequent_categories_[0] if e.infrequent_categories_[0] is not None else []).tolist())
out["frequent"] = [v for v in e.categories_[0].tolist() if v == v and v not in infreq]
o = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan).fit(cat)
out["ordinal"] = [None if v != v else v for v in o.transform(arr([d["catTest"]]))[:, 0].tolist()]
V = arr(d["var"])
out["var"] = {str(t): VarianceThreshold(t).fit(V).get_support().tolist() for t in d["thresholds"]}
out["kbest"] = {}
for name, c in d["kbest"].items():
    fn = f_classif if c["scoreFunc"] == "f_classif" else f_regression
    sel = SelectKBest(fn, k=c["k"]).fit(arr(c["x"]), np.array(c["y"]))
    out["kbest"][name] = [sel.get_support().tolist(), [None if not np.isfinite(v) else float(v) for v in sel.scores_]]
print(json.dumps(out))
`;

describe('stages against scikit-learn', () => {
  it('fitted parameters match MinMaxScaler, OneHotEncoder, OrdinalEncoder, VarianceThreshold, SelectKBest', () => {
    const bc = loadDataset('breast_cancer');
    const rand = seededRandom(17);
    // Some NaN, a constant and an all-but-NaN column on top of breast_cancer's first 8 columns.
    const mm = bc.columns.slice(0, 8).map((c) => Float64Array.from(c, (v) => (rand() < 0.05 ? NaN : v)));
    mm.push(Float64Array.from(mm[0], () => 7.25));
    const cat = Float64Array.from({ length: 300 }, () => {
      const r = rand();
      return r < 0.1 ? NaN : [1, 2, 3, 5, 8, 13][Math.floor(rand() * rand() * 6)];
    });
    const catTest = f(1, 2, 3, 4, NaN, 13, 0, 8);
    const varCols = [...bc.columns.slice(10, 20), mm[8], mm[3]];
    const thresholds = [0, 0.001, 0.5];
    const wine = loadDataset('wine');
    const diabetes = loadDataset('diabetes');
    const kbest = {
      bc: { x: bc.columns, y: bc.y, k: 7, scoreFunc: 'f_classif' as const },
      wine: { x: wine.columns, y: wine.y, k: 4, scoreFunc: 'f_classif' as const },
      diabetes: { x: diabetes.columns, y: diabetes.y, k: 3, scoreFunc: 'f_regression' as const },
    };
    const toJson = (c: Float64Array) => Array.from(c, (v) => (Number.isNaN(v) ? null : v));
    const sk = runPythonJson<{
      mm: [number[], number[]];
      mmRange: [number[], number[]];
      cats: number[];
      frequent: number[];
      ordinal: (number | null)[];
      var: Record<string, boolean[]>;
      kbest: Record<string, [boolean[], (number | null)[]]>;
    }>(SKLEARN_STAGES, {
      mm: mm.map(toJson),
      cat: toJson(cat),
      catTest: toJson(catTest),
      maxCat: 3,
      var: varCols.map(toJson),
      thresholds,
      kbest: Object.fromEntries(
        Object.entries(kbest).map(([k, c]) => [k, { ...c, x: c.x.map(toJson), y: Array.from(c.y) }]),
      ),
    });
    const mmNames = mm.map((_, j) => `m${j}`);
    const near = (got: number[], want: number[]) =>
      got.forEach((v, j) => expect(Math.abs(v - want[j])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want[j]))));
    const st = fitMinMaxScaler(mmNames, mm);
    near(st.scale, sk.mm[0]);
    near(st.offset, sk.mm[1]);
    const st2 = fitMinMaxScaler(mmNames, mm, [-2, 3]);
    near(st2.scale, sk.mmRange[0]);
    near(st2.offset, sk.mmRange[1]);

    expect(fitOneHotEncoder(['k'], [cat], 'k').categories).toEqual(sk.cats);
    expect(fitOneHotEncoder(['k'], [cat], 'k', { maxCategories: 3 }).categories).toEqual(sk.frequent);
    const le = fitLabelEncoder(['k'], [cat], 'k');
    expect(toJson(applyStages([le], [catTest])[0])).toEqual(sk.ordinal);

    const varNames = varCols.map((_, j) => `v${j}`);
    for (const t of thresholds) {
      const keep = fitSelectFeatures(varNames, varCols, { varianceThreshold: t }).keep;
      expect(keep, `threshold ${t}`).toEqual(varNames.filter((_, j) => sk.var[String(t)][j]));
    }
    for (const [name, c] of Object.entries(kbest)) {
      const fnames = c.x.map((_, j) => `f${j}`);
      const [support, scores] = sk.kbest[name];
      expect(fitSelectFeatures(fnames, c.x, c).keep, name).toEqual(fnames.filter((_, j) => support[j]));
      const ours = featureScores(c.x, c.y, c.scoreFunc);
      scores.forEach((want, j) => {
        expect(want).not.toBeNull();
        expect(Math.abs(ours[j] - (want as number))).toBeLessThanOrEqual(1e-9 * Math.abs(want as number));
      });
    }
  });
});
