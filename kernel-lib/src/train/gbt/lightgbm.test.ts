/**
 * Parity with LightGBM 4.x (Python): the same data, split and parameters on both sides; the
 * held-out metrics must be within stated tolerances of LightGBM's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { accuracy, logLoss, rocAuc } from '../metrics';
import { loadDataset, takeRows, takeY, trainTestSplit } from '../test-support/datasets';
import { runPythonJson } from '../test-support/python';
import { predictTreeEnsemble, validateTreeEnsemble } from '../tree-ensemble';
import { fitGbt, type GbtOptions } from './index';
import { synthetic, testRng } from './test-support/synthetic';

const LGB_SCRIPT = `
import json, sys
import numpy as np
import lightgbm as lgb
out = []
for d in json.load(sys.stdin):
    X = np.array(d['X'], dtype=float).T
    Xt = np.array(d['Xt'], dtype=float).T
    params = dict(d['params'], verbose=-1, num_threads=1, deterministic=True, seed=0)
    b = lgb.train(params, lgb.Dataset(X, np.array(d['y'], dtype=float)), num_boost_round=d['rounds'])
    out.append({'pred': np.asarray(b.predict(Xt)).ravel().tolist(), 'trees': b.num_trees()})
print(json.dumps(out))
`;

interface Case {
  name: string;
  objective: GbtOptions['objective'];
  numClass?: number;
  train: Float64Array[];
  yTrain: Float64Array;
  test: Float64Array[];
  yTest: Float64Array;
  numLeaves: number;
  minDataInLeaf: number;
  rounds: number;
}

const LGB_OBJECTIVE = {
  binary: 'binary',
  multiclass: 'multiclass',
  regression: 'regression',
  regression_l1: 'l1',
  huber: 'huber',
};

/** LightGBM's held-out predictions for all cases, in one Python run (its start-up is slow). */
function trainLightGbm(cases: Case[]): { pred: Float64Array; trees: number }[] {
  const out = runPythonJson<{ pred: number[]; trees: number }[]>(
    LGB_SCRIPT,
    cases.map((c) => ({
      X: c.train.map((col) => Array.from(col)),
      y: Array.from(c.yTrain),
      Xt: c.test.map((col) => Array.from(col)),
      rounds: c.rounds,
      params: {
        objective: LGB_OBJECTIVE[c.objective],
        num_class: c.numClass ?? 1,
        num_leaves: c.numLeaves,
        min_data_in_leaf: c.minDataInLeaf,
        learning_rate: 0.1,
        max_bin: 255,
      },
    })),
  );
  return out.map((o) => ({ pred: Float64Array.from(o.pred), trees: o.trees }));
}

let lightGbm: { pred: Float64Array; trees: number }[] = [];

/** Trains ours; returns both held-out predictions (probability, K probabilities row-major, or value). */
function trainBoth(c: Case): { ours: Float64Array; lgb: Float64Array } {
  const res = fitGbt({
    featureNames: c.train.map((_, j) => `f${j}`),
    columns: c.train,
    y: c.yTrain,
    objective: c.objective,
    numClass: c.numClass,
    numIterations: c.rounds,
    numLeaves: c.numLeaves,
    minDataInLeaf: c.minDataInLeaf,
    learningRate: 0.1,
  });
  validateTreeEnsemble(res.model);
  const pr = predictTreeEnsemble(res.model, c.test);
  const ours = pr.probability ?? pr.probabilities ?? pr.prediction!;
  const out = lightGbm[CASES.indexOf(c)];
  expect(res.model.trees.length).toBe(out.trees);
  return { ours, lgb: out.pred };
}

function rmse(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] - p[i]) ** 2;
  return Math.sqrt(s / y.length);
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

function argmaxRows(p: Float64Array, k: number): Float64Array {
  const n = p.length / k;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c] > p[i * k + best]) best = c;
    out[i] = best;
  }
  return out;
}

function multiLogLoss(y: ArrayLike<number>, p: Float64Array, k: number): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s -= Math.log(Math.max(1e-15, p[i * k + y[i]]));
  return s / y.length;
}

function fromDataset(
  name: 'breast_cancer' | 'diabetes' | 'wine' | 'iris',
): Pick<Case, 'train' | 'yTrain' | 'test' | 'yTest'> {
  const d = loadDataset(name);
  const { train, test } = trainTestSplit(d.y.length, 0.25, 42);
  return {
    train: takeRows(d.columns, train),
    yTrain: takeY(d.y, train),
    test: takeRows(d.columns, test),
    yTest: takeY(d.y, test),
  };
}

