/**
 * Post-processors compiled into the pipeline graph (threshold, top-k, class mapping) against
 * their TypeScript reference, with onnxruntime-node: equal decisions, items and classes, scores
 * within 1e-6; and the errors of post-processors that do not fit the model.
 */
import { describe, expect, it } from 'vitest';
import type { Postprocessor } from '@plinth/schema';
import { compilePipeline, compilePipelineGraph, graphOutputs, type PipelineSpec } from './compile';
import { PipelineSession, outputRows } from './runtime';
import { PipelineSpecError } from './spec-error';
import { awkwardColumns, randomSpec, rng } from './test-support/fixtures';
import { expectSameOutputs, graphAndReference } from './test-support/typed';
import { loadDataset } from '../train/test-support/datasets';
import { fitGbt } from '../train/gbt';
import type { KMeansModel, MultinomialLogisticRegressionModel } from '../train/types';

/** A random multinomial logistic regression over `f` features (imputer first), classes 10, 20, …. */
function multinomialSpec(f: number, K: number, seed: number): PipelineSpec {
  const r = rng(seed);
  const featureNames = Array.from({ length: f }, (_, j) => `x${j}`);
  const model: MultinomialLogisticRegressionModel = {
    kind: 'multinomialLogisticRegression',
    featureNames,
    classes: Array.from({ length: K }, (_, k) => 10 * (k + 1)),
    coefficients: Array.from({ length: K }, () => featureNames.map(() => 2 * r() - 1)),
    intercepts: Array.from({ length: K }, () => r() - 0.5),
  };
  return {
    inputs: featureNames.map((name) => ({ name })),
    stages: [{ kind: 'imputer', featureNames, values: featureNames.map(() => r()) }],
    model,
  };
}

/** n rows of values in [-3, 3] as float32, with some NaN. */
function columns(f: number, n: number, seed: number): Float64Array[] {
  const r = rng(seed);
  return Array.from({ length: f }, () =>
    Float64Array.from({ length: n }, () => (r() < 0.05 ? NaN : Math.fround(6 * r() - 3))),
  );
}

const withPost = (spec: PipelineSpec, postprocessor: Postprocessor): PipelineSpec => ({ ...spec, postprocessor });

