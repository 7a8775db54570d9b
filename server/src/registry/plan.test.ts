/**
 * `plan`: what an apply would change, computed against the real registry without writing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureView } from '@plinth/schema';
import { startTestPlatform, type TestPlatform } from '../test-support/platform';
import { demoEntities, demoFeatureViews, demoLabelViews, demoSources } from '../cli/demo-definitions';
import { jsonDiff } from '../util/json-diff';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.close();
});

const demo = {
  entities: demoEntities,
  dataSources: demoSources,
  featureViews: demoFeatureViews,
  labelViews: demoLabelViews,
};

describe('plan', () => {
  it('plans creates on an empty registry, resolving references within the plan, and writes nothing', async () => {
    const plan = await t.client.plan(demo);
    expect(plan.changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      'create entity/user',
      'create entity/product',
      'create data-source/impressions',
      'create data-source/clicks',
      'create data-source/products',
      'create feature-view/user_features',
      'create feature-view/product_features',
      'create label-view/clicks',
    ]);
    expect((await t.client.listEntities()).items).toEqual([]);
    expect((await t.client.listFeatureViews()).items).toEqual([]);
  });

  it('after an apply: unchanged, and updates name the changed fields', async () => {
    for (const e of demoEntities) await t.client.applyEntity(e);
    for (const s of demoSources) await t.client.applyDataSource(s);
    for (const v of demoFeatureViews) await t.client.applyFeatureView(v);
    const changed: FeatureView = { ...demoFeatureViews[0], description: 'new words', ttlSeconds: 86_400 };
    const plan = await t.client.plan({ ...demo, featureViews: [changed, demoFeatureViews[1]] });
    const byName = new Map(plan.changes.map((c) => [`${c.kind}/${c.name}`, c]));
    expect(byName.get('entity/user')).toMatchObject({ action: 'unchanged', currentVersion: 1, changes: [] });
    expect(byName.get('feature-view/user_features')).toEqual({
      kind: 'feature-view',
      name: 'user_features',
      action: 'update',
      currentVersion: 1,
      changes: ['/description', '/ttlSeconds'],
    });
    expect(byName.get('feature-view/product_features')?.action).toBe('unchanged');
    expect(byName.get('label-view/clicks')?.action).toBe('create');
    expect((await t.client.getFeatureView('user_features')).version).toBe(1);
  });

  it('reports every invalid document at once with pointers into the request', async () => {
    const badView = {
      ...demoFeatureViews[0],
      entities: ['shopper'],
      features: [{ name: 'user_ctr', type: 'decimal' }],
    };
    const goodButMissingColumn = { ...demoFeatureViews[1], features: [{ name: 'ctr_7d', type: 'float64' }] };
    const err = await t.client
      .plan({
        entities: [{ name: 'User', joinKeys: [] }],
        featureViews: [badView, goodButMissingColumn, demoFeatureViews[1]],
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ problem: { status: 422 } });
    const pointers = (err as { problem: { errors: { pointer: string }[] } }).problem.errors.map((e) => e.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining([
        '/entities/0/name',
        '/featureViews/0/features/0/type',
        '/featureViews/1/features/0/name',
        '/featureViews/2/name',
      ]),
    );
  });
});

describe('jsonDiff', () => {
  it('lists changed, added and removed fields as JSON pointers', () => {
    expect(jsonDiff({ a: 1, b: { c: [1, 2] }, 'x/y': 1 }, { a: 1, b: { c: [1, 3, 4] }, d: null })).toEqual([
      '/b/c/1',
      '/b/c/2',
      '/d',
      '/x~1y',
    ]);
    expect(jsonDiff([1], { 0: 1 })).toEqual(['']);
  });
});
