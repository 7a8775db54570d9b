import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROBLEM_CONTENT_TYPE,
  buildOpenApi,
  type FeatureView,
  type Pipeline,
  type PublishRequest,
} from '@plinth/schema';
import { compilePipeline } from '@plinth/kernel-lib';

import { artifactKey } from '../repository/artifacts';
import { VERSION } from '../version';
import {
  http,
  jobOutcome,
  materializeAll,
  startTestPlatform,
  type HttpAnswer,
  type TestPlatform,
} from '../test-support/platform';

let t: TestPlatform;
const call = (method: string, route: string, body?: unknown, headers?: Record<string, string>) =>
  http(t.url, method, route, body, headers);

/** A 4xx RFC 9457 answer whose errors name `pointer` (when given). */
function expectProblem(r: HttpAnswer, status: number, pointer?: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.contentType).toContain(PROBLEM_CONTENT_TYPE);
  const body = r.body as { type: string; title: string; status: number };
  expect(body.status).toBe(status);
  expect(body.type).toMatch(/^urn:plinth:problem:/);
  expect(body.title).toBeTruthy();
  if (pointer !== undefined) expect(r.pointers).toContain(pointer);
}

const names = async (plural: string) =>
  ((await call('GET', `/api/v1/${plural}`)).body as { items: { name: string }[] }).items.map((i) => i.name);
const jobCount = async () => ((await call('GET', '/api/v1/jobs')).body as { items: unknown[] }).items.length;

/** A valid feature view over the demo lake, to be broken one field at a time. */
const fv = (patch: Partial<FeatureView> = {}): FeatureView => ({
  name: 'probe_view',
  entities: ['user'],
  sources: ['impressions'],
  sql: 'SELECT user_id, ts, position::DOUBLE AS pos FROM impressions',
  timestampColumn: 'ts',
  features: [{ name: 'pos', type: 'float64' }],
  ...patch,
});

/** A pipeline of one request-time input: needs no feature view, so it deploys without materializing. */
const requestPipeline = (): Pipeline => ({
  name: 'tiny',
  inputs: [{ name: 'x', source: { kind: 'request' }, type: 'float64' }],
  transformer: [],
  model: { kind: 'logisticRegression', featureNames: ['x'], coefficients: [0.7], intercept: -0.2 },
  postprocessor: { kind: 'identity' },
  outputs: [{ name: 'probability', type: 'float32' }],
});

async function uploadArtifact(spec: Pipeline): Promise<{ sha256: string; bytes: number }> {
  const bytes = compilePipeline({
    inputs: spec.inputs.map((i) => ({ name: i.name })),
    stages: spec.transformer as never,
    model: spec.model,
  });
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  await t.client.putArtifact(sha256, bytes);
  return { sha256, bytes: bytes.length };
}

const publishBody = (pipeline: Pipeline, a: { sha256: string; bytes: number }): PublishRequest => ({
  pipeline,
  artifact: { ...a, format: 'onnx' },
});

beforeAll(async () => {
  t = await startTestPlatform({ applyDemo: true, inference: true });
});
afterAll(async () => {
  await t?.close();
});

