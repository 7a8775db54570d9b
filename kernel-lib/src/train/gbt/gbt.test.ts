import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { accuracy, rocAuc } from '../metrics';
import { predictTreeEnsemble, validateTreeEnsemble } from '../tree-ensemble';
import type { DecisionTree, TreeEnsembleModel } from '../types';
import { fitGbt, type GbtOptions } from './index';
import { sliceRows, synthetic, testRng } from './test-support/synthetic';

function depthOf(t: DecisionTree, node = 0): number {
  return t.feature[node] < 0 ? 0 : 1 + Math.max(depthOf(t, t.left[node]), depthOf(t, t.right[node]));
}

const leaves = (t: DecisionTree): number[] => t.feature.flatMap((f, i) => (f < 0 ? [i] : []));

function rmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

function logLossOf(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s -= y[i] === 1 ? Math.log(p[i]) : Math.log(1 - p[i]);
  return s / y.length;
}

describe('fitGbt', () => {
  const bin = synthetic(4000, 6, 'binary', 1);
  const trainB = sliceRows(bin.columns, 0, 3000);
  const testB = sliceRows(bin.columns, 3000, 4000);
  const yTrainB = bin.y.slice(0, 3000);
  const yTestB = bin.y.slice(3000);

  it('learns a binary problem; the model validates and predicts its own training scores', () => {
    const res = fitGbt({
      featureNames: bin.names,
      columns: trainB,
      y: yTrainB,
      objective: 'binary',
      numIterations: 60,
      validation: { columns: testB, y: yTestB },
    });
    const m = res.model;
    validateTreeEnsemble(m);
    expect(m).toMatchObject({ task: 'binary', nOutputs: 1, postTransform: 'logistic', classes: [0, 1] });
    expect(m.algorithm).toBe('gbt');
    expect(m.trees).toHaveLength(60);
    expect(m.params).toMatchObject({ numLeaves: 31, learningRate: 0.1, objective: 'binary' });
    const p = predictTreeEnsemble(m, testB).probability!;
    const auc = rocAuc(yTestB, p);
    console.log(`binary synthetic: held-out AUC ${auc.toFixed(4)}`);
    expect(auc).toBeGreaterThan(0.85);
    // The trainer's own scores (behind trainLoss / validLoss) equal the predictor's.
    const last = res.history[res.history.length - 1];
    expect(logLossOf(yTrainB, predictTreeEnsemble(m, trainB).probability!)).toBeCloseTo(last.trainLoss!, 12);
    expect(logLossOf(yTestB, p)).toBeCloseTo(last.validLoss!, 12);
    // Base score is the log-odds of the mean label.
    const mean = yTrainB.reduce((a, b) => a + b, 0) / yTrainB.length;
    expect(m.baseScore[0]).toBeCloseTo(Math.log(mean / (1 - mean)), 12);
    expect(res.featureImportance.split.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // f0..f3 carry the signal, f4 and f5 are noise.
    expect(res.featureImportance.gain[0]).toBeGreaterThan(res.featureImportance.gain[4]);
    // Thresholds are float32 and every node has a count.
    for (const t of m.trees) {
      expect(t.count).toHaveLength(t.feature.length);
      expect(t.gain).toHaveLength(t.feature.length);
      expect(t.count![0]).toBe(3000);
    }
  });

  it('learns a regression problem (L2, L1, Huber)', () => {
    const d = synthetic(4000, 5, 'regression', 2);
    const tr = sliceRows(d.columns, 0, 3000);
    const te = sliceRows(d.columns, 3000, 4000);
    const yTr = d.y.slice(0, 3000);
    const yTe = d.y.slice(3000);
    let sd = 0;
    const mean = yTe.reduce((a, b) => a + b, 0) / yTe.length;
    for (const v of yTe) sd += (v - mean) ** 2;
    sd = Math.sqrt(sd / yTe.length);
    for (const objective of ['regression', 'regression_l1', 'huber'] as const) {
      const res = fitGbt({ featureNames: d.names, columns: tr, y: yTr, objective, numIterations: 100 });
      validateTreeEnsemble(res.model);
      expect(res.model).toMatchObject({ task: 'regression', postTransform: 'none', nOutputs: 1 });
      const e = rmse(yTe, predictTreeEnsemble(res.model, te).prediction!);
      console.log(`regression synthetic (${objective}): held-out RMSE ${e.toFixed(4)}, label sd ${sd.toFixed(4)}`);
      expect(e).toBeLessThan(0.4 * sd);
      const last = res.history[res.history.length - 1];
      const pTr = predictTreeEnsemble(res.model, tr).prediction!;
      if (objective === 'regression') expect(rmse(yTr, pTr) ** 2).toBeCloseTo(last.trainLoss!, 10);
      if (objective === 'regression_l1') {
        const sorted = Float64Array.from(yTr).sort();
        expect(res.model.baseScore[0]).toBe((sorted[1499] + sorted[1500]) / 2);
        let mae = 0;
        for (let i = 0; i < 3000; i++) mae += Math.abs(yTr[i] - pTr[i]) / 3000;
        expect(mae).toBeCloseTo(last.trainLoss!, 10);
      }
    }
  });

  it('learns a multiclass problem with one tree per class per iteration', () => {
    const d = synthetic(3000, 5, 'multiclass', 3);
    const tr = sliceRows(d.columns, 0, 2000);
    const te = sliceRows(d.columns, 2000, 3000);
    const res = fitGbt({
      featureNames: d.names,
      columns: tr,
      y: d.y.slice(0, 2000),
      objective: 'multiclass',
      numIterations: 40,
    });
    const m = res.model;
    validateTreeEnsemble(m);
    expect(m).toMatchObject({ task: 'multiclass', nOutputs: 3, postTransform: 'softmax', classes: [0, 1, 2] });
    expect(m.trees).toHaveLength(120);
    m.trees.forEach((t, i) => expect(t.outputs).toEqual([i % 3]));
    const acc = accuracy(d.y.slice(2000), predictTreeEnsemble(m, te).label!);
    console.log(`multiclass synthetic: held-out accuracy ${acc.toFixed(4)}`);
    expect(acc).toBeGreaterThan(0.8);
    // Multiclass scores start from the log class shares (LightGBM's boost_from_average).
    const share0 = d.y.slice(0, 2000).filter((v) => v === 0).length / 2000;
    expect(m.baseScore[0]).toBeCloseTo(Math.log(share0), 12);
    const pr = predictTreeEnsemble(m, tr).probabilities!;
    let ll = 0;
    for (let i = 0; i < 2000; i++) ll -= Math.log(pr[i * 3 + d.y[i]]) / 2000;
    expect(ll).toBeCloseTo(res.history[39].trainLoss!, 10);
  });

  it('sends missing values the learned way, left or right', () => {
    for (const nanLabel of [0, 1]) {
      const r = testRng(7 + nanLabel);
      const n = 2000;
      const x = new Float64Array(n);
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (r.u() < 0.25) {
          x[i] = NaN;
          y[i] = r.u() < 0.95 ? nanLabel : 1 - nanLabel;
        } else {
          x[i] = r.u();
          y[i] = x[i] > 0.5 ? 1 : 0;
        }
      }
      const { model } = fitGbt({ featureNames: ['x'], columns: [x], y, objective: 'binary', numIterations: 30 });
      validateTreeEnsemble(model);
      const p = predictTreeEnsemble(model, [Float64Array.from([NaN, 0.2, 0.8])]).probability!;
      if (nanLabel === 1) expect(p[0]).toBeGreaterThan(0.8);
      else expect(p[0]).toBeLessThan(0.2);
      expect(p[1]).toBeLessThan(0.2);
      expect(p[2]).toBeGreaterThan(0.8);
      // Both directions occur among the first tree's splits on x.
      expect(model.trees[0].defaultLeft.some((v, i) => model.trees[0].feature[i] >= 0 && v === (nanLabel === 0))).toBe(
        true,
      );
    }
  });

  it('respects maxDepth, numLeaves and minDataInLeaf', () => {
    const base: GbtOptions = {
      featureNames: bin.names,
      columns: trainB,
      y: yTrainB,
      objective: 'binary',
      numIterations: 10,
    };
    const deep = fitGbt({ ...base, numLeaves: 64, maxDepth: 3 }).model;
    for (const t of deep.trees) expect(depthOf(t)).toBeLessThanOrEqual(3);
    expect(Math.max(...deep.trees.map((t) => depthOf(t)))).toBe(3);
    const small = fitGbt({ ...base, numLeaves: 5 }).model;
    for (const t of small.trees) expect(leaves(t).length).toBeLessThanOrEqual(5);
    expect(small.trees.some((t) => leaves(t).length === 5)).toBe(true);
    const big = fitGbt({ ...base, minDataInLeaf: 300 }).model;
    for (const t of big.trees) for (const l of leaves(t)) expect(t.count![l]).toBeGreaterThanOrEqual(300);
    // Without the limit some leaves are smaller.
    const free = fitGbt({ ...base }).model;
    expect(free.trees.some((t) => leaves(t).some((l) => t.count![l] < 300))).toBe(true);
  });

  it('stops early at the best validation iteration and drops later trees', () => {
    const d = synthetic(1500, 6, 'binary', 11);
    const res = fitGbt({
      featureNames: d.names,
      columns: sliceRows(d.columns, 0, 800),
      y: d.y.slice(0, 800),
      objective: 'binary',
      numIterations: 500,
      learningRate: 0.3,
      minDataInLeaf: 5,
      validation: { columns: sliceRows(d.columns, 800, 1500), y: d.y.slice(800) },
      earlyStoppingRounds: 10,
    });
    const losses = res.history.map((h) => h.validLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    console.log(`early stopping: best iteration ${res.bestIteration}, ran ${res.history.length}`);
    expect(res.bestIteration).toBe(best);
    expect(res.history.length).toBe(best + 10);
    expect(res.history.length).toBeLessThan(500);
    expect(res.model.trees).toHaveLength(best);
    const p = predictTreeEnsemble(res.model, sliceRows(d.columns, 800, 1500)).probability!;
    expect(logLossOf(d.y.slice(800), p)).toBeCloseTo(losses[best - 1], 12);
  });

  it('uses sample weights', () => {
    // Two groups with opposite rules; the weights decide which one the model follows.
    const r = testRng(5);
    const n = 2000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    const wA = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = r.u();
      const a = i % 2 === 0;
      y[i] = x[i] > 0.5 === a ? 1 : 0;
      wA[i] = a ? 1 : 0.01;
    }
    const wB = wA.map((v) => (v === 1 ? 0.01 : 1));
    const opts: GbtOptions = { featureNames: ['x'], columns: [x], y, objective: 'binary', numIterations: 20 };
    const q = Float64Array.from([0.1, 0.9]);
    const pa = predictTreeEnsemble(fitGbt({ ...opts, sampleWeight: wA }).model, [q]).probability!;
    const pb = predictTreeEnsemble(fitGbt({ ...opts, sampleWeight: wB }).model, [q]).probability!;
    expect(pa[0]).toBeLessThan(0.2);
    expect(pa[1]).toBeGreaterThan(0.8);
    expect(pb[0]).toBeGreaterThan(0.8);
    expect(pb[1]).toBeLessThan(0.2);
  });

  it('is deterministic for a seed (bagging, feature fraction)', () => {
    const opts: GbtOptions = {
      featureNames: bin.names,
      columns: trainB,
      y: yTrainB,
      objective: 'binary',
      numIterations: 15,
      baggingFraction: 0.7,
      baggingFreq: 1,
      featureFraction: 0.5,
      seed: 42,
    };
    const a = JSON.stringify(fitGbt(opts).model);
    const b = JSON.stringify(fitGbt(opts).model);
    const c = JSON.stringify(fitGbt({ ...opts, seed: 43 }).model);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    const m = fitGbt(opts).model;
    validateTreeEnsemble(m);
    // Each tree splits on at most 3 of the 6 features; bagged trees see 70% of the rows.
    for (const t of m.trees) {
      expect(new Set(t.feature.filter((f) => f >= 0)).size).toBeLessThanOrEqual(3);
      expect(t.count![0]).toBe(2100);
    }
    const auc = rocAuc(yTestB, predictTreeEnsemble(m, testB).probability!);
    expect(auc).toBeGreaterThan(0.8);
  });

  it('gives the same model whatever the thread count', () => {
    const d = synthetic(6000, 7, 'multiclass', 9);
    const r = testRng(4);
    for (let i = 0; i < 6000; i++) if (r.u() < 0.1) d.columns[1][i] = NaN;
    const opts: GbtOptions = {
      featureNames: d.names,
      columns: d.columns,
      y: d.y,
      objective: 'multiclass',
      numIterations: 8,
      baggingFraction: 0.8,
      baggingFreq: 2,
      featureFraction: 0.8,
      seed: 3,
    };
    const one = JSON.stringify(fitGbt({ ...opts, threads: 1 }).model);
    for (const threads of [2, 3]) {
      const res = fitGbt({ ...opts, threads });
      expect(res.model.params).toMatchObject({ threads });
      const m = { ...res.model, params: { ...res.model.params, threads: 1 } };
      expect(JSON.stringify(m)).toBe(one);
    }
  });

  it('runs its worker threads from the CommonJS build too', () => {
    // The test setup builds kernel-lib/dist (vitest.build.mts); the workers run compiled code there.
    const dist = path.resolve(__dirname, '../../../dist/train/gbt/index.js');
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build kernel-lib (npx tsc -b kernel-lib)`);
    const built = createRequire(__filename)(dist) as { fitGbt: typeof fitGbt };
    const opts: GbtOptions = {
      featureNames: bin.names,
      columns: trainB,
      y: yTrainB,
      objective: 'binary',
      numIterations: 5,
    };
    const src = JSON.stringify(fitGbt(opts).model);
    const one = built.fitGbt({ ...opts, threads: 1 }).model;
    const two = built.fitGbt({ ...opts, threads: 2 }).model;
    expect(JSON.stringify(one)).toBe(src);
    expect(JSON.stringify({ ...two, params: { ...two.params, threads: 1 } })).toBe(src);
  });

  it('rejects bad input with errors naming the option, column or row', () => {
    const x = Float64Array.from([1, 2, 3, 4]);
    const ok: GbtOptions = { featureNames: ['x'], columns: [x], y: [0, 1, 0, 1], objective: 'binary' };
    expect(() => fitGbt({ ...ok, y: [0, NaN, 0, 1] })).toThrow(/y at row 1 is NaN/);
    expect(() => fitGbt({ ...ok, y: [0, 2, 0, 1] })).toThrow(/y at row 1 is 2; binary labels must be 0 or 1/);
    expect(() => fitGbt({ ...ok, y: [0, 1, 0] })).toThrow(/column 'x' has 4 rows but y has 3/);
    expect(() => fitGbt({ ...ok, objective: 'poisson' as GbtOptions['objective'] })).toThrow(
      /objective must be one of 'binary', .* got 'poisson'/,
    );
    expect(() => fitGbt({ ...ok, numLeaves: 1 })).toThrow(/numLeaves must be an integer from 2/);
    expect(() => fitGbt({ ...ok, earlyStoppingRounds: 5 })).toThrow(/earlyStoppingRounds \(5\) needs a validation set/);
    expect(() => fitGbt({ ...ok, featureNames: ['x', 'z'] })).toThrow(/1 columns but there are 2 feature names/);
    expect(() => fitGbt({ ...ok, columns: [Float64Array.from([1, Infinity, 3, 4])] })).toThrow(
      /column 'x' has Infinity at row 1/,
    );
    expect(() => fitGbt({ ...ok, objective: 'multiclass', y: [0, 1, 2.5, 1] })).toThrow(/y at row 2 is 2.5/);
    expect(() => fitGbt({ ...ok, sampleWeight: [1, -1, 1, 1] })).toThrow(/sampleWeight at row 1 is -1/);
    expect(() => fitGbt({ ...ok, learningRate: 0 })).toThrow(/learningRate must be a positive number/);
    expect(() => fitGbt({ ...ok, maxBin: 1000 })).toThrow(/maxBin must be an integer from 2 to 256/);
    expect(() => fitGbt({ ...ok, validation: { columns: [x], y: [0, 1, 0, 3] } })).toThrow(
      /validation.y at row 3 is 3/,
    );
    expect(() => fitGbt({ ...ok, y: [] })).toThrow(/no training rows/);
  });

  it('produces a model that round-trips through JSON', () => {
    const { model } = fitGbt({
      featureNames: bin.names,
      columns: trainB,
      y: yTrainB,
      objective: 'binary',
      numIterations: 5,
    });
    const back = JSON.parse(JSON.stringify(model)) as TreeEnsembleModel;
    expect(back).toEqual(model);
  });
});
