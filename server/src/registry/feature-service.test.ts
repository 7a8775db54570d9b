/**
 * Feature services: named sets of features, applied and versioned like the other definitions,
 * checked against the feature views they name, usable as the features of an example set,
 * searchable in the catalog and part of lineage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureService, FeatureView } from '@plinth/schema';
import {
  http,
  jobOutcome,
  materializeAll,
  startTestPlatform,
  tempDir,
  type TestPlatform,
} from '../test-support/platform';
import { demoFeatureViews } from '../cli/demo-definitions';
import { mergeDefinitions, readDefinitions } from '../cli/apply';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({ applyDemo: true });
  await materializeAll(t.client, ['user_features', 'product_features', 'clicks']);
});
afterAll(async () => {
  await t?.close();
});

const ctrFeatures: FeatureService = {
  name: 'ctr_features',
  features: ['user_features:user_ctr', 'product_features'],
  description: 'What the click-through model reads',
  team: 'ranking',
  owner: 'ranking@example.com',
  tags: { model: 'ctr' },
};
// Applied but never materialized.
const freshView: FeatureView = { ...demoFeatureViews[0], name: 'user_features_fresh', tags: undefined };

const problemOf = (e: unknown) =>
  (e as { problem: { status: number; detail?: string; errors?: { pointer: string; detail: string }[] } }).problem;

describe('apply, versions and plan', () => {
  it('applies a feature service, keeps its version when unchanged and versions changes', async () => {
    expect(await t.client.applyFeatureService(ctrFeatures)).toEqual({
      kind: 'feature-service',
      name: 'ctr_features',
      version: 1,
      created: true,
    });
    expect(await t.client.applyFeatureService(ctrFeatures)).toMatchObject({ version: 1, created: false });
    const v2 = { ...ctrFeatures, features: [...ctrFeatures.features, 'user_features:user_clicks'] };
    expect(await t.client.applyFeatureService(v2)).toMatchObject({ version: 2, created: true });
    expect((await t.client.getFeatureService('ctr_features')).spec.features).toEqual(v2.features);
    expect((await t.client.getFeatureService('ctr_features', 1)).spec.features).toEqual(ctrFeatures.features);
    expect((await t.client.listFeatureServices()).items.map((r) => `${r.name}@${r.version}`)).toEqual([
      'ctr_features@2',
    ]);
  });

  it('plans creates and updates, resolving views of the same plan, without writing', async () => {
    const { changes } = await t.client.plan({
      featureViews: [freshView],
      featureServices: [
        { name: 'fresh_features', features: ['user_features_fresh:user_ctr'] },
        { ...ctrFeatures, description: 'new words' },
      ],
    });
    expect(changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      'create feature-view/user_features_fresh',
      'create feature-service/fresh_features',
      'update feature-service/ctr_features',
    ]);
    expect(changes[2]).toMatchObject({ currentVersion: 2, changes: ['/description', '/features/2'] });
    expect((await t.client.listFeatureServices()).items.map((r) => r.name)).toEqual(['ctr_features']);
  });

  it('applies feature services of a definition set after the views they name', async () => {
    const results = await t.client.applyDefinitions({
      featureServices: [{ name: 'fresh_features', features: ['user_features_fresh:user_ctr'], team: 'growth' }],
      featureViews: [freshView],
    });
    expect(results.map((r) => `${r.kind}/${r.name}@${r.version}`)).toEqual([
      'feature-view/user_features_fresh@1',
      'feature-service/fresh_features@1',
    ]);
  });

  it('refuses unknown views and features with 422 naming each reference', async () => {
    const bad = { name: 'broken', features: ['user_features:user_ctr', 'nope_view', 'product_features:colour'] };
    const err = await t.client.applyFeatureService(bad).catch((e: unknown) => e);
    expect(problemOf(err).status).toBe(422);
    expect(problemOf(err).errors).toEqual([
      { pointer: '/features/1', detail: "feature view 'nope_view' does not exist" },
      { pointer: '/features/2', detail: "feature view 'product_features' has no feature 'colour'" },
    ]);
    const planErr = await t.client.plan({ featureServices: [ctrFeatures, bad] }).catch((e: unknown) => e);
    expect(problemOf(planErr).status).toBe(422);
    expect(problemOf(planErr).errors?.map((e) => e.pointer)).toEqual([
      '/featureServices/1/features/1',
      '/featureServices/1/features/2',
    ]);
    // Schema errors are 400s, as for every kind.
    const empty = await http(t.url, 'PUT', '/api/v1/feature-services/empty', { name: 'empty', features: [] });
    expect(empty.status).toBe(400);
    expect(empty.pointers).toEqual(['/features']);
    expect((await t.client.listFeatureServices()).items.map((r) => r.name).sort()).toEqual([
      'ctr_features',
      'fresh_features',
    ]);
  });

  it('reads featureServices sections from definition files', () => {
    const dir = tempDir('fs-defs');
    const file = path.join(dir, 'services.yaml');
    fs.writeFileSync(file, 'featureServices:\n  - name: s\n    features: [user_features]\n');
    const defs = mergeDefinitions([readDefinitions(file), { featureViews: [freshView] }]);
    expect(defs.featureServices).toEqual([{ name: 's', features: ['user_features'] }]);
    expect(defs.featureViews).toEqual([freshView]);
  });
});

describe('example sets from a feature service', () => {
  it("joins exactly the service's features and records the service in the manifest", async () => {
    const job = await jobOutcome(
      t.client,
      (await t.client.buildExampleSet({ name: 'ctr_train', labelView: 'clicks', featureService: 'ctr_features' })).id,
    );
    expect(job.status, job.error ?? '').toBe('succeeded');
    const es = await t.client.getExampleSet('ctr_train');
    expect(es.columns.filter((c) => c.role === 'feature').map((c) => c.name)).toEqual([
      'user_features__user_ctr',
      'user_features__user_clicks',
      'product_features__product_ctr',
      'product_features__product_impressions',
      'product_features__price',
    ]);
    expect(es.columns.filter((c) => c.role !== 'feature').map((c) => c.name)).toEqual([
      'user_id',
      'product_id',
      'ts',
      'clicked',
    ]);
    expect(es.featureService).toEqual({ name: 'ctr_features', version: 2 });
    expect(es.spec).toMatchObject({ featureService: 'ctr_features' });
    expect(es.featureViews.map((v) => v.name)).toEqual(['user_features', 'product_features']);
    expect(es.rows).toBeGreaterThan(0);
  });

  it.each([
    [
      'both features and a service',
      { features: ['user_features'], featureService: 'ctr_features' },
      '/featureService',
      'cannot be combined',
    ],
    ['neither', {}, '/features', 'is required'],
    ['an unknown service', { featureService: 'nope' }, '/featureService', "feature service 'nope' does not exist"],
    [
      'a service whose view has no data',
      { featureService: 'fresh_features' },
      '/featureService',
      "'user_features_fresh' (version 1) has no materialized data",
    ],
  ])('answers %s with 422 naming the field', async (_what, body, pointer, detail) => {
    const r = await http(t.url, 'POST', '/api/v1/example-sets', { name: 'bad_set', labelView: 'clicks', ...body });
    expect(r.status).toBe(422);
    expect(r.pointers).toEqual([pointer]);
    expect(JSON.stringify(r.body)).toContain(detail);
  });
});

describe('catalog and lineage', () => {
  const names = async (q: Parameters<typeof t.client.searchCatalog>[0]) =>
    (await t.client.searchCatalog(q)).items.map((i) => `${i.kind}/${i.name}`);

  it('finds feature services by name, features, description, tag, team, owner and entity', async () => {
    expect((await names({ q: 'ctr_features' }))[0]).toBe('feature-service/ctr_features');
    expect(await names({ kind: 'feature-service' })).toEqual([
      'feature-service/ctr_features',
      'feature-service/fresh_features',
    ]);
    expect(await names({ q: 'click-through model' })).toEqual(['feature-service/ctr_features']);
    expect(await names({ tag: 'model:ctr' })).toEqual(['feature-service/ctr_features']);
    expect(await names({ team: 'ranking' })).toEqual(['feature-service/ctr_features']);
    expect(await names({ owner: 'ranking@example.com' })).toEqual(['feature-service/ctr_features']);
    expect(await names({ entity: 'product', kind: 'feature-service' })).toEqual(['feature-service/ctr_features']);
    const [hit] = (await t.client.searchCatalog({ q: 'user_clicks', kind: 'feature-service' })).items;
    expect(hit).toMatchObject({
      name: 'ctr_features',
      version: 2,
      entities: ['user', 'product'],
      matched: ['field'],
      features: ['user_features:user_ctr', 'product_features', 'user_features:user_clicks'],
    });
  });

  it("shows a service's views and the example sets built from it, and a view's services", async () => {
    expect(await t.client.getFeatureServiceLineage('ctr_features')).toEqual({
      service: { kind: 'feature-service', name: 'ctr_features', version: 2 },
      featureViews: [
        { name: 'user_features', version: 1, features: ['user_ctr', 'user_clicks'] },
        { name: 'product_features', version: 1, features: ['product_ctr', 'product_impressions', 'price'] },
      ],
      entities: ['user', 'product'],
      exampleSets: [{ name: 'ctr_train', version: 1 }],
      models: [],
      deployments: [],
    });
    expect((await t.client.getLineage('user_features')).featureServices).toEqual([
      { name: 'ctr_features', version: 2 },
    ]);
    expect((await t.client.getLineage('clicks', 'label-view')).featureServices).toEqual([]);
    await expect(t.client.getFeatureServiceLineage('nope')).rejects.toMatchObject({ problem: { status: 404 } });
  });
});

describe('deleting', () => {
  it('refuses to remove a feature view a live feature service names, and allows it once the service is gone', async () => {
    const refused = await http(t.url, 'DELETE', '/api/v1/feature-views/user_features_fresh');
    expect(refused.status).toBe(409);
    expect((refused.body as { detail: string }).detail).toContain("feature service 'fresh_features'");
    expect((await t.client.getFeatureView('user_features_fresh')).version).toBe(1);

    expect((await http(t.url, 'DELETE', '/api/v1/feature-services/fresh_features')).status).toBe(204);
    expect((await http(t.url, 'DELETE', '/api/v1/feature-views/user_features_fresh')).status).toBe(204);
    await expect(t.client.getFeatureView('user_features_fresh')).rejects.toMatchObject({ problem: { status: 404 } });
  });
});