describe('control plane: basics', () => {
  it('serves health without a token and the OpenAPI document', async () => {
    const h = await call('GET', '/api/v1/health');
    expect(h.status).toBe(200);
    expect(h.body).toEqual({ status: 'ok', version: VERSION, role: 'control-plane' });
    const o = await call('GET', '/api/v1/openapi.json');
    expect(o.status).toBe(200);
    expect((o.body as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('registers every path and method of its OpenAPI document', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(doc).toEqual(JSON.parse(JSON.stringify(buildOpenApi(VERSION))));
    const missing: string[] = [];
    let checked = 0;
    for (const [p, ops] of Object.entries(doc.paths)) {
      const url = p.replace(/\{(\w+)\}/g, ':$1');
      for (const method of Object.keys(ops)) {
        checked++;
        if (!t.controlPlane.app.hasRoute({ method: method.toUpperCase() as 'GET', url }))
          missing.push(`${method.toUpperCase()} ${p}`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(25);
  });

  it('answers an unknown route with a 404 problem', async () => {
    expectProblem(await call('GET', '/api/v1/nope'), 404);
    expectProblem(await call('POST', '/api/v1/entities', { name: 'x' }), 404);
  });

  it('lists the applied demo definitions', async () => {
    expect(await names('entities')).toEqual(['product', 'user']);
    expect(await names('data-sources')).toEqual(['clicks', 'impressions', 'products']);
    expect(await names('feature-views')).toEqual(['product_features', 'user_features']);
    expect(await names('label-views')).toEqual(['clicks']);
  });
});

describe('control plane: registry input', () => {
  it('rejects unparseable JSON', async () => {
    const r = await call('PUT', '/api/v1/entities/shop', '{"name": "shop", ', { 'content-type': 'application/json' });
    expectProblem(r, 400, '');
    expect(await names('entities')).not.toContain('shop');
  });

  it('rejects an empty JSON body', async () => {
    expectProblem(await call('PUT', '/api/v1/entities/shop', '', { 'content-type': 'application/json' }), 400, '');
  });

  // Every route that takes a document, with a body that is not one.
  const bodyRoutes: [string, string][] = [
    ['PUT', '/api/v1/entities/shop'],
    ['PUT', '/api/v1/data-sources/shop'],
    ['PUT', '/api/v1/feature-views/shop'],
    ['PUT', '/api/v1/label-views/shop'],
    ['POST', '/api/v1/materializations'],
    ['POST', '/api/v1/example-sets'],
    ['POST', '/api/v1/online-features'],
    ['POST', '/api/v1/models/shop/versions'],
    ['PUT', '/api/v1/deployments/shop'],
  ];
  it.each(bodyRoutes)(
    '%s %s answers broken JSON with 400 and text with 415, changing nothing',
    async (method, route) => {
      const jobs = await jobCount();
      expectProblem(await call(method, route, '{"name": ', { 'content-type': 'application/json' }), 400, '');
      expectProblem(await call(method, route, 'name=shop', { 'content-type': 'text/plain' }), 415);
      expectProblem(
        await call(method, route, 'name=shop', { 'content-type': 'application/x-www-form-urlencoded' }),
        415,
      );
      expectProblem(await call(method, route, []), 400);
      expect(await jobCount()).toBe(jobs);
      for (const plural of ['entities', 'data-sources', 'feature-views', 'label-views'])
        expect(await names(plural)).not.toContain('shop');
    },
  );

  it('rejects a body that is not JSON', async () => {
    const r = await call('PUT', '/api/v1/entities/shop', 'name: shop', { 'content-type': 'text/plain' });
    expectProblem(r, 415);
    expect(await names('entities')).not.toContain('shop');
  });

  it.each([
    ['a bad name', { name: 'Shop-1', joinKeys: [{ name: 'shop_id', type: 'int64' }] }, 'Shop-1', '/name'],
    [
      'an unknown join key type',
      { name: 'shop', joinKeys: [{ name: 'shop_id', type: 'uuid' }] },
      'shop',
      '/joinKeys/0/type',
    ],
    [
      'an extra field',
      { name: 'shop', joinKeys: [{ name: 'shop_id', type: 'int64' }], colour: 'red' },
      'shop',
      '/colour',
    ],
    ['no join keys', { name: 'shop', joinKeys: [] }, 'shop', '/joinKeys'],
    ['a missing field', { name: 'shop' }, 'shop', '/joinKeys'],
  ])('rejects an entity with %s', async (_what, doc, urlName, pointer) => {
    expectProblem(await call('PUT', `/api/v1/entities/${urlName}`, doc), 400, pointer);
    expect(await names('entities')).toEqual(['product', 'user']);
  });

  it('rejects a document whose name differs from the URL', async () => {
    const r = await call('PUT', '/api/v1/entities/shop', {
      name: 'store',
      joinKeys: [{ name: 'shop_id', type: 'int64' }],
    });
    expectProblem(r, 400, '/name');
    expect(await names('entities')).toEqual(['product', 'user']);
  });

  it('rejects a data source whose path is not in the lake only when a view uses it', async () => {
    const ok = await call('PUT', '/api/v1/data-sources/ghost', {
      name: 'ghost',
      path: 'no/such/table',
      format: 'parquet',
    });
    expect(ok.status).toBe(200);
    const r = await call(
      'PUT',
      '/api/v1/feature-views/probe_view',
      fv({ sources: ['ghost'], sql: 'SELECT * FROM ghost' }),
    );
    expectProblem(r, 422, '/sources/0');
    expect((await call('DELETE', '/api/v1/data-sources/ghost')).status).toBe(204);
  });

  it.each([
    ['an unknown entity', { entities: ['shop'] }, '/entities/0'],
    ['an unknown source', { sources: ['impressions', 'nowhere'] }, '/sources/1'],
  ])('rejects a feature view referring to %s with 422', async (_what, patch, pointer) => {
    expectProblem(await call('PUT', '/api/v1/feature-views/probe_view', fv(patch)), 422, pointer);
    expect(await names('feature-views')).not.toContain('probe_view');
  });

  it.each([
    ['SQL that does not run', { sql: 'SELECT user_id, ts, nonsense_column AS pos FROM impressions' }, '/sql'],
    ['SQL with a syntax error', { sql: 'SELEC user_id FROM impressions' }, '/sql'],
    ['SQL missing the join key', { sql: 'SELECT ts, position::DOUBLE AS pos FROM impressions' }, '/sql'],
    [
      'SQL missing the timestamp',
      { sql: 'SELECT user_id, position::DOUBLE AS pos FROM impressions' },
      '/timestampColumn',
    ],
    ['a timestamp that is not one', { timestampColumn: 'pos' }, '/timestampColumn'],
    [
      'SQL missing a declared feature',
      {
        features: [
          { name: 'pos', type: 'float64' },
          { name: 'depth', type: 'float64' },
        ],
      } as Partial<FeatureView>,
      '/features/1/name',
    ],
    [
      'a declared type the SQL does not return',
      { features: [{ name: 'pos', type: 'string' }] } as Partial<FeatureView>,
      '/features/0/type',
    ],
  ])('rejects a feature view with %s', async (_what, patch, pointer) => {
    expectProblem(await call('PUT', '/api/v1/feature-views/probe_view', fv(patch)), 422, pointer);
    expect(await names('feature-views')).not.toContain('probe_view');
    expectProblem(await call('GET', '/api/v1/feature-views/probe_view'), 404);
  });

  it('applies idempotently and versions changes', async () => {
    const first = await call('PUT', '/api/v1/feature-views/probe_view', fv());
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ kind: 'feature-view', name: 'probe_view', version: 1, created: true });
    const again = await call('PUT', '/api/v1/feature-views/probe_view', fv());
    expect(again.body).toEqual({ kind: 'feature-view', name: 'probe_view', version: 1, created: false });

    const changed = fv({ description: 'slot of the impression' });
    expect((await call('PUT', '/api/v1/feature-views/probe_view', changed)).body).toEqual({
      kind: 'feature-view',
      name: 'probe_view',
      version: 2,
      created: true,
    });
    const latest = (await call('GET', '/api/v1/feature-views/probe_view')).body as {
      version: number;
      spec: FeatureView;
    };
    expect(latest.version).toBe(2);
    expect(latest.spec.description).toBe('slot of the impression');
    const v1 = (await call('GET', '/api/v1/feature-views/probe_view?version=1')).body as {
      version: number;
      spec: FeatureView;
    };
    expect(v1.version).toBe(1);
    expect(v1.spec.description).toBeUndefined();
    const versions = (await call('GET', '/api/v1/feature-views/probe_view/versions')).body as {
      items: { version: number }[];
    };
    expect(versions.items.map((v) => v.version)).toEqual([1, 2]);

    expectProblem(await call('GET', '/api/v1/feature-views/probe_view?version=3'), 404);
    expectProblem(await call('GET', '/api/v1/feature-views/probe_view?version=0'), 400, '/version');
    expectProblem(await call('GET', '/api/v1/feature-views/probe_view?version=abc'), 400, '/version');
  });

  it('deletes: GET and DELETE answer 404 afterwards', async () => {
    expect((await call('DELETE', '/api/v1/feature-views/probe_view')).status).toBe(204);
    expectProblem(await call('GET', '/api/v1/feature-views/probe_view'), 404);
    expect(await names('feature-views')).not.toContain('probe_view');
    expectProblem(await call('DELETE', '/api/v1/feature-views/probe_view'), 404);
    expectProblem(await call('DELETE', '/api/v1/entities/never_was'), 404);
    expectProblem(await call('GET', '/api/v1/entities/never_was/versions'), 404);
  });
});

describe('control plane: jobs and example sets', () => {
  it('rejects materializing an unknown view or a malformed request, enqueueing nothing', async () => {
    const before = await jobCount();
    expectProblem(await call('POST', '/api/v1/materializations', { view: 'nope' }), 404, '/view');
    expectProblem(await call('POST', '/api/v1/materializations', {}), 400, '/view');
    expectProblem(
      await call('POST', '/api/v1/materializations', { view: 'user_features', start: 'yesterday' }),
      400,
      '/start',
    );
    expectProblem(await call('POST', '/api/v1/materializations', { view: 'user_features', extra: 1 }), 400, '/extra');
    expect(await jobCount()).toBe(before);
    expectProblem(await call('GET', '/api/v1/jobs/00000000-0000-0000-0000-000000000000'), 404);
    expectProblem(await call('GET', '/api/v1/jobs?limit=abc'), 400, '/limit');
    expectProblem(await call('GET', '/api/v1/jobs?status=bogus'), 400, '/status');
    expectProblem(await call('GET', '/api/v1/jobs/not-a-job/logs'), 404);
  });

  it('rejects example sets over unknown or unmaterialized views, creating no version and no job', async () => {
    await materializeAll(t.client, ['clicks', 'product_features']);
    const before = await jobCount();
    const post = (spec: object) => call('POST', '/api/v1/example-sets', { name: 'es_probe', ...spec });
    expectProblem(await post({ labelView: 'nope', features: ['user_features'] }), 422, '/labelView');
    expectProblem(await post({ labelView: 'clicks', features: ['nope'] }), 422, '/features/0');
    expectProblem(
      await post({ labelView: 'clicks', features: ['product_features', 'product_features:nope'] }),
      422,
      '/features/1',
    );
    // user_features is applied but was never materialized.
    expectProblem(
      await post({ labelView: 'clicks', features: ['product_features', 'user_features'] }),
      422,
      '/features/1',
    );
    expectProblem(await post({ labelView: 'clicks', features: [] }), 400, '/features');
    expectProblem(await post({ labelView: 'clicks', features: ['Bad Ref'] }), 400, '/features/0');
    expect(await jobCount()).toBe(before);
    expectProblem(await call('GET', '/api/v1/example-sets/es_probe'), 404);
    expect(((await call('GET', '/api/v1/example-sets')).body as { items: unknown[] }).items).toEqual([]);
  });

  it('builds an example set from materialized views', async () => {
    const job = await jobOutcome(
      t.client,
      (await t.client.buildExampleSet({ name: 'es_ok', labelView: 'clicks', features: ['product_features:price'] })).id,
    );
    expect(job.status, job.error ?? '').toBe('succeeded');
    const es = (await call('GET', '/api/v1/example-sets/es_ok')).body as {
      version: number;
      rows: number;
      columns: { name: string }[];
    };
    expect(es.version).toBe(1);
    expect(es.rows).toBeGreaterThan(1000);
    expect(es.columns.map((c) => c.name)).toEqual([
      'user_id',
      'product_id',
      'ts',
      'clicked',
      'product_features__price',
    ]);
  });
});

describe('control plane: online features', () => {
  const read = (body: unknown) => call('POST', '/api/v1/online-features', body);

  it('reads materialized features and reports unknown entities', async () => {
    const r = await read({ features: ['product_features:price'], entities: { product_id: [1, 999_999] } });
    expect(r.status).toBe(200);
    const rows = (r.body as { rows: { values: Record<string, unknown>; statuses: Record<string, string> }[] }).rows;
    expect(rows).toHaveLength(2);
    expect(rows[0].statuses['product_features:price']).toBe('present');
    expect(typeof rows[0].values['product_features:price']).toBe('number');
    expect(rows[1]).toEqual({
      values: { 'product_features:price': null },
      statuses: { 'product_features:price': 'not_found' },
    });
  });

  it.each([
    [
      'a missing join key',
      { features: ['product_features:price'], entities: { user_id: [1] } },
      400,
      '/entities/product_id',
    ],
    [
      'a string for an int64 key',
      { features: ['product_features:price'], entities: { product_id: [1, 'two'] } },
      400,
      '/entities/product_id/1',
    ],
    [
      'a fractional key',
      { features: ['product_features:price'], entities: { product_id: [1.5] } },
      400,
      '/entities/product_id/0',
    ],
    [
      'a null key',
      { features: ['product_features:price'], entities: { product_id: [null] } },
      400,
      '/entities/product_id/0',
    ],
    [
      'entities that are not lists',
      { features: ['product_features:price'], entities: { product_id: 1 } },
      400,
      '/entities',
    ],
    [
      'lists of different lengths',
      { features: ['product_features:price'], entities: { product_id: [1, 2], user_id: [1] } },
      400,
      '/entities/user_id',
    ],
    ['no features', { features: [], entities: { product_id: [1] } }, 400, '/features'],
    ['a malformed feature reference', { features: ['price'], entities: { product_id: [1] } }, 400, '/features/0'],
  ])('rejects %s', async (_what, body, status, pointer) => {
    expectProblem(await read(body), status, pointer);
  });

  it('answers 404 for an unknown view or feature', async () => {
    expectProblem(await read({ features: ['nope:price'], entities: { product_id: [1] } }), 404);
    expectProblem(await read({ features: ['product_features:nope'], entities: { product_id: [1] } }), 404);
  });
});

describe('control plane: model repository and deployments', () => {
  it('rejects artifacts whose hash does not match, or that are empty', async () => {
    const bytes = Buffer.from('not really onnx');
    const wrong = crypto.createHash('sha256').update('something else').digest('hex');
    const octet = { 'content-type': 'application/octet-stream' };
    expectProblem(await call('PUT', `/api/v1/artifacts/sha256/${wrong}`, bytes, octet), 400, '/sha256');
    expectProblem(await call('PUT', '/api/v1/artifacts/sha256/XYZ', bytes, octet), 400, '/sha256');
    const empty = crypto.createHash('sha256').update('').digest('hex');
    const r = await call('PUT', `/api/v1/artifacts/sha256/${empty}`, Buffer.alloc(0), octet);
    expectProblem(r, 400);
    expect((r.body as { detail: string }).detail).toMatch(/empty/);
    expectProblem(await call('PUT', `/api/v1/artifacts/sha256/${wrong}`, { not: 'bytes' }), 415);
    expectProblem(await call('GET', `/api/v1/artifacts/sha256/${wrong}`), 404);
    expect(await t.platform.objects.list('artifacts/')).toEqual([]);
  });

  it('stores an artifact once and serves it back', async () => {
    const bytes = Buffer.from('some artifact bytes');
    const sha = crypto.createHash('sha256').update(bytes).digest('hex');
    const octet = { 'content-type': 'application/octet-stream' };
    expect((await call('PUT', `/api/v1/artifacts/sha256/${sha}`, bytes, octet)).status).toBe(201);
    expect((await call('PUT', `/api/v1/artifacts/sha256/${sha}`, bytes, octet)).status).toBe(200);
    expect(Buffer.from(await t.client.getArtifact(sha)).equals(bytes)).toBe(true);
  });

  it('refuses to publish a version with missing or inconsistent parts, publishing nothing', async () => {
    const pipeline = requestPipeline();
    const art = await uploadArtifact(pipeline);
    const post = (body: unknown, name = 'probe_model') => call('POST', `/api/v1/models/${name}/versions`, body);

    expectProblem(await post(publishBody(pipeline, { sha256: 'a'.repeat(64), bytes: 10 })), 422, '/artifact/sha256');
    const renamed = { ...pipeline, model: { ...pipeline.model, featureNames: ['y'] } };
    expectProblem(await post(publishBody(renamed as Pipeline, art)), 422, '/pipeline/model/featureNames');
    const unknownFeature: Pipeline = {
      ...pipeline,
      inputs: [{ name: 'x', source: { kind: 'online', view: 'user_features', feature: 'nope' }, type: 'float64' }],
    };
    expectProblem(await post(publishBody(unknownFeature, art)), 422, '/pipeline/inputs/0/source/feature');
    const unknownView: Pipeline = {
      ...pipeline,
      inputs: [{ name: 'x', source: { kind: 'online', view: 'nope', feature: 'x' }, type: 'float64' }],
    };
    expectProblem(await post(publishBody(unknownView, art)), 422, '/pipeline/inputs/0/source/view');
    expectProblem(
      await post({ ...publishBody(pipeline, art), exampleSet: { name: 'es_ok', version: 9 } }),
      422,
      '/exampleSet',
    );
    expectProblem(
      await post({ ...publishBody(pipeline, art), referenceExamples: { inputs: {}, outputs: { probability: [0.5] } } }),
      422,
      '/referenceExamples/inputs/x',
    );
    expectProblem(await post({ pipeline }), 400, '/artifact');
    expectProblem(await post(publishBody(pipeline, art), 'Bad-Name'), 400, '/name');

    expectProblem(await call('GET', '/api/v1/models/probe_model/versions'), 404);
    expectProblem(await call('GET', '/api/v1/models/probe_model/versions/1'), 404);
    expect(((await call('GET', '/api/v1/models')).body as { items: unknown[] }).items).toEqual([]);
  });

  it('publishes and deploys, and refuses unknown models and corrupted artifacts', async () => {
    const pipeline = requestPipeline();
    const art = await uploadArtifact(pipeline);
    const published = await call('POST', '/api/v1/models/probe_model/versions', publishBody(pipeline, art));
    expect(published.status).toBe(201);
    expect((published.body as { version: number }).version).toBe(1);
    expectProblem(await call('GET', '/api/v1/models/probe_model/versions/abc'), 404);
    expectProblem(await call('GET', '/api/v1/models/probe_model/versions/A!'), 400, '/version');

    expectProblem(await call('PUT', '/api/v1/deployments/probe', { model: 'nope' }), 404);
    expectProblem(await call('PUT', '/api/v1/deployments/probe', { model: 'probe_model', version: 7 }), 404);
    expectProblem(await call('PUT', '/api/v1/deployments/probe', { model: 'probe_model', extra: true }), 400, '/extra');
    expectProblem(await call('PUT', '/api/v1/deployments/Bad-Name', { model: 'probe_model' }), 400, '/name');
    expectProblem(await call('GET', '/api/v1/deployments/probe'), 404);

    const ok = await call('PUT', '/api/v1/deployments/probe', { model: 'probe_model' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const deployed = ok.body as { model: string; version: number; endpoint: string };
    expect(deployed).toMatchObject({ model: 'probe_model', version: 1 });
    expect(deployed.endpoint).toMatch(/\/v1\/predict\/probe$/);

    // Corrupt the stored object behind the repository's back, then publish v2 on the same artifact.
    const file = t.platform.objects.localPath(artifactKey(art.sha256))!;
    expect(fs.existsSync(file)).toBe(true);
    fs.writeFileSync(file, Buffer.from('garbage'));
    expect(
      (await call('POST', '/api/v1/models/probe_model/versions', publishBody({ ...pipeline, description: 'v2' }, art)))
        .status,
    ).toBe(201);
    expectProblem(await call('PUT', '/api/v1/deployments/probe', { model: 'probe_model', version: 2 }), 409);
    expectProblem(await call('GET', `/api/v1/artifacts/sha256/${art.sha256}`), 409);
    expect((await call('GET', '/api/v1/deployments/probe')).body).toEqual(ok.body);
    expect(((await call('GET', '/api/v1/deployments')).body as { items: unknown[] }).items).toEqual([ok.body]);
  });
});

describe('control plane: token auth', () => {
  let secured: TestPlatform;
  beforeAll(async () => {
    secured = await startTestPlatform({ token: 's3cret' });
  });
  afterAll(async () => {
    await secured?.close();
  });

  it('answers 401 problems without the token and leaves health open', async () => {
    const anon = (route: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }) =>
      http(secured.url, init?.method ?? 'GET', route, init?.body, init?.headers);
    expect((await anon('/api/v1/health')).status).toBe(200);
    expectProblemOn(await anon('/api/v1/entities'), 401);
    expectProblemOn(await anon('/api/v1/openapi.json'), 401);
    expectProblemOn(await anon('/api/v1/entities', { headers: { authorization: 'Bearer wrong' } }), 401);
    expectProblemOn(
      await anon('/api/v1/entities/shop', {
        method: 'PUT',
        body: { name: 'shop', joinKeys: [{ name: 'shop_id', type: 'int64' }] },
      }),
      401,
    );
    const ok = await anon('/api/v1/entities', { headers: { authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ items: [] });
    expect((await secured.client.listEntities()).items).toEqual([]);
  });

  function expectProblemOn(r: HttpAnswer, status: number): void {
    expect(r.status).toBe(status);
    expect(r.contentType).toContain(PROBLEM_CONTENT_TYPE);
    expect((r.body as { status: number }).status).toBe(status);
  }
});
