/**
 * The catalog: ranked search with filters, duplicate definitions flagged at apply time and in
 * search results, and lineage from lake sources to deployments.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureView } from '@plinth/schema';
import { compilePipeline } from '@plinth/kernel-lib';
import { jobOutcome, materializeAll, startTestPlatform, type TestPlatform } from '../test-support/platform';
import { demoFeatureViews } from '../cli/demo-definitions';
import { normalizeSql, viewFingerprint } from './fingerprint';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({ applyDemo: true, inference: true });
});
afterAll(async () => {
  await t?.close();
});

const userFeatures = demoFeatureViews[0];
// The same definition, written differently: another team's copy.
const copy: FeatureView = {
  ...userFeatures,
  name: 'shopper_engagement',
  team: 'search',
  owner: 'search@example.com',
  description: 'Engagement of shoppers',
  sql: `-- copied from the growth team
${userFeatures.sql
  .replace(/\b(SELECT|FROM|WITH|AS|WINDOW|ROWS|BETWEEN)\b/g, (k) => k.toLowerCase())
  .replace(/\n/g, '\n     ')
  .replace(/, /g, ' ,  ')};`,
};

describe('duplicate detection', () => {
  it('normalises SQL: comments, whitespace and keyword case do not matter; literals do', () => {
    expect(normalizeSql("SELECT  a ,b -- x\nFROM t /* c */ WHERE s = 'A b';")).toBe("select a,b from t where s='A b'");
    expect(normalizeSql("select x from t where s = 'a'")).not.toBe(normalizeSql("select x from t where s = 'A'"));
    expect(viewFingerprint(copy)).toBe(viewFingerprint(userFeatures));
    expect(viewFingerprint({ ...copy, sources: ['impressions'] })).not.toBe(viewFingerprint(userFeatures));
  });

  it('flags the same definition under another name at apply time, and in the catalog', async () => {
    const applied = await t.client.applyFeatureView(copy);
    expect(applied).toMatchObject({ created: true, duplicates: [{ kind: 'feature-view', name: 'user_features' }] });
    const { items } = await t.client.searchCatalog({ kind: 'feature-view' });
    const byName = new Map(items.map((i) => [i.name, i]));
    expect(byName.get('user_features')?.duplicates).toEqual([{ kind: 'feature-view', name: 'shopper_engagement' }]);
    expect(byName.get('product_features')?.duplicates).toEqual([]);
    // Re-applying the original reports its twin too.
    expect((await t.client.applyFeatureView(userFeatures)).duplicates).toEqual([
      { kind: 'feature-view', name: 'shopper_engagement' },
    ]);
  });
});

describe('search', () => {
  const names = async (q: Parameters<typeof t.client.searchCatalog>[0]) =>
    (await t.client.searchCatalog(q)).items.map((i) => `${i.kind}/${i.name}`);

  it('ranks by name, then features, entities and descriptions', async () => {
    const hits = await names({ q: 'user' });
    expect(hits.slice(0, 2)).toEqual(['entity/user', 'feature-view/user_features']);
    expect(hits).toContain('feature-view/shopper_engagement'); // through its entity and features
    expect(hits).not.toContain('feature-view/product_features');
    const first = (await t.client.searchCatalog({ q: 'user' })).items[1];
    expect(first.matched).toEqual(expect.arrayContaining(['name', 'field', 'entity']));
  });

  it('needs every term to match, and filters by kind, team, owner, entity and tag', async () => {
    expect(await names({ q: 'price popularity' })).toEqual(['feature-view/product_features']);
    expect(await names({ q: 'price nonexistentword' })).toEqual([]);
    expect(await names({ team: 'catalog' })).toEqual(['entity/product', 'feature-view/product_features']);
    expect(await names({ owner: 'search@example.com' })).toEqual(['feature-view/shopper_engagement']);
    expect(await names({ entity: 'product', kind: 'feature-view' })).toEqual(['feature-view/product_features']);
    expect(await names({ tag: 'domain:engagement' })).toEqual([
      'feature-view/shopper_engagement',
      'feature-view/user_features',
    ]);
    expect(await names({ tag: 'domain:nothing' })).toEqual([]);
    expect(await names({ q: 'clicked', kind: 'label-view' })).toEqual(['label-view/clicks']);
  });

  it('rejects unknown kinds and bad limits with a problem naming the parameter', async () => {
    await expect(t.client.searchCatalog({ kind: 'model' as never })).rejects.toMatchObject({
      problem: { status: 400, errors: [{ pointer: '/kind' }] },
    });
    await expect(t.client.searchCatalog({ limit: 0 })).rejects.toMatchObject({
      problem: { status: 400, errors: [{ pointer: '/limit' }] },
    });
  });
});

describe('lineage', () => {
  it('follows a view from its lake sources to example sets, models and deployments', async () => {
    for (const j of await materializeAll(t.client, ['user_features', 'product_features', 'clicks']))
      expect(j.status).toBe('succeeded');
    expect((await t.client.getLineage('user_features')).exampleSets).toEqual([]);
    const es = await jobOutcome(
      t.client,
      (await t.client.buildExampleSet({ name: 'ctr_train', labelView: 'clicks', features: ['user_features:user_ctr'] }))
        .id,
    );
    expect(es.status).toBe('succeeded');

    const input = 'user_features__user_ctr';
    const bytes = compilePipeline({
      inputs: [{ name: input }],
      stages: [],
      model: { kind: 'logisticRegression', featureNames: [input], coefficients: [2], intercept: -3 },
    });
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    await t.client.putArtifact(sha256, bytes);
    await t.client.publishModelVersion('ctr', {
      pipeline: {
        name: 'ctr',
        inputs: [{ name: input, source: { kind: 'online', view: 'user_features', feature: 'user_ctr' } }],
        transformer: [],
        model: { kind: 'logisticRegression', featureNames: [input], coefficients: [2], intercept: -3 },
        outputs: [{ name: 'probability', type: 'float32' }],
      },
      artifact: { sha256, bytes: bytes.length, format: 'onnx' },
      exampleSet: { name: 'ctr_train', version: 1 },
    });
    await t.client.deploy('ctr_live', { model: 'ctr' });

    expect(await t.client.getLineage('user_features')).toEqual({
      view: { kind: 'feature-view', name: 'user_features', version: 1 },
      sources: [
        { name: 'impressions', path: 'impressions' },
        { name: 'clicks', path: 'clicks' },
      ],
      entities: ['user'],
      exampleSets: [{ name: 'ctr_train', version: 1 }],
      models: [{ name: 'ctr', version: 1 }],
      deployments: [{ name: 'ctr_live', model: 'ctr', version: 1 }],
      featureServices: [],
    });
    const label = await t.client.getLineage('clicks', 'label-view');
    expect(label.exampleSets).toEqual([{ name: 'ctr_train', version: 1 }]);
    expect(label.models).toEqual([{ name: 'ctr', version: 1 }]);
    expect((await t.client.getLineage('product_features')).models).toEqual([]);
    await expect(t.client.getLineage('nope')).rejects.toMatchObject({ problem: { status: 404 } });
  });
});
