import { describe, expect, it } from 'vitest';
import { compilePipeline, evaluatePipeline, METADATA_KEYS, PROBABILITY_OUTPUT, type PipelineSpec } from './compile';
import { decodeModel, DataType } from './proto';
import { PipelineSession } from './runtime';
import { awkwardColumns, maxAbsDiff, randomSpec, toRecord } from './test-support/fixtures';

describe('compilePipeline + onnxruntime-node', () => {
  it('matches evaluatePipeline within 1e-5 on 1,000 awkward rows (NaN, 0, +-1e30, tiny)', async () => {
    const spec = randomSpec(5, 7);
    const columns = awkwardColumns(spec, 1000, 11);
    const session = await PipelineSession.create(compilePipeline(spec));
    try {
      expect(session.inputNames).toEqual(spec.inputs.map((i) => i.name));
      expect(session.outputNames).toEqual([PROBABILITY_OUTPUT]);
      const { probability } = await session.run(toRecord(spec, columns));
      const reference = evaluatePipeline(spec, columns).probability!;
      expect(probability).toBeInstanceOf(Float32Array);
      expect(probability.length).toBe(1000);
      expect(probability.some((p) => Number.isNaN(p))).toBe(false);
      expect(reference.some((p) => Number.isNaN(p))).toBe(false);
      const diff = maxAbsDiff(probability, reference);
      console.log(`max |ORT - evaluatePipeline| = ${diff.toExponential(3)} over 1000 rows`);
      expect(diff).toBeLessThanOrEqual(1e-5);
      // The data really exercises both tails of the sigmoid and the imputer.
      expect(Math.min(...probability)).toBeLessThan(1e-6);
      expect(Math.max(...probability)).toBeGreaterThan(1 - 1e-6);
    } finally {
      await session.dispose();
    }
  });

  it('holds the bound across many random pipelines, feature counts and threads', async () => {
    let worst = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const f = 1 + (seed % 8);
      const spec = randomSpec(f, seed * 101);
      const columns = awkwardColumns(spec, 500, seed);
      const session = await PipelineSession.create(compilePipeline(spec), {
        intraOpNumThreads: seed % 2 === 0 ? 2 : 1,
      });
      const { probability } = await session.run(toRecord(spec, columns));
      await session.dispose();
      const diff = maxAbsDiff(probability, evaluatePipeline(spec, columns).probability!);
      worst = Math.max(worst, diff);
    }
    console.log(`worst max |ORT - evaluatePipeline| over 20 pipelines = ${worst.toExponential(3)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('applies stages in order and handles a model without stages', async () => {
    const base = randomSpec(3, 5);
    const names = base.inputs.map((i) => i.name);
    // Scaler before imputer: NaN passes through the scaler and is imputed with the raw value.
    const reordered: PipelineSpec = { ...base, stages: [base.stages[1], base.stages[0]] };
    const bare: PipelineSpec = { ...base, stages: [] };
    const columns = [Float64Array.from([NaN, 1]), Float64Array.from([2, NaN]), Float64Array.from([0, -3])];
    for (const spec of [reordered, bare]) {
      const session = await PipelineSession.create(compilePipeline(spec));
      const { probability } = await session.run(Object.fromEntries(names.map((n, j) => [n, columns[j]])));
      await session.dispose();
      const ref = evaluatePipeline(spec, columns).probability!;
      if (spec === bare) {
        // No imputer: NaN propagates, identically in both.
        expect(Number.isNaN(probability[0]) && Number.isNaN(ref[0])).toBe(true);
      } else {
        expect(maxAbsDiff(probability, ref)).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('writes the documented graph interface, opsets and metadata', () => {
    const spec = randomSpec(4, 3);
    const model = decodeModel(compilePipeline(spec));
    expect(model.irVersion).toBe(8);
    expect(model.producerName).toBe('plinth');
    expect(model.opsetImport).toEqual([
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    expect(model.graph.input.map((i) => i.name)).toEqual(spec.inputs.map((i) => i.name));
    for (const input of model.graph.input) {
      expect(input.type?.tensorType).toEqual({
        elemType: DataType.FLOAT,
        shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }] },
      });
    }
    expect(model.graph.output).toEqual([
      { name: 'probability', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }] } } } },
    ]);
    expect(model.graph.node.map((n) => n.opType)).toEqual([
      'Concat',
      'Imputer',
      'Sub',
      'Div',
      'MatMul',
      'Add',
      'Sigmoid',
      'Reshape',
    ]);
    const meta = Object.fromEntries((model.metadataProps ?? []).map((e) => [e.key, e.value]));
    expect(meta).toMatchObject({ run: 'test-3', note: 'fixture' });
    expect(JSON.parse(meta[METADATA_KEYS.inputs])).toEqual(spec.inputs.map((i) => i.name));
    expect(meta[METADATA_KEYS.model]).toBe('logisticRegression');
    // Parameters are float32 in the graph.
    const w = model.graph.initializer?.find((t) => t.name === 'logreg_coefficients');
    expect(w?.dataType).toBe(DataType.FLOAT);
    expect(w?.dims).toEqual([4, 1]);
  });
});

describe('compilePipeline validation', () => {
  const spec = randomSpec(3, 9);
  const names = spec.inputs.map((i) => i.name);

  it('names a featureNames mismatch between inputs and a stage or the model', () => {
    const swapped = [names[1], names[0], names[2]];
    expect(() => compilePipeline({ ...spec, model: { ...spec.model, featureNames: swapped } })).toThrow(
      /model \(logisticRegression\) featureNames do not match the pipeline inputs at position 0: feature 'feature_1', input 'feature_0'/,
    );
    const stages = [{ ...spec.stages[0], featureNames: [names[0], names[1], 'age'] }, spec.stages[1]];
    expect(() => compilePipeline({ ...spec, stages })).toThrow(/stage 0 \(imputer\).*feature 'age', input 'feature_2'/);
    expect(() => compilePipeline({ ...spec, inputs: spec.inputs.slice(0, 2) })).toThrow(
      /stage 0 \(imputer\) has 3 features but the pipeline has 2 inputs; not an input: 'feature_2'/,
    );
  });

  it('rejects bad parameters and reserved names', () => {
    expect(() => compilePipeline({ ...spec, model: { ...spec.model, coefficients: [1, 2] } })).toThrow(
      /coefficients has 2 entries for 3 features/,
    );
    expect(() => compilePipeline({ ...spec, model: { ...spec.model, intercept: NaN } })).toThrow(
      /intercept NaN is not finite/,
    );
    const scaler = { ...spec.stages[1], scale: [1, 0, 1] } as PipelineSpec['stages'][number];
    expect(() => compilePipeline({ ...spec, stages: [spec.stages[0], scaler] })).toThrow(/scale of 'feature_1' is 0/);
    const huge = { ...spec.model, coefficients: [1, 1e39, 1] };
    expect(() => compilePipeline({ ...spec, model: huge })).toThrow(/overflows float32/);
    expect(() => compilePipeline({ ...spec, metadata: { 'plinth.inputs': 'x' } })).toThrow(/reserved/);
    expect(() => compilePipeline({ ...spec, inputs: [{ name: 'a' }, { name: 'a' }, { name: 'b' }] })).toThrow(
      /'a' is listed twice/,
    );
  });
});

describe('PipelineSession input checks', () => {
  it('names missing, unknown and wrong-length inputs', async () => {
    const spec = randomSpec(3, 13);
    const session = await PipelineSession.create(compilePipeline(spec));
    try {
      const ok = { feature_0: [1, 2], feature_1: [3, 4], feature_2: [5, 6] };
      await expect(session.run({ feature_0: [1], feature_2: [2] })).rejects.toThrow(/missing input 'feature_1'/);
      await expect(session.run({ ...ok, feature_3: [1, 2] })).rejects.toThrow(/unknown input 'feature_3'/);
      await expect(session.run({ ...ok, feature_2: [5] })).rejects.toThrow(
        /input 'feature_2' has 1 rows but 'feature_0' has 2/,
      );
      const { probability } = await session.run(ok);
      expect(probability.length).toBe(2);
      // Float32Array input (zero copy) and plain arrays give the same result.
      const again = await session.run(
        Object.fromEntries(Object.entries(ok).map(([k, v]) => [k, Float32Array.from(v)])),
      );
      expect(again.probability).toEqual(probability);
      expect((await session.run({ feature_0: [], feature_1: [], feature_2: [] })).probability.length).toBe(0);
    } finally {
      await session.dispose();
    }
  });

  it('evaluatePipeline names a wrong column count or length', () => {
    const spec = randomSpec(2, 1);
    expect(() => evaluatePipeline(spec, [new Float64Array(2)])).toThrow(/1 columns for 2 inputs/);
    expect(() => evaluatePipeline(spec, [new Float64Array(2), new Float64Array(3)])).toThrow(
      /column 'feature_1' has 3 rows, expected 2/,
    );
  });
});