describe('post-processors in the graph', () => {
  it('threshold: int64 decision equal to the reference on 1,000 awkward rows, model output kept', async () => {
    const base = randomSpec(5, 7);
    const data = awkwardColumns(base, 1000, 11);
    for (const threshold of [0, 0.3, 0.5, 1]) {
      const spec = withPost(base, { kind: 'threshold', threshold });
      const { graph, ref } = await graphAndReference(spec, data);
      expect(Object.keys(graph)).toEqual(['probability', 'decision']);
      expect(graph.decision).toMatchObject({ type: 'int64', dims: [1000] });
      expectSameOutputs(graph, ref, 1e-5);
      const ones = (ref.decision as Float64Array).reduce((a, b) => a + b, 0);
      if (threshold === 0) expect(ones).toBe(1000);
      if (threshold === 0.5) expect(ones).toBeGreaterThan(100);
      if (threshold === 0.5) expect(ones).toBeLessThan(900);
    }
  });

  it('threshold with labels: string decision; run() refuses string outputs, runTyped() gives them', async () => {
    const base = randomSpec(3, 5);
    const spec = withPost(base, { kind: 'threshold', threshold: 0.4, labels: ['keep', 'review'] });
    const data = awkwardColumns(base, 500, 3);
    const { graph, ref } = await graphAndReference(spec, data);
    expect(graph.decision.type).toBe('string');
    expect(new Set(graph.decision.data as string[])).toEqual(new Set(['keep', 'review']));
    expectSameOutputs(graph, ref, 1e-5);

    const session = await PipelineSession.create(compilePipeline(spec));
    const feeds = Object.fromEntries(base.inputs.map((inp, j) => [inp.name, data[j]]));
    await expect(session.run(feeds)).rejects.toThrow(/output 'decision' is a string tensor; use runTyped/);
    await session.dispose();
    // Without labels, run() converts the int64 decision to float32 exactly.
    const plain = await PipelineSession.create(compilePipeline(withPost(base, { kind: 'threshold', threshold: 0.4 })));
    const out = await plain.run(feeds);
    await plain.dispose();
    expect(out.decision).toBeInstanceOf(Float32Array);
    expect(Array.from(out.decision)).toEqual((ref.decision as string[]).map((d) => (d === 'review' ? 1 : 0)));
  });

  it('topK on a multinomial model: scores within 1e-6, items equal, class indices or item ids', async () => {
    const base = multinomialSpec(4, 5, 3);
    const data = columns(4, 1000, 9);
    const { graph: plain, ref: plainRef } = await graphAndReference(withPost(base, { kind: 'topK', k: 3 }), data);
    expect(Object.keys(plain)).toEqual(['probabilities', 'label', 'top_k_scores', 'top_k_items']);
    expect(plain.top_k_scores).toMatchObject({ type: 'float32', dims: [1000, 3] });
    expect(plain.top_k_items).toMatchObject({ type: 'int64', dims: [1000, 3] });
    const diff = expectSameOutputs(plain, plainRef);
    console.log(`topK: max |score diff| ${diff.toExponential(3)}`);
    // The first item is the label's class index.
    const labels = plainRef.label!;
    for (let i = 0; i < 1000; i++) expect((plainRef.top_k_items as Float64Array)[i * 3]).toBe(labels[i] / 10 - 1);

    const items = ['sku-a', 'sku-b', 'sku-c', 'sku-d', 'sku-e'];
    const { graph, ref } = await graphAndReference(withPost(base, { kind: 'topK', k: 5, items }), data);
    expect(graph.top_k_items).toMatchObject({ type: 'string', dims: [1000, 5] });
    expectSameOutputs(graph, ref);
    // k = K: every row lists every item once, scores descending.
    const rows = outputRows(graph);
    expect(new Set(rows[0].top_k_items as string[])).toEqual(new Set(items));
    const s = rows[0].top_k_scores as number[];
    expect([...s].sort((a, b) => b - a)).toEqual(s);
    expect((rows[0].probabilities as number[]).length).toBe(5);
  });

  it('topK keeps the lower class index first among equal scores, as the reference', async () => {
    const base = multinomialSpec(2, 4, 8);
    const model = base.model as MultinomialLogisticRegressionModel;
    // Classes 1 and 3 share a row of coefficients: equal probabilities on every row.
    model.coefficients[3] = [...model.coefficients[1]];
    model.intercepts[3] = model.intercepts[1];
    const { graph, ref } = await graphAndReference(
      withPost(base, { kind: 'topK', k: 4, items: ['a', 'b', 'c', 'd'] }),
      columns(2, 300, 4),
    );
    expectSameOutputs(graph, ref);
    const items = graph.top_k_items.data as string[];
    for (let i = 0; i < 300; i++) {
      const row = items.slice(i * 4, i * 4 + 4);
      expect(row.indexOf('b')).toBeLessThan(row.indexOf('d'));
    }
  });

  it('topK and classMapping on a multiclass tree ensemble (wine)', async () => {
    const wine = loadDataset('wine');
    const { model } = fitGbt({
      objective: 'multiclass',
      numClass: 3,
      numIterations: 20,
      featureNames: wine.featureNames,
      columns: wine.columns,
      y: wine.y,
    });
    const spec: PipelineSpec = {
      inputs: wine.featureNames.map((name) => ({ name })),
      stages: [],
      model: { ...model, classes: [1, 2, 3] },
    };
    for (const post of [
      { kind: 'topK', k: 2, items: ['barolo', 'grignolino', 'barbera'] },
      { kind: 'classMapping', classes: ['barolo', 'grignolino', 'barbera'] },
    ] as Postprocessor[]) {
      const { graph, ref } = await graphAndReference(withPost(spec, post), wine.columns);
      expectSameOutputs(graph, ref, 1e-5);
      if (post.kind === 'classMapping') {
        expect(graph.class).toMatchObject({ type: 'string', dims: [wine.y.length] });
        const names = ['barolo', 'grignolino', 'barbera'];
        const correct = (graph.class.data as string[]).filter((c, i) => c === names[wine.y[i]]).length;
        expect(correct / wine.y.length).toBeGreaterThan(0.95);
      }
    }
  });

  it('classMapping on a multinomial model (label value -> name) and on k-means (cluster -> name)', async () => {
    const base = multinomialSpec(3, 4, 5);
    const names = ['bronze', 'silver', 'gold', 'platinum'];
    const { graph, ref } = await graphAndReference(
      withPost(base, { kind: 'classMapping', classes: names }),
      columns(3, 500, 6),
    );
    expect(Object.keys(graph)).toEqual(['probabilities', 'label', 'class']);
    expectSameOutputs(graph, ref);
    expect(ref.class!.every((c, i) => c === names[ref.label![i] / 10 - 1])).toBe(true);

    const centroids = [
      [0, 0],
      [5, 5],
      [-5, 5],
    ];
    const kmeans: KMeansModel = { kind: 'kmeans', featureNames: ['a', 'b'], centroids };
    const spec: PipelineSpec = {
      inputs: [{ name: 'a' }, { name: 'b' }],
      stages: [],
      model: kmeans,
      postprocessor: { kind: 'classMapping', classes: ['home', 'north-east', 'north-west'] },
    };
    const data = [Float64Array.from([0.1, 4.9, -6, 3]), Float64Array.from([-0.2, 5.5, 4, 3])];
    const km = await graphAndReference(spec, data);
    expectSameOutputs(km.graph, km.ref);
    expect(km.graph.class.data).toEqual(['home', 'north-east', 'north-west', 'north-east']);
  });

  it('identity adds nothing; graphOutputs lists model then post-processor outputs with types and shapes', () => {
    const base = multinomialSpec(2, 3, 1);
    expect(compilePipelineGraph(withPost(base, { kind: 'identity' })).outputs.map((o) => o.name)).toEqual([
      'probabilities',
      'label',
    ]);
    expect(graphOutputs(withPost(base, { kind: 'topK', k: 2, items: ['a', 'b', 'c'] }))).toEqual([
      { name: 'probabilities', elementType: 'float32', shape: ['N', 3] },
      { name: 'label', elementType: 'float32', shape: ['N'] },
      { name: 'top_k_scores', elementType: 'float32', shape: ['N', 2] },
      { name: 'top_k_items', elementType: 'string', shape: ['N', 2] },
    ]);
  });

  it('rejects post-processors that do not fit the model, naming the field', () => {
    const binary = randomSpec(2, 1);
    const multi = multinomialSpec(2, 3, 2);
    const regression: PipelineSpec = {
      inputs: [{ name: 'x' }],
      stages: [],
      model: { kind: 'linearRegression', featureNames: ['x'], coefficients: [1], intercept: 0 },
    };
    const cases: [PipelineSpec, Postprocessor, string, RegExp][] = [
      [
        multi,
        { kind: 'threshold', threshold: 0.5 },
        '/postprocessor/kind',
        /^threshold post-processor needs a binary model, got multinomialLogisticRegression$/,
      ],
      [binary, { kind: 'threshold', threshold: 1.5 }, '/postprocessor/threshold', /postprocessor.threshold = 1.5/],
      [binary, { kind: 'threshold', threshold: 0.5, labels: ['no', 'no'] }, '/postprocessor/labels/1', /'no' twice/],
      [
        binary,
        { kind: 'topK', k: 1 },
        '/postprocessor/kind',
        /topK post-processor needs a multiclass model, got logisticRegression/,
      ],
      [multi, { kind: 'topK', k: 12 }, '/postprocessor/k', /^postprocessor.k = 12 exceeds the model's 3 classes$/],
      [multi, { kind: 'topK', k: 0 }, '/postprocessor/k', /must be a positive integer/],
      [
        multi,
        { kind: 'topK', k: 2, items: ['a', 'b'] },
        '/postprocessor/items',
        /items has 2 entries for the model's 3 classes/,
      ],
      [multi, { kind: 'topK', k: 2, items: ['a', '', 'c'] }, '/postprocessor/items/1', /must be a non-empty string/],
      [
        multi,
        { kind: 'classMapping', classes: ['a'] },
        '/postprocessor/classes',
        /classes has 1 entries for the model's 3 classes/,
      ],
      [
        regression,
        { kind: 'classMapping', classes: ['a'] },
        '/postprocessor/kind',
        /classMapping post-processor needs a multiclass or k-means model, got linearRegression/,
      ],
    ];
    for (const [spec, post, pointer, message] of cases) {
      let error: unknown;
      try {
        compilePipeline(withPost(spec, post));
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(post)).toBeInstanceOf(PipelineSpecError);
      expect((error as PipelineSpecError).message).toMatch(message);
      expect((error as PipelineSpecError).pointer).toBe(pointer);
    }
    // An input may not take a post-processor's output name.
    const clash: PipelineSpec = { ...binary, inputs: [{ name: 'decision' }, binary.inputs[1]] };
    expect(() => compilePipeline(withPost(clash, { kind: 'threshold', threshold: 0.5 }))).toThrow(
      /input 'decision' collides with the output name 'decision' of the threshold post-processor/,
    );
  });
});
