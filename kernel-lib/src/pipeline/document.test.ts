/**
 * The pipeline document -> ONNX graph + manifest, the document check the control plane runs on
 * publish, and assembleInputs feeding string request-time features to the graph.
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProblemError, validate, type Pipeline } from '@plinth/schema';
import { assertValidPipelineDocument, compilePipelineDocument, validatePipelineDocument } from './document';
import { assembleInputs, statusRow } from './assemble';
import { PipelineSession, outputRows } from '../onnx/runtime';
import { decodeModel } from '../onnx/proto';

/** A ranking pipeline: an online feature, two request-time strings and a number -> 3 classes -> top 2 items. */
function rankingDoc(): Pipeline {
  const featureNames = ['user_ctr', 'country', 'device', 'query_length'];
  return {
    name: 'shelf',
    inputs: [
      {
        name: 'user_ctr',
        source: { kind: 'online', view: 'user_features', feature: 'ctr' },
        type: 'float64',
        default: 0.02,
      },
      { name: 'country', source: { kind: 'request' }, type: 'string', categories: ['de', 'fr', 'us'], default: 'us' },
      { name: 'device', source: { kind: 'request' }, type: 'string', categories: ['android', 'ios', 'web'] },
      { name: 'query_length', source: { kind: 'request' }, type: 'int32' },
    ],
    transformer: [{ kind: 'imputer', featureNames, values: [0.02, 2, 1, 3] }],
    model: {
      kind: 'multinomialLogisticRegression',
      featureNames,
      classes: [0, 1, 2],
      coefficients: [
        [3, 0.2, -0.1, 0.05],
        [-1, -0.3, 0.4, 0.1],
        [0.5, 0.1, 0.2, -0.2],
      ],
      intercepts: [0.1, 0, -0.1],
    },
    postprocessor: { kind: 'topK', k: 2, items: ['shoes', 'hats', 'bags'] },
    outputs: [
      { name: 'probabilities', type: 'float32' },
      { name: 'label', type: 'float32' },
      { name: 'top_k_scores', type: 'float32' },
      { name: 'top_k_items', type: 'string' },
    ],
  };
}