const split = (cols: Float64Array[], a: number, b: number): Float64Array[] => cols.map((c) => c.slice(a, b));
const binSyn = synthetic(4000, 8, 'binary', 21);
{
  const r = testRng(3);
  for (let i = 0; i < 4000; i++) if (r.u() < 0.15) binSyn.columns[0][i] = NaN;
}
const regSyn = synthetic(4000, 6, 'regression', 22);
const syn = {
  train: split(regSyn.columns, 0, 3000),
  yTrain: regSyn.y.slice(0, 3000),
  test: split(regSyn.columns, 3000, 4000),
  yTest: regSyn.y.slice(3000),
};
const BINARY: Case[] = [
  {
    name: 'synthetic (15% NaN in f0)',
    objective: 'binary',
    train: split(binSyn.columns, 0, 3000),
    yTrain: binSyn.y.slice(0, 3000),
    test: split(binSyn.columns, 3000, 4000),
    yTest: binSyn.y.slice(3000),
    numLeaves: 31,
    minDataInLeaf: 20,
    rounds: 100,
  },
  {
    name: 'breast_cancer',
    objective: 'binary',
    ...fromDataset('breast_cancer'),
    numLeaves: 15,
    minDataInLeaf: 10,
    rounds: 100,
  },
];
const MULTICLASS: Case[] = (['iris', 'wine'] as const).map((name) => ({
  name,
  objective: 'multiclass',
  numClass: 3,
  ...fromDataset(name),
  numLeaves: 7,
  minDataInLeaf: 5,
  rounds: 50,
}));
const REGRESSION: Case[] = [
  {
    name: 'diabetes',
    objective: 'regression',
    ...fromDataset('diabetes'),
    numLeaves: 7,
    minDataInLeaf: 10,
    rounds: 100,
  },
  { name: 'synthetic', objective: 'regression', ...syn, numLeaves: 31, minDataInLeaf: 20, rounds: 100 },
  { name: 'synthetic', objective: 'regression_l1', ...syn, numLeaves: 31, minDataInLeaf: 20, rounds: 100 },
  { name: 'synthetic', objective: 'huber', ...syn, numLeaves: 31, minDataInLeaf: 20, rounds: 100 },
];
const CASES = [...BINARY, ...MULTICLASS, ...REGRESSION];

describe('fitGbt vs LightGBM', () => {
  beforeAll(() => {
    lightGbm = trainLightGbm(CASES);
  });

  it('binary: synthetic with missing values, and breast_cancer', () => {
    for (const c of BINARY) {
      const { ours, lgb } = trainBoth(c);
      const aucO = rocAuc(c.yTest, ours);
      const aucL = rocAuc(c.yTest, lgb);
      const llO = logLoss(c.yTest, ours);
      const llL = logLoss(c.yTest, lgb);
      console.log(
        `binary ${c.name}: AUC ours ${aucO.toFixed(4)} LightGBM ${aucL.toFixed(4)}; log-loss ours ${llO.toFixed(4)} ` +
          `LightGBM ${llL.toFixed(4)}; mean |p diff| ${meanAbsDiff(ours, lgb).toFixed(4)}`,
      );
      expect(aucO - aucL).toBeGreaterThanOrEqual(-0.01);
      expect(llO).toBeLessThanOrEqual(llL * 1.1 + 0.01);
    }
  });

  it('multiclass: iris and wine', () => {
    for (const c of MULTICLASS) {
      const name = c.name;
      const { ours, lgb } = trainBoth(c);
      const accO = accuracy(c.yTest, argmaxRows(ours, 3));
      const accL = accuracy(c.yTest, argmaxRows(lgb, 3));
      const llO = multiLogLoss(c.yTest, ours, 3);
      const llL = multiLogLoss(c.yTest, lgb, 3);
      console.log(
        `multiclass ${name}: accuracy ours ${accO.toFixed(4)} LightGBM ${accL.toFixed(4)}; log-loss ours ` +
          `${llO.toFixed(4)} LightGBM ${llL.toFixed(4)}; mean |p diff| ${meanAbsDiff(ours, lgb).toFixed(4)}`,
      );
      // One of ~40 held-out rows is 0.026 of accuracy.
      expect(accO - accL).toBeGreaterThanOrEqual(-0.03);
      expect(llO).toBeLessThanOrEqual(llL * 1.15 + 0.02);
    }
  });

  it('regression: diabetes (L2) and synthetic (L2, L1, Huber)', () => {
    for (const c of REGRESSION) {
      const { ours, lgb } = trainBoth(c);
      const eO = rmse(c.yTest, ours);
      const eL = rmse(c.yTest, lgb);
      console.log(
        `${c.objective} ${c.name}: RMSE ours ${eO.toFixed(4)} LightGBM ${eL.toFixed(4)} (ratio ${(eO / eL).toFixed(4)}); ` +
          `mean |pred diff| ${meanAbsDiff(ours, lgb).toFixed(4)}`,
      );
      expect(eO).toBeLessThanOrEqual(eL * 1.05);
    }
  });
});
