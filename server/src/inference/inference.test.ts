import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROBLEM_CONTENT_TYPE,
  type ExampleSet,
  type ModelVersion,
  type Pipeline,
  type PredictResponse,
} from '@plinth/schema';
import {
  connect,
  pipelineSpec,
  splitByTime,
  train,
  type LocalPipeline,
  type Plinth,
  type TrainResult,
} from '@plinth/kernel-lib';
import { http, materializeAll, startTestPlatform, type TestPlatform } from '../test-support/platform';

/**
 * The walking skeleton, in one process with real stores: demo lake -> definitions ->
 * materialize -> example set -> train -> publish -> deploy -> predict over HTTP, and the
 * served probability must equal the notebook's local run of the same graph.
 */
let t: TestPlatform;
let plinth: Plinth;
let inferUrl: string;
let es: ExampleSet;
let v1: ModelVersion;
let instances: { user_id: number; product_id: number }[];

const UNKNOWN_USER = 987_654_321;

async function trainAndPublish(C: number): Promise<ModelVersion> {
  const table = await plinth.loadExampleSet(es.name, es.version);
  const { train: tr, test } = splitByTime(table, 0.8);
  const result = train({ data: tr, validation: test, C, display: false });
  expect(result.metrics.validation?.auc).toBeGreaterThan(0.6);
  return plinth.publish('ctr', pipelineSpec('ctr', result), result, { exampleSet: es, referenceData: test });
}

const predictHttp = (name: string, body: unknown) => http(inferUrl, 'POST', `/v1/predict/${name}`, body);

async function expectSameAsLocal(local: LocalPipeline, version: number): Promise<PredictResponse> {
  const r = await predictHttp('ctr', { instances });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const served = r.body as PredictResponse;
  expect(served).toMatchObject({ deployment: 'ctr', model: 'ctr', version });
  const expected = await local.predict(instances);
  expect(served.predictions).toHaveLength(instances.length);
  served.predictions.forEach((p, i) => {
    expect(p.outputs.probability).toBeGreaterThan(0);
    expect(p.outputs.probability).toBeLessThan(1);
    expect(Math.abs(p.outputs.probability - expected[i].outputs.probability), `instance ${i}`).toBeLessThan(1e-6);
    expect(p.featureStatuses).toEqual(expected[i].featureStatuses);
  });
  return served;
}

beforeAll(async () => {
  t = await startTestPlatform({ applyDemo: true, inference: true, pollMs: 100 });
  inferUrl = t.infer!.url;
  plinth = connect({ url: t.url, inferenceUrl: inferUrl });
  await materializeAll(t.client, ['user_features', 'product_features', 'clicks']);
  es = await plinth.buildExampleSet({
    name: 'clicks_train',
    labelView: 'clicks',
    features: ['user_features', 'product_features'],
  });
  // A few real user/product pairs from the newest labels, and a user the platform never saw.
  const table = await plinth.loadExampleSet(es.name);
  const rows = table.toArray().slice(-40, -35) as { user_id: bigint; product_id: bigint }[];
  instances = [
    ...rows.map((r) => ({ user_id: Number(r.user_id), product_id: Number(r.product_id) })),
    { user_id: UNKNOWN_USER, product_id: Number(rows[0].product_id) },
  ];
});
afterAll(async () => {
  await t?.close();
});

