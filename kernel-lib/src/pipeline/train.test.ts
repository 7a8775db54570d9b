import { tableFromArrays, type Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { train, type TrainModel } from './train';
import { loadDataset, takeRows, takeY, trainTestSplit } from '../train/test-support/datasets';
import { expectOnnxParity } from '../onnx/test-support/parity';

/** A dataset fixture as train/validation Arrow tables, label column `target`. */
function tables(name: Parameters<typeof loadDataset>[0]): { tr: Table; te: Table; features: string[] } {
  const d = loadDataset(name);
  const { train: a, test: b } = trainTestSplit(d.y.length, 0.25, 7);
  const make = (idx: Int32Array) => {
    const cols = takeRows(d.columns, idx);
    return tableFromArrays({
      ...Object.fromEntries(d.featureNames.map((f, j) => [f, cols[j]])),
      target: takeY(d.y, idx),
    });
  };
  return { tr: make(a), te: make(b), features: d.featureNames };
}

/** The trained pipeline compiled to ONNX gives the TypeScript outputs on the validation rows. */
async function onnxMatches(result: ReturnType<typeof train>, te: Table): Promise<void> {
  const cols = result.featureNames.map((f) => Float64Array.from(te.getChild(f)!.toArray() as Float64Array));
  await expectOnnxParity(
    { inputs: result.featureNames.map((name) => ({ name })), stages: result.stages, model: result.model },
    cols,
    { prediction: 1e-3 },
  );
}

describe('train', () => {
  const bc = tables('breast_cancer');
  it.each<TrainModel>(['logisticRegression', 'gbt', 'randomForest'])(
    'binary (breast_cancer) with %s: metrics, importances, ONNX parity',
    async (model) => {
      const r = train({
        data: bc.tr,
        validation: bc.te,
        label: 'target',
        features: bc.features,
        model,
        params: model === 'randomForest' ? { nEstimators: 30 } : {},
        display: false,
      });
      expect(r.task).toBe('binary');
      console.log(model, r.metrics.validation);
      expect(r.metrics.validation!.auc).toBeGreaterThan(0.95);
      expect(r.metrics.validation!.accuracy).toBeGreaterThan(0.9);
      expect(r.importance).toHaveLength(30);
      expect(r.importance[0].importance).toBeGreaterThanOrEqual(r.importance[29].importance);
      if (model === 'gbt') expect(r.history!.length).toBe(100);
      await onnxMatches(r, bc.te);
    },
  );

  it('multiclass (wine) with gbt and multinomial logistic regression', async () => {
    const w = tables('wine');
    for (const model of ['gbt', 'logisticRegression'] as const) {
      const r = train({
        data: w.tr,
        validation: w.te,
        label: 'target',
        features: w.features,
        model,
        task: 'multiclass',
        display: false,
      });
      expect(r.task).toBe('multiclass');
      expect(r.model.kind).toBe(model === 'gbt' ? 'treeEnsemble' : 'multinomialLogisticRegression');
      expect(r.metrics.validation!.accuracy).toBeGreaterThan(0.85);
      await onnxMatches(r, w.te);
    }
  });

  it('multiclass L1 logistic regression: sparse coefficients, same predictions in ONNX', async () => {
    const w = tables('wine');
    const r = train({
      data: w.tr,
      validation: w.te,
      label: 'target',
      features: w.features,
      model: 'logisticRegression',
      task: 'multiclass',
      params: { penalty: 'l1', C: 0.05 },
      display: false,
    });
    expect(r.model.kind).toBe('multinomialLogisticRegression');
    const m = r.model as { coefficients: number[][] };
    const zeros = m.coefficients.flat().filter((c) => c === 0).length;
    expect(zeros).toBeGreaterThan(0);
    expect(zeros).toBeLessThan(m.coefficients.flat().length);
    expect(r.metrics.validation!.accuracy).toBeGreaterThan(0.85);
    await onnxMatches(r, w.te);
  });

  it('regression (diabetes) with linear regression, gbt and a random forest', async () => {
    const d = tables('diabetes');
    for (const model of ['linearRegression', 'gbt', 'randomForest'] as const) {
      const r = train({
        data: d.tr,
        validation: d.te,
        label: 'target',
        features: d.features,
        model,
        task: 'regression',
        params:
          model === 'gbt'
            ? { numIterations: 50, learningRate: 0.05 }
            : model === 'randomForest'
              ? { nEstimators: 30 }
              : {},
        display: false,
      });
      expect(r.task).toBe('regression');
      console.log(model, r.metrics.validation);
      expect(r.metrics.validation!.r2).toBeGreaterThan(0.3);
      expect(r.metrics.validation!.rmse).toBeLessThan(65);
      await onnxMatches(r, d.te);
    }
  });

  it('stops early on the validation loss', () => {
    const r = train({
      data: bc.tr,
      validation: bc.te,
      label: 'target',
      features: bc.features,
      model: 'gbt',
      params: { numIterations: 500, learningRate: 0.3, earlyStoppingRounds: 5 },
      display: false,
    });
    const best = r.config.bestIteration as number;
    expect(best).toBeLessThan(500);
    expect(r.model.kind === 'treeEnsemble' && r.model.trees.length).toBe(best);
  });

  it('names what is wrong', () => {
    const w = tables('wine');
    expect(() => train({ data: w.tr, label: 'target', features: w.features, display: false })).toThrow(
      /label 'target' has more than two integer values: pass task: 'multiclass' or task: 'regression'/,
    );
    expect(() =>
      train({
        data: w.tr,
        label: 'target',
        features: w.features,
        model: 'linearRegression',
        task: 'multiclass',
        display: false,
      }),
    ).toThrow(/linearRegression predicts a number/);
    expect(() =>
      train({ data: w.tr, label: 'target', features: w.features, task: 'regression', display: false }),
    ).toThrow(/logisticRegression is a classifier/);
    expect(() =>
      train({ data: w.tr, label: 'nope', features: w.features, task: 'regression', display: false }),
    ).toThrow(/no column 'nope'/);
    expect(() =>
      train({
        data: w.tr,
        label: 'target',
        features: w.features,
        model: 'svm' as TrainModel,
        task: 'regression',
        display: false,
      }),
    ).toThrow(/unknown model 'svm'/);
    const bad = tableFromArrays({ x: Float64Array.from([1, 2, 3]), target: Float64Array.from([0, NaN, 1]) });
    expect(() => train({ data: bad, label: 'target', features: ['x'], display: false })).toThrow(/training row 1/);
  });
});
