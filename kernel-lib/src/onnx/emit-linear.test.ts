import { describe, expect, it } from 'vitest';
import { fitLinearRegression } from '../train/linear';
import { fitMultinomialLogisticRegression } from '../train/logistic';
import { applyStages, fitImputer, fitStandardScaler } from '../train/preprocess';
import { loadDataset, seededRandom, type DatasetName } from '../train/test-support/datasets';
import type { LinearRegressionModel, Model, MultinomialLogisticRegressionModel } from '../train/types';
import { compilePipeline, type PipelineSpec } from './compile';
import { decodeModel } from './proto';
import { expectOnnxParity, runInPython } from './test-support/parity';

/** Raw columns with ~3% of values knocked out (NaN), so the imputer in the pipeline works. */
function withMissing(columns: Float64Array[], seed: number): Float64Array[] {
  const r = seededRandom(seed);
  return columns.map((c) => c.map((v) => (r() < 0.03 ? NaN : v)));
}

/** imputer + standard scaler + `fit(model columns)`, all fitted on the (holey) raw data. */
function pipeline(
  name: DatasetName,
  seed: number,
  fit: (featureNames: string[], columns: Float64Array[], y: Float64Array) => Model,
): { spec: PipelineSpec; columns: Float64Array[]; y: Float64Array } {
  const ds = loadDataset(name);
  const columns = withMissing(ds.columns, seed);
  const imputer = fitImputer(ds.featureNames, columns);
  const imputed = applyStages([imputer], columns);
  const scaler = fitStandardScaler(ds.featureNames, imputed);
  const model = fit(ds.featureNames, applyStages([scaler], imputed), ds.y);
  return {
    spec: { inputs: ds.featureNames.map((n) => ({ name: n })), stages: [imputer, scaler], model },
    columns,
    y: ds.y,
  };
}

/** The Python onnxruntime outputs equal onnxruntime-node's to float32 precision. */
function expectPythonAgrees(
  spec: PipelineSpec,
  columns: Float64Array[],
  node: Partial<Record<string, Float32Array>>,
): void {
  const py = runInPython(spec, columns);
  for (const [name, values] of Object.entries(node)) {
    const got = py[name];
    expect(got, name).toBeDefined();
    expect(got.length).toBe(values!.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++)
      worst = Math.max(worst, Math.abs(got[i] - values![i]) / Math.max(1, Math.abs(values![i])));
    expect(worst, name).toBeLessThanOrEqual(1e-6);
  }
}

describe('multinomial logistic regression -> ONNX', () => {
  for (const [name, C] of [
    ['iris', 1],
    ['wine', 0.5],
    ['digits', 1],
  ] as const) {
    it(`${name}: probabilities within 1e-5 and identical labels (onnxruntime-node, Python checker + onnxruntime)`, async () => {
      const { spec, columns, y } = pipeline(name, 3, (featureNames, cols, yy) =>
        fitMultinomialLogisticRegression({ featureNames, columns: cols, y: yy, C }),
      );
      const report = await expectOnnxParity(spec, columns);
      const label = report.onnx.label!;
      const acc = label.reduce((a, l, i) => a + (l === y[i] ? 1 : 0), 0) / y.length;
      console.log(
        `${name}: max |probability diff| ${report.diff.probabilities!.toExponential(2)}, label mismatches 0, train accuracy ${acc.toFixed(4)}`,
      );
      expect(report.diff.probabilities).toBeLessThanOrEqual(1e-5);
      expect(acc).toBeGreaterThan(0.9);
      if (name !== 'digits') expectPythonAgrees(spec, columns, report.onnx);
    });
  }

  it('labels with arbitrary class values, in class order, first class on exact ties', async () => {
    const model: MultinomialLogisticRegressionModel = {
      kind: 'multinomialLogisticRegression',
      featureNames: ['a', 'b'],
      classes: [-3, 0.5, 1e6],
      coefficients: [
        [1, 0],
        [1, 0],
        [0, 1],
      ],
      intercepts: [0, 0, 0],
    };
    const spec: PipelineSpec = { inputs: [{ name: 'a' }, { name: 'b' }], stages: [], model };
    // Row 0: classes 0 and 1 tie exactly; row 1: all three tie; rows 2-3: large logits.
    const columns = [Float64Array.from([2, 1, 80, -80]), Float64Array.from([1, 1, 0, 60])];
    const report = await expectOnnxParity(spec, columns);
    expect(Array.from(report.onnx.label!)).toEqual([-3, -3, -3, 1e6]);
    expectPythonAgrees(spec, columns, report.onnx);
  });

  it('rejects bad parameters naming them', () => {
    const model: MultinomialLogisticRegressionModel = {
      kind: 'multinomialLogisticRegression',
      featureNames: ['a'],
      classes: [0, 1, 2],
      coefficients: [[1], [2], [3]],
      intercepts: [0, 0, 0],
    };
    const compile = (m: Partial<MultinomialLogisticRegressionModel>) =>
      compilePipeline({ inputs: [{ name: 'a' }], stages: [], model: { ...model, ...m } });
    expect(decodeModel(compile({})).graph.output.map((o) => o.name)).toEqual(['probabilities', 'label']);
    expect(() => compile({ intercepts: [0, 0] })).toThrow(/intercepts has 2 entries for 3 classes/);
    expect(() => compile({ intercepts: [0, NaN, 0] })).toThrow(/intercepts\[1\] \(class 1\) is NaN/);
    expect(() => compile({ coefficients: [[1], [2]] })).toThrow(/coefficients has 2 rows for 3 classes/);
    expect(() => compile({ coefficients: [[1], [Infinity], [3]] })).toThrow(
      /coefficients\[1\] \(class 1\) of 'a' is Infinity/,
    );
    expect(() => compile({ coefficients: [[1], [1, 2], [3]] })).toThrow(
      /coefficients\[1\] \(class 1\) has 2 entries for 1 features/,
    );
    expect(() => compile({ classes: [0, 0, 2] })).toThrow(/classes has 0 twice/);
    expect(() => compile({ classes: [0], coefficients: [[1]], intercepts: [0] })).toThrow(
      /classes needs at least 2 entries/,
    );
    expect(() => compile({ coefficients: [[1e39], [2], [3]] })).toThrow(/overflows float32/);
  });
});