describe('walking skeleton', () => {
  it('serves the published pipeline with the same numbers as the notebook', async () => {
    expect(es.rows).toBeGreaterThan(10_000);
    v1 = await trainAndPublish(1.0);
    expect(v1.version).toBe(1);
    expect(v1.featureViews?.map((f) => f.name).sort()).toEqual(['product_features', 'user_features']);
    const d = await plinth.deploy('ctr', { model: 'ctr', version: 1 });
    expect(d.endpoint).toBe(`${inferUrl}/v1/predict/ctr`);
    expect(d.sanity?.examples).toBe(32);
    expect(d.sanity?.maxAbsDiff).toBeLessThanOrEqual(1e-5);

    const served = await expectSameAsLocal(await plinth.loadPipeline('ctr', 1), 1);
    const known = served.predictions[0].featureStatuses;
    expect(Object.values(known).every((s) => s === 'present')).toBe(true);
    // Cold start: the unknown user's features are not found (NaN, imputed in the graph).
    const cold = served.predictions.at(-1)!.featureStatuses;
    expect(cold['user_features__user_ctr']).toBe('not_found');
    expect(cold['user_features__user_impressions']).toBe('not_found');
    expect(cold['product_features__price']).toBe('present');
    expect(new Set(served.predictions.map((p) => p.predictionId)).size).toBe(instances.length);
  });

  it('picks up a new deployment version without a restart', async () => {
    const v2 = await trainAndPublish(0.001);
    expect(v2.version).toBe(2);
    await plinth.deploy('ctr', { model: 'ctr', version: 2 });
    const local2 = await plinth.loadPipeline('ctr', 2);
    const served = await expectSameAsLocal(local2, 2);
    // Strong regularisation really did change the model.
    const local1 = await plinth.loadPipeline('ctr', 1);
    const old = await local1.predict(instances);
    expect(served.predictions.some((p, i) => Math.abs(p.outputs.probability - old[i].outputs.probability) > 1e-4)).toBe(
      true,
    );
  });
});

describe('predict: bad input', () => {
  const expectProblem = (r: Awaited<ReturnType<typeof predictHttp>>, status: number, pointer?: string) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.contentType).toContain(PROBLEM_CONTENT_TYPE);
    expect((r.body as { status: number }).status).toBe(status);
    if (pointer !== undefined) expect(r.pointers).toContain(pointer);
  };

  it('answers 404 for an unknown deployment', async () => {
    expectProblem(await predictHttp('nope', { instances: [{ user_id: 1, product_id: 1 }] }), 404);
  });

  it.each([
    ['no instances', {}, 400, '/instances'],
    ['an empty list', { instances: [] }, 400, '/instances'],
    ['instances that are not a list', { instances: { user_id: 1 } }, 400, '/instances'],
    ['an instance that is not an object', { instances: [{ user_id: 1, product_id: 1 }, 7] }, 400, '/instances/1'],
    ['a missing join key', { instances: [{ product_id: 1 }] }, 400, '/instances/0/user_id'],
    [
      'a join key of the wrong type',
      { instances: [{ user_id: 1, product_id: 'seven' }] },
      400,
      '/instances/0/product_id',
    ],
    ['a fractional join key', { instances: [{ user_id: 1.25, product_id: 1 }] }, 400, '/instances/0/user_id'],
    [
      'too many instances',
      { instances: Array.from({ length: 1001 }, (_, i) => ({ user_id: i, product_id: 1 })) },
      413,
      '/instances',
    ],
  ])('rejects %s', async (_what, body, status, pointer) => {
    expectProblem(await predictHttp('ctr', body), status, pointer);
  });

  it('rejects unparseable JSON', async () => {
    expectProblem(
      await http(inferUrl, 'POST', '/v1/predict/ctr', '{"instances": [', { 'content-type': 'application/json' }),
      400,
    );
  });

  it('still serves after the bad requests', async () => {
    const r = await predictHttp('ctr', { instances: instances.slice(0, 2) });
    expect(r.status).toBe(200);
    expect((r.body as PredictResponse).predictions).toHaveLength(2);
    const h = await http(inferUrl, 'GET', '/v1/health');
    expect(h.body).toMatchObject({
      status: 'ok',
      role: 'inference',
      models: [{ deployment: 'ctr', model: 'ctr', version: 2 }],
      controlPlaneError: null,
    });
    expect((await http(inferUrl, 'GET', '/v2/health/ready')).status).toBe(200);
  });
});

