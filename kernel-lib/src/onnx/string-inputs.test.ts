/**
 * String inputs: a tensor(string) [N, 1] per string feature, encoded inside the graph to the
 * value's index among its categories (unknown and missing -> the default's index, or NaN), checked
 * against the TypeScript reference with onnxruntime-node; and the errors of badly typed inputs.
 */
import { describe, expect, it } from 'vitest';
import { compilePipeline, evaluatePipeline, type PipelineSpec, type PipelineSpecInput } from './compile';
import { decodeModel, DataType } from './proto';
import { PipelineSession } from './runtime';
import { PipelineSpecError } from './spec-error';
import { rng } from './test-support/fixtures';
import { expectSameOutputs, graphAndReference } from './test-support/typed';

const countries = ['de', 'fr', 'us'];
const devices = ['android', 'ios', 'web'];

/** prediction = the input's code (a linear regression with weight 1): shows the encoding itself. */
function identitySpec(input: PipelineSpecInput): PipelineSpec {
  return {
    inputs: [input],
    stages: [],
    model: { kind: 'linearRegression', featureNames: [input.name], coefficients: [1], intercept: 0 },
  };
}

describe('string inputs', () => {
  it('encodes a value to its index; unknown and missing to NaN, or to the default when declared', async () => {
    const values = ['fr', 'us', 'xx', '', null, 'de', 'FR'];
    const noDefault = await graphAndReference(
      identitySpec({ name: 'country', type: 'string', categories: countries }),
      [values],
    );
    expect(Array.from(noDefault.graph.prediction.data as Float32Array)).toEqual([1, 2, NaN, NaN, NaN, 0, NaN]);
    expectSameOutputs(noDefault.graph, noDefault.ref);

    const withDefault = await graphAndReference(
      identitySpec({ name: 'country', type: 'string', categories: countries, default: 'us' }),
      [values],
    );
    expect(Array.from(withDefault.graph.prediction.data as Float32Array)).toEqual([1, 2, 2, 2, 2, 0, 2]);
    expectSameOutputs(withDefault.graph, withDefault.ref);
  });

  it('mixes string and numeric inputs; graph equals the reference on 2,000 rows (trees and linear)', async () => {
    const r = rng(17);
    const n = 2000;
    const pick = (cats: string[]) => {
      const u = r();
      return u < 0.05 ? null : u < 0.1 ? 'unknown-value' : cats[Math.floor(r() * cats.length)];
    };
    const age = Float64Array.from({ length: n }, () => (r() < 0.05 ? NaN : Math.fround(18 + 60 * r())));
    const country = Array.from({ length: n }, () => pick(countries));
    const device = Array.from({ length: n }, () => pick(devices));
    const featureNames = ['age', 'country', 'device'];
    const inputs: PipelineSpecInput[] = [
      { name: 'age', type: 'float64' },
      { name: 'country', type: 'string', categories: countries, default: 'us' },
      { name: 'device', type: 'string', categories: devices },
    ];
    const linear: PipelineSpec = {
      inputs,
      stages: [
        { kind: 'oneHotEncoder', featureNames, column: 'device', categories: [0, 1, 2] },
        {
          kind: 'imputer',
          featureNames: ['age', 'country', 'device=0', 'device=1', 'device=2'],
          values: [40, 1, 0, 0, 0],
        },
      ],
      model: {
        kind: 'logisticRegression',
        featureNames: ['age', 'country', 'device=0', 'device=1', 'device=2'],
        coefficients: [0.03, -0.7, 0.5, -0.4, 0.1],
        intercept: -1,
      },
      postprocessor: { kind: 'threshold', threshold: 0.5, labels: ['no', 'yes'] },
    };
    const trees: PipelineSpec = {
      inputs,
      stages: [],
      model: {
        kind: 'treeEnsemble',
        featureNames,
        task: 'binary',
        nOutputs: 1,
        baseScore: [0],
        aggregate: 'sum',
        postTransform: 'logistic',
        trees: [
          {
            // country <= 0.5 (de) ? (device missing -> left) : age <= 40
            outputs: [0],
            feature: [1, 2, 0, -1, -1, -1, -1],
            threshold: [0.5, 1.5, 40, 0, 0, 0, 0],
            left: [1, 3, 5, -1, -1, -1, -1],
            right: [2, 4, 6, -1, -1, -1, -1],
            defaultLeft: [false, true, true, false, false, false, false],
            value: [0, 0, 0, -1, 1, 0.5, -0.5],
          },
        ],
      },
    };
    for (const spec of [linear, trees]) {
      const { graph, ref } = await graphAndReference(spec, [age, country, device]);
      const diff = expectSameOutputs(graph, ref, 1e-6);
      console.log(`${spec.model.kind}: max |probability diff| ${diff.toExponential(3)}`);
    }
  });

  it('declares string inputs as tensor(string) [N, 1] and numeric ones as float32 [N, 1]', async () => {
    const spec: PipelineSpec = {
      inputs: [{ name: 'age' }, { name: 'country', type: 'string', categories: countries }],
      stages: [],
      model: { kind: 'linearRegression', featureNames: ['age', 'country'], coefficients: [1, 1], intercept: 0 },
    };
    const bytes = compilePipeline(spec);
    const model = decodeModel(bytes);
    expect(model.graph.input.map((i) => [i.name, i.type?.tensorType?.elemType])).toEqual([
      ['age', DataType.FLOAT],
      ['country', DataType.STRING],
    ]);
    const session = await PipelineSession.create(bytes);
    expect(session.inputTypes).toEqual({ age: 'float32', country: 'string' });
    const { prediction } = await session.run({ age: [1, 2, 3], country: ['us', null, 'fr'] });
    expect(Array.from(prediction)).toEqual([3, NaN, 4]);
    // Zero rows: empty outputs of the declared types.
    expect((await session.runTyped({ age: [], country: [] })).prediction).toMatchObject({ type: 'float32', dims: [0] });
    await expect(session.run({ age: [1], country: [7] as unknown as string[] })).rejects.toThrow(
      /input 'country' takes strings \(null = missing\); row 0 is 7/,
    );
    await expect(session.run({ age: ['1'] as unknown as number[], country: ['us'] })).rejects.toThrow(
      /input 'age' takes numbers \(NaN = missing\); row 0 is "1"/,
    );
    await session.dispose();
    expect(() => evaluatePipeline(spec, [Float64Array.from([1]), [3] as unknown as string[]])).toThrow(
      /column 'country' row 0 is 3; a string input takes strings/,
    );
  });

  it('rejects badly typed inputs with errors naming the input and field', () => {
    const spec = (input: PipelineSpecInput): PipelineSpec => identitySpec(input);
    const cases: [PipelineSpecInput, string, string][] = [
      [{ name: 'country', type: 'string' }, '/inputs/0/categories', "input 'country': type string needs categories"],
      [
        { name: 'country', type: 'string', categories: [] },
        '/inputs/0/categories',
        "input 'country': categories must be a non-empty list of strings",
      ],
      [
        { name: 'country', type: 'string', categories: ['de', 'fr', 'de'] },
        '/inputs/0/categories/2',
        "input 'country': category 'de' is listed twice (categories[0] and [2])",
      ],
      [
        { name: 'country', type: 'string', categories: ['de', ''] },
        '/inputs/0/categories/1',
        `input 'country': categories[1] must be a non-empty string, got ""`,
      ],
      [
        { name: 'country', type: 'string', categories: countries, default: 'xx' },
        '/inputs/0/default',
        "input 'country': default 'xx' is not among its categories",
      ],
      [
        { name: 'country', type: 'string', categories: countries, default: 3 },
        '/inputs/0/default',
        "input 'country': default must be one of its categories, got 3",
      ],
      [
        { name: 'age', type: 'float64', categories: ['a'] },
        '/inputs/0/categories',
        "input 'age': categories are only for type string (type is float64)",
      ],
      [
        { name: 'age', default: 'old' },
        '/inputs/0/default',
        `input 'age': default must be a finite number or null, got "old"`,
      ],
    ];
    for (const [input, pointer, message] of cases) {
      let error: unknown;
      try {
        compilePipeline(spec(input));
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(input)).toBeInstanceOf(PipelineSpecError);
      expect((error as PipelineSpecError).message).toBe(message);
      expect((error as PipelineSpecError).pointer).toBe(pointer);
    }
  });
});