describe('compilePipelineDocument', () => {
  it('writes a manifest that describes the graph: hash, inputs and outputs as the session sees them', async () => {
    const doc = rankingDoc();
    const { onnx, manifest } = compilePipelineDocument(doc, { 'model.name': 'shelf' });
    expect(validate('pipeline-manifest', manifest)).toMatchObject({ ok: true });
    expect(manifest.onnx.sha256).toBe(crypto.createHash('sha256').update(onnx).digest('hex'));
    expect(manifest.onnx.bytes).toBe(onnx.length);
    expect(manifest.onnx.irVersion).toBe(8);
    expect(manifest.onnx.opsets).toEqual([
      { domain: 'ai.onnx', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    expect(manifest).toMatchObject({
      formatVersion: 1,
      pipeline: 'shelf',
      stages: ['imputer'],
      model: { kind: 'multinomialLogisticRegression', task: 'multiclass', classes: [0, 1, 2] },
      postprocessor: { kind: 'topK', k: 2, items: ['shoes', 'hats', 'bags'] },
      compiler: { name: 'plinth', version: '0.1.0' },
    });
    expect(manifest.inputs).toEqual([
      {
        name: 'user_ctr',
        type: 'float64',
        elementType: 'float32',
        shape: ['N', 1],
        source: { kind: 'online', view: 'user_features', feature: 'ctr' },
        default: 0.02,
      },
      {
        name: 'country',
        type: 'string',
        elementType: 'string',
        shape: ['N', 1],
        source: { kind: 'request' },
        default: 'us',
        categories: ['de', 'fr', 'us'],
      },
      {
        name: 'device',
        type: 'string',
        elementType: 'string',
        shape: ['N', 1],
        source: { kind: 'request' },
        categories: ['android', 'ios', 'web'],
      },
      { name: 'query_length', type: 'int32', elementType: 'float32', shape: ['N', 1], source: { kind: 'request' } },
    ]);
    expect(manifest.outputs).toEqual([
      { name: 'probabilities', elementType: 'float32', shape: ['N', 3] },
      { name: 'label', elementType: 'float32', shape: ['N'] },
      { name: 'top_k_scores', elementType: 'float32', shape: ['N', 2] },
      { name: 'top_k_items', elementType: 'string', shape: ['N', 2] },
    ]);

    // The manifest agrees with what onnxruntime reads from the graph.
    const session = await PipelineSession.create(onnx);
    expect(session.inputNames).toEqual(manifest.inputs.map((i) => i.name));
    expect(session.outputNames).toEqual(manifest.outputs.map((o) => o.name));
    expect(session.inputTypes).toEqual(Object.fromEntries(manifest.inputs.map((i) => [i.name, i.elementType])));
    expect(session.outputTypes).toEqual(Object.fromEntries(manifest.outputs.map((o) => [o.name, o.elementType])));
    const out = await session.runTyped({
      user_ctr: [0.5, NaN],
      country: ['fr', null],
      device: ['ios', 'tv'],
      query_length: [4, 1],
    });
    await session.dispose();
    for (const o of manifest.outputs) {
      expect(out[o.name].type).toBe(o.elementType);
      expect(out[o.name].dims).toEqual(o.shape.map((d) => (d === 'N' ? 2 : d)));
    }
    const meta = Object.fromEntries((decodeModel(onnx).metadataProps ?? []).map((e) => [e.key, e.value]));
    expect(meta['model.name']).toBe('shelf');
    expect(JSON.parse(meta['plinth.outputs'])).toEqual(manifest.outputs.map((o) => o.name));
    expect(JSON.parse(meta['plinth.postprocessor'])).toEqual(doc.postprocessor);
  });

  it('serves request-time strings end to end: assembleInputs -> graph -> rows', async () => {
    const doc = rankingDoc();
    const session = await PipelineSession.create(compilePipelineDocument(doc).onnx);
    const online = [
      { values: { 'user_features:ctr': 0.3 }, statuses: { 'user_features:ctr': 'present' as const } },
      { values: {}, statuses: { 'user_features:ctr': 'not_found' as const } },
    ];
    const instances = [
      { country: 'de', device: 'web', query_length: 12 },
      { device: null, query_length: 2 },
    ];
    const { columns, statuses, errors } = assembleInputs(doc.inputs, online, instances);
    expect(errors).toEqual([]);
    expect(columns.country).toEqual(['de', 'us']);
    expect(columns.device).toEqual(['web', null]);
    expect(Array.from(columns.user_ctr as Float64Array)).toEqual([0.3, 0.02]);
    expect(statusRow(statuses, 1)).toEqual({
      user_ctr: 'default',
      country: 'default',
      device: 'request',
      query_length: 'request',
    });
    const rows = outputRows(await session.runTyped(columns));
    await session.dispose();
    expect(rows).toHaveLength(2);
    expect((rows[0].probabilities as number[]).length).toBe(3);
    expect((rows[0].top_k_items as string[]).length).toBe(2);
    expect(['shoes', 'hats', 'bags']).toContain((rows[0].top_k_items as string[])[0]);
    expect(typeof rows[0].label).toBe('number');
  });

  it('assembleInputs names request values of the wrong type', () => {
    const doc = rankingDoc();
    const { errors } = assembleInputs(
      doc.inputs,
      [],
      [
        { country: 'de', device: 'ios', query_length: 3 },
        { country: 7, device: 'ios', query_length: 'long' },
      ],
    );
    expect(errors).toEqual([
      { pointer: '/instances/1/country', detail: 'must be a string' },
      { pointer: '/instances/1/query_length', detail: 'must be a number' },
    ]);
  });

  it('rejects invalid documents with JSON Pointers: schema first, then what the compiler checks', () => {
    const schemaError = validatePipelineDocument({ ...rankingDoc(), postprocessor: { kind: 'topK', k: 0 } });
    expect(schemaError.ok).toBe(false);
    if (!schemaError.ok) expect(schemaError.errors.map((e) => e.pointer)).toContain('/postprocessor/k');

    const cases: [(d: Pipeline) => void, string, string][] = [
      [(d) => delete d.inputs[1].categories, '/inputs/1/categories', "input 'country': type string needs categories"],
      [
        (d) => (d.inputs[2].categories = ['ios', 'web', 'ios']),
        '/inputs/2/categories/2',
        "input 'device': category 'ios' is listed twice (categories[0] and [2])",
      ],
      [
        (d) => (d.inputs[1].default = 'it'),
        '/inputs/1/default',
        "input 'country': default 'it' is not among its categories",
      ],
      [
        (d) => (d.postprocessor = { kind: 'topK', k: 12 }),
        '/postprocessor/k',
        "postprocessor.k = 12 exceeds the model's 3 classes",
      ],
      [
        (d) => (d.postprocessor = { kind: 'threshold', threshold: 0.5 }),
        '/postprocessor/kind',
        'threshold post-processor needs a binary model, got multinomialLogisticRegression',
      ],
      [
        (d) => (d.transformer = [{ kind: 'imputer', featureNames: ['user_ctr'], values: [0] }]),
        '/transformer/0/featureNames',
        'stage 0 (imputer) has 1 features but the pipeline has 4 inputs; missing: ',
      ],
      [
        (d) => d.outputs.pop(),
        '/outputs',
        'outputs do not match the graph, which writes [probabilities (float32), label (float32), top_k_scores (float32), top_k_items (string)]: ',
      ],
    ];
    for (const [change, pointer, detail] of cases) {
      const doc = rankingDoc();
      change(doc);
      const r = validatePipelineDocument(doc);
      expect(r.ok, detail).toBe(false);
      if (r.ok) continue;
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0].pointer).toBe(pointer);
      expect(r.errors[0].detail.startsWith(detail), r.errors[0].detail).toBe(true);
    }
    expect(validatePipelineDocument(rankingDoc())).toMatchObject({ ok: true });
  });

  it('throws a 400 problem naming the field, from the check and from the compiler', () => {
    const doc = rankingDoc();
    doc.outputs[3] = { name: 'top_k_items', type: 'int64' };
    for (const run of [() => assertValidPipelineDocument(doc), () => compilePipelineDocument(doc)]) {
      try {
        run();
        expect.fail('should throw');
      } catch (e) {
        expect(e).toBeInstanceOf(ProblemError);
        const p = (e as ProblemError).problem;
        expect(p.status).toBe(400);
        expect(p.errors).toEqual([
          {
            pointer: '/outputs',
            detail: expect.stringContaining("'top_k_items' is string, not int64") as unknown as string,
          },
        ]);
        expect((e as Error).message).toContain('/outputs:');
      }
    }
  });
});
