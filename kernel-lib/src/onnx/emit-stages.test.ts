import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitLogisticRegression } from '../train/logistic';
import {
  applyStages,
  fitImputer,
  fitLabelEncoder,
  fitMinMaxScaler,
  fitOneHotEncoder,
  fitSelectFeatures,
  fitStandardScaler,
  stageOutputNames,
} from '../train/preprocess';
import { seededRandom } from '../train/test-support/datasets';
import { runPythonJson } from '../train/test-support/python';
import type { TransformerStage } from '../train/types';
import type { PipelineSpec } from './compile';
import { compilePipeline } from './compile';
import { emitStage, validateStage } from './emit-stages';
import { GraphBuilder, attr } from './graph-builder';
import { PipelineSession } from './runtime';
import { expectOnnxParity, runInPython } from './test-support/parity';

const NAMES = ['num', 'colour', 'size', 'flat', 'code'];

/**
 * Rows of: a continuous feature with NaN, a categorical code (1, 2, 3, 5, 8) with NaN, a
 * continuous feature, a constant, a second categorical (10, 20, 30). With `unseen`, the
 * categoricals also take values never seen in training (4, 99, 25) and an extreme value.
 */
function data(n: number, seed: number, unseen: boolean): { columns: Float64Array[]; y: Float64Array } {
  const r = seededRandom(seed);
  const cols = NAMES.map(() => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const num = r() < 0.1 ? NaN : Math.fround(10 * r() - 3);
    const u = r();
    const colour = u < 0.08 ? NaN : unseen && u < 0.16 ? [4, 99][i % 2] : [1, 2, 3, 5, 8][Math.floor(r() * 5)];
    const size = Math.fround(50 + 30 * (r() - 0.5));
    const code = unseen && r() < 0.1 ? (i % 3 === 0 ? 25 : NaN) : [10, 20, 30][Math.floor(r() * 3)];
    [num, colour, size, 2.5, code].forEach((v, j) => (cols[j][i] = v));
    const logit =
      0.4 * (Number.isNaN(num) ? 2 : num) + (colour === 3 ? 1.5 : -0.5) + 0.05 * (size - 50) + code / 20 - 1.5;
    y[i] = r() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { columns: cols, y };
}

const train = data(600, 1, false);
const test = data(400, 2, true);

/** A pipeline of `stages` (fitted in turn on the training data) and a logistic model on their output. */
function pipeline(fits: ((names: string[], cols: Float64Array[]) => TransformerStage)[]): PipelineSpec {
  const stages: TransformerStage[] = [];
  let names = [...NAMES];
  let cols = train.columns;
  for (const fit of fits) {
    const st = fit(names, cols);
    stages.push(st);
    cols = applyStages([st], cols);
    names = stageOutputNames(st);
  }
  const model = fitLogisticRegression({ featureNames: names, columns: cols, y: train.y, C: 10 });
  return { inputs: NAMES.map((name) => ({ name })), stages, model };
}

const impute = (names: string[], cols: Float64Array[]) => fitImputer(names, cols);
const oneHot = (names: string[], cols: Float64Array[]) => fitOneHotEncoder(names, cols, 'colour');
const label = (names: string[], cols: Float64Array[]) => fitLabelEncoder(names, cols, 'code');
const minMax = (names: string[], cols: Float64Array[]) => fitMinMaxScaler(names, cols);
const scale = (names: string[], cols: Float64Array[]) => fitStandardScaler(names, cols);
const variance = (names: string[], cols: Float64Array[]) => fitSelectFeatures(names, cols, { varianceThreshold: 0 });
const kBest = (names: string[], cols: Float64Array[]) =>
  fitSelectFeatures(names, cols, { k: 4, y: train.y, scoreFunc: 'f_classif' });

/** Compiles `spec`, checks parity with onnxruntime-node and Python (checker + onnxruntime). */
async function checkBoth(spec: PipelineSpec): Promise<number> {
  const report = await expectOnnxParity(spec, test.columns);
  const py = runInPython(spec, test.columns);
  const node = report.onnx.probability!;
  expect(py.probability.length).toBe(node.length);
  py.probability.forEach((v, i) => expect(Math.abs(v - node[i])).toBeLessThanOrEqual(1e-6));
  return report.diff.probability!;
}

describe('stage emitters through a logistic model (onnxruntime-node, Python checker + onnxruntime)', () => {
  const diffs: Record<string, number> = {};

  it('each stage alone (an imputer after NaN-producing stages so the model sees numbers)', async () => {
    diffs.minMax = await checkBoth(pipeline([impute, minMax]));
    diffs.oneHot = await checkBoth(pipeline([oneHot, impute]));
    diffs.label = await checkBoth(pipeline([label, impute]));
    diffs.select = await checkBoth(pipeline([impute, variance]));
  }, 60000);

  it('chained: imputer -> oneHot -> minMax -> select, and oneHot -> label -> imputer -> scaler -> kBest', async () => {
    const a = pipeline([impute, oneHot, minMax, variance]);
    // Mean imputation turns NaN colours into a new (non-float32) category, which the graph must
    // match in float32 exactly as the reference does; the constant 'flat' is dropped.
    const fill = a.stages[0].kind === 'imputer' ? a.stages[0].values[1] : NaN;
    expect(Math.fround(fill)).not.toBe(fill);
    expect(a.model.featureNames).toEqual(['num', 'size', 'code', ...[1, 2, 3, fill, 5, 8].map((c) => `colour=${c}`)]);
    diffs.chainA = await checkBoth(a);
    const b = pipeline([oneHot, label, impute, scale, kBest]);
    expect(b.stages.map((s) => s.kind)).toEqual([
      'oneHotEncoder',
      'labelEncoder',
      'imputer',
      'standardScaler',
      'selectFeatures',
    ]);
    diffs.chainB = await checkBoth(b);
    console.log(`max |ORT - reference| per pipeline: ${JSON.stringify(diffs)}`);
  }, 60000);
});

/** A graph of just `stage`: inputs per feature, Concat, the stage, output 'y' [N, F']. */
function stageGraph(stage: TransformerStage): Uint8Array {
  const b = new GraphBuilder();
  b.reserveName('y');
  for (const name of stage.featureNames) b.addInput(name, ['N', 1]);
  const x = b.addNode('Concat', stage.featureNames, { attributes: { axis: attr.int(1) } })[0];
  const out = emitStage(b, stage, x, 0);
  b.addNode('Identity', [out], { outputs: ['y'] });
  b.addOutput('y', ['N', stageOutputNames(stage).length]);
  return b.encode();
}

/** Checks and runs several stage graphs in one Python process (its start-up dominates). */
const PY_STAGES = `
import json, sys
import numpy as np, onnx, onnxruntime as ort
out = []
for path, inputs, n in json.load(sys.stdin):
    onnx.checker.check_model(onnx.load(path), full_check=True)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    data = np.fromfile(inputs, dtype="<f4").reshape(len(names), n)
    y = s.run(None, {nm: data[j].reshape(n, 1) for j, nm in enumerate(names)})[0]
    out.append([None if v != v else float(v) for v in np.asarray(y, dtype="f8").reshape(-1)])
print(json.dumps(out))
`;

describe('stage outputs, NaN and unknown values included', () => {
  it('match applyStages exactly in where NaN is and within float32 rounding elsewhere', async () => {
    const cols = test.columns;
    const n = cols[0].length;
    const stages: TransformerStage[] = [
      fitMinMaxScaler(NAMES, train.columns, [-1, 1]),
      fitOneHotEncoder(NAMES, train.columns, 'colour'),
      fitLabelEncoder(NAMES, train.columns, 'code'),
      fitLabelEncoder(NAMES, train.columns, 'num'),
      fitSelectFeatures(NAMES, train.columns, { keep: ['code', 'num'] }),
      fitOneHotEncoder(['colour'], [train.columns[1]], 'colour'),
    ];
    const dir = mkdtempSync(path.join(tmpdir(), 'plinth-stage-'));
    try {
      const runs: { want: Float64Array[]; got: Float32Array }[] = [];
      const jobs: [string, string, number][] = [];
      for (const [k, stage] of stages.entries()) {
        const input = stage.featureNames.map((name) => cols[NAMES.indexOf(name)]);
        const bytes = stageGraph(stage);
        const session = await PipelineSession.create(bytes);
        const got = (await session.run(Object.fromEntries(stage.featureNames.map((nm, j) => [nm, input[j]])))).y;
        await session.dispose();
        runs.push({ want: applyStages([stage], input), got });
        const flat = new Float32Array(input.length * n);
        input.forEach((c, j) => flat.set(c, j * n));
        jobs.push([path.join(dir, `m${k}.onnx`), path.join(dir, `x${k}.f32`), n]);
        writeFileSync(jobs[k][0], bytes);
        writeFileSync(jobs[k][1], new Uint8Array(flat.buffer));
      }
      const py = runPythonJson<(number | null)[][]>(PY_STAGES, jobs);
      for (const [k, { want, got }] of runs.entries()) {
        const kind = stages[k].kind;
        const width = want.length;
        expect(got.length).toBe(n * width);
        let nanCount = 0;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < width; j++) {
            const w = want[j][i];
            const g = got[i * width + j];
            const p = py[k][i * width + j];
            if (Number.isNaN(w)) {
              nanCount++;
              expect(Number.isNaN(g), `${kind} [${i}, ${j}]`).toBe(true);
              expect(p).toBeNull();
            } else {
              expect(Math.abs(g - w), `${kind} [${i}, ${j}]: ${g} vs ${w}`).toBeLessThanOrEqual(
                1e-6 * Math.max(1, Math.abs(w)),
              );
              expect(p).toBe(g);
            }
          }
        }
        // The data reaches the NaN paths of every stage that keeps or makes NaN.
        if (kind !== 'oneHotEncoder') expect(nanCount).toBeGreaterThan(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});

describe('validateStage', () => {
  const names = ['a', 'b'];
  const bad: [TransformerStage, RegExp][] = [
    [
      { kind: 'minMaxScaler', featureNames: names, scale: [1], offset: [0, 0] },
      /stage 3 \(minMaxScaler\): scale has 1 entries for 2 features/,
    ],
    [{ kind: 'minMaxScaler', featureNames: names, scale: [1, NaN], offset: [0, 0] }, /scale of 'b' is NaN/],
    [
      { kind: 'oneHotEncoder', featureNames: names, column: 'c', categories: [1] },
      /oneHotEncoder\): column 'c' is not among its features \(a, b\)/,
    ],
    [{ kind: 'oneHotEncoder', featureNames: names, column: 'a', categories: [] }, /column 'a' has no categories/],
    [
      { kind: 'oneHotEncoder', featureNames: names, column: 'a', categories: [1, Infinity] },
      /category 1 of 'a' is Infinity/,
    ],
    [
      { kind: 'labelEncoder', featureNames: names, column: 'b', categories: [1, 2, 1] },
      /labelEncoder\): categories 1 and 1 of 'b' are not distinct/,
    ],
    [
      { kind: 'labelEncoder', featureNames: names, column: 'b', categories: [0.1, 0.1 + 1e-12] },
      /not distinct \(as float32\)/,
    ],
    [{ kind: 'selectFeatures', featureNames: names, keep: [] }, /keep is empty/],
    [{ kind: 'selectFeatures', featureNames: names, keep: ['a', 'z'] }, /column 'z' is not among its features/],
    [{ kind: 'selectFeatures', featureNames: names, keep: ['a', 'a'] }, /feature 'a' is kept twice/],
  ];
  it.each(bad.map(([s, re], i) => [i, s, re] as const))('rejects case %i', (_i, stage, re) => {
    expect(() => validateStage(stage, 3)).toThrow(re);
  });

  it('is what compilePipeline runs, naming the stage', () => {
    const spec: PipelineSpec = {
      inputs: names.map((name) => ({ name })),
      stages: [{ kind: 'oneHotEncoder', featureNames: names, column: 'x', categories: [1] }],
      model: { kind: 'logisticRegression', featureNames: names, coefficients: [1, 1], intercept: 0 },
    };
    expect(() => compilePipeline(spec)).toThrow(/stage 0 \(oneHotEncoder\): column 'x'/);
  });
});