describe('request-time string features and a post-processor', () => {
  const featureNames = ['user_ctr', 'country', 'device'];
  const doc: Pipeline = {
    name: 'ctr_by_country',
    inputs: [
      { name: 'user_ctr', source: { kind: 'online', view: 'user_features', feature: 'user_ctr' }, type: 'float64' },
      { name: 'country', source: { kind: 'request' }, type: 'string', categories: ['de', 'fr', 'us'], default: 'us' },
      { name: 'device', source: { kind: 'request' }, type: 'string', categories: ['android', 'ios', 'web'] },
    ],
    transformer: [{ kind: 'imputer', featureNames, values: [0.05, 2, 1] }],
    model: { kind: 'logisticRegression', featureNames, coefficients: [30, 0.8, -0.6], intercept: -2.5 },
    postprocessor: { kind: 'threshold', threshold: 0.4, labels: ['skip', 'show'] },
    outputs: [
      { name: 'probability', type: 'float32' },
      { name: 'decision', type: 'string' },
    ],
  };

  it('takes strings from the request and answers with the string decision, as the notebook does', async () => {
    const result = { metrics: { train: { rows: 0 } }, config: {} } as unknown as TrainResult;
    const v = await plinth.publish('ctr_by_country', doc, result);
    await plinth.deploy('ctr_by_country', { model: 'ctr_by_country', version: v.version });
    // One user: the strings alone change the inputs. An unknown or missing country takes the default.
    const user = instances[0].user_id;
    const sent = [
      { user_id: user, country: 'fr', device: 'ios' },
      { user_id: user, country: 'xx', device: 'web' },
      { user_id: user, country: null, device: 'web' },
      { user_id: user, country: 'us', device: 'web' },
      { user_id: user, country: 'de', device: 'tv' },
    ];
    const r = await predictHttp('ctr_by_country', { instances: sent });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const served = (r.body as PredictResponse).predictions;
    const local = await (await plinth.loadPipeline('ctr_by_country', v.version)).predict(sent);
    served.forEach((p, i) => {
      expect(['skip', 'show']).toContain(p.outputs.decision);
      expect(p.outputs.decision).toBe(local[i].outputs.decision);
      const diff = Math.abs((p.outputs.probability as number) - (local[i].outputs.probability as number));
      expect(diff, `instance ${i}`).toBeLessThan(1e-6);
      expect(p.featureStatuses).toEqual(local[i].featureStatuses);
    });
    expect(served[2].featureStatuses.country).toBe('default');
    expect(served[1].featureStatuses.country).toBe('request');
    const probability = served.map((p) => p.outputs.probability as number);
    expect(probability[1]).toBe(probability[3]);
    expect(probability[2]).toBe(probability[3]);
    expect(probability[0]).not.toBe(probability[3]);
  });

  it('names a request value of the wrong type', async () => {
    const r = await predictHttp('ctr_by_country', { instances: [{ user_id: instances[0].user_id, country: 7 }] });
    expect(r.status).toBe(400);
    expect(r.pointers).toContain('/instances/0/country');
  });

  it('refuses to publish a pipeline whose string input has no categories, naming the field', async () => {
    const bad = structuredClone(doc);
    delete bad.inputs[1].categories;
    await expect(
      plinth.publish('ctr_by_country', bad, { metrics: {}, config: {} } as unknown as TrainResult),
    ).rejects.toThrow(/\/inputs\/1\/categories: input 'country': type string needs categories/);
  });
});

describe('inference tier with a token', () => {
  it('reaches the control plane with the token and guards predict, leaving health open', async () => {
    const secured = await startTestPlatform({ token: 'tok3n', inference: true, pollMs: 50 });
    try {
      const url = secured.infer!.url;
      await secured.infer!.cache.refresh();
      // The inference tier read the deployment list through the token-guarded control plane.
      expect((await http(url, 'GET', '/v1/health')).body).toMatchObject({ status: 'ok', controlPlaneError: null });
      expect((await http(url, 'GET', '/v2/health/ready')).status).toBe(200);
      const anon = await http(url, 'POST', '/v1/predict/ctr', { instances: [{ user_id: 1, product_id: 1 }] });
      expect(anon.status).toBe(401);
      expect(anon.contentType).toContain(PROBLEM_CONTENT_TYPE);
      const authed = await http(
        url,
        'POST',
        '/v1/predict/ctr',
        { instances: [{ user_id: 1, product_id: 1 }] },
        { authorization: 'Bearer tok3n' },
      );
      expect(authed.status).toBe(404);
    } finally {
      await secured.close();
    }
  });
});
