/**
 * The control plane on the shared metadata store: a real PostgreSQL server instead of PGlite,
 * chosen by configuration (PLINTH_METADATA_URL / metadataUrl), with the same behaviour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type RunningPostgres } from './test-support/postgres';
import { jobOutcome, startTestPlatform } from './test-support/platform';

describe('control plane with PostgreSQL metadata', () => {
  let pg: RunningPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('applies, runs jobs and keeps its registry across restarts', async () => {
    const first = await startTestPlatform({ metadataUrl: pg.url, applyDemo: true });
    try {
      expect(first.config.metadata).toEqual({ kind: 'postgres', url: pg.url });
      const job = await jobOutcome(first.client, (await first.client.materialize({ view: 'user_features' })).id);
      expect(job.status).toBe('succeeded');
      const changed = await first.client.applyFeatureView({
        ...(await first.client.getFeatureView('product_features')).spec,
        description: 'changed',
      });
      expect(changed).toMatchObject({ version: 2, created: true });
    } finally {
      await first.close();
    }

    // A second control plane on the same database sees everything the first one stored.
    const second = await startTestPlatform({ metadataUrl: pg.url });
    try {
      const views = (await second.client.listFeatureViews()).items.map((v) => `${v.name}@${v.version}`);
      expect(views).toEqual(['product_features@2', 'user_features@1']);
      expect((await second.client.getFeatureView('product_features', 1)).spec.description).not.toBe('changed');
      const jobs = (await second.client.listJobs()).items;
      expect(jobs.map((j) => [j.kind, j.status])).toEqual([['materialize', 'succeeded']]);
    } finally {
      await second.close();
    }
  }, 120_000);
});