describe('linear regression -> ONNX', () => {
  it('diabetes (OLS, ridge, lasso, elastic net): predictions within 1e-5 relative, Python agrees', async () => {
    for (const [label, extra] of [
      ['ols', {}],
      ['ridge', { penalty: 'l2', alpha: 3 }],
      ['lasso', { penalty: 'l1', alpha: 0.5 }],
      ['elasticnet', { penalty: 'elasticnet', alpha: 0.05 }],
    ] as const) {
      const { spec, columns } = pipeline('diabetes', 5, (featureNames, cols, y) =>
        fitLinearRegression({ featureNames, columns: cols, y, ...extra }),
      );
      // Relative to the prediction's magnitude (diabetes targets are 25..346).
      const report = await expectOnnxParity(spec, columns, { prediction: 1e-5 * 346 });
      const pred = report.onnx.prediction!;
      const want = report.reference.prediction!;
      let rel = 0;
      for (let i = 0; i < pred.length; i++)
        rel = Math.max(rel, Math.abs(pred[i] - want[i]) / Math.max(1, Math.abs(want[i])));
      console.log(`diabetes ${label}: max relative prediction diff ${rel.toExponential(2)}`);
      expect(rel).toBeLessThanOrEqual(1e-5);
      if (label === 'ols') expectPythonAgrees(spec, columns, report.onnx);
    }
  });

  it('a bare model on large and tiny inputs stays within 1e-5 relative', async () => {
    const model: LinearRegressionModel = {
      kind: 'linearRegression',
      featureNames: ['a', 'b'],
      coefficients: [1.5, -2.25],
      intercept: 0.125,
    };
    const spec: PipelineSpec = { inputs: [{ name: 'a' }, { name: 'b' }], stages: [], model };
    const columns = [Float64Array.from([1e20, 0, 1e-20, -3e8, 7]), Float64Array.from([0, 1e-30, 0, 1e8, -7])];
    const report = await expectOnnxParity(spec, columns, { prediction: Infinity });
    report.onnx.prediction!.forEach((v, i) => {
      const want = report.reference.prediction![i];
      expect(Math.abs(v - want) / Math.max(1, Math.abs(want))).toBeLessThanOrEqual(1e-5);
    });
  });

  it('rejects bad parameters naming them', () => {
    const model: LinearRegressionModel = {
      kind: 'linearRegression',
      featureNames: ['a'],
      coefficients: [1],
      intercept: 0,
    };
    const compile = (m: Partial<LinearRegressionModel>) =>
      compilePipeline({ inputs: [{ name: 'a' }], stages: [], model: { ...model, ...m } });
    expect(decodeModel(compile({})).graph.output.map((o) => o.name)).toEqual(['prediction']);
    expect(() => compile({ intercept: NaN })).toThrow(/intercept NaN is not finite/);
    expect(() => compile({ coefficients: [NaN] })).toThrow(/coefficients of 'a' is NaN/);
    expect(() => compile({ coefficients: [1, 2] })).toThrow(/coefficients has 2 entries for 1 features/);
  });
});

describe('binary logistic regression classes', () => {
  it('compiles a model with classes and rejects bad classes naming them', () => {
    const model = {
      kind: 'logisticRegression' as const,
      featureNames: ['a'],
      coefficients: [1],
      intercept: 0,
      classes: [-1, 1],
    };
    const compile = (classes: number[]) =>
      compilePipeline({ inputs: [{ name: 'a' }], stages: [], model: { ...model, classes } });
    expect(decodeModel(compile([-1, 1])).graph.output.map((o) => o.name)).toEqual(['probability']);
    expect(() => compile([1, 1])).toThrow(/classes must be two distinct finite numbers, got \[1,1\]/);
    expect(() => compile([0, 1, 2])).toThrow(/classes must be two distinct/);
  });
});
