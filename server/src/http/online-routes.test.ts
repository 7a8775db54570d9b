/**
 * Feature serving and the online store's operations through the control plane's HTTP API,
 * on the embedded LMDB store and on a real redis-server: statuses, defaults, max age, feature
 * services, the push API and its guard against materialization, sizes, TTL expiry, deletion,
 * latency budgets and a Redis outage.
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOnlineStore, OnlineFeatureReader } from '@plinth/kernel-lib';
import {
  PROBLEM_CONTENT_TYPE,
  type ConsistencyReport,
  type FeatureView,
  type OnlineFeaturesResponse,
} from '@plinth/schema';
import { literal } from '../offline/duckdb';
import { writeParquet } from '../test-support/lake';
import {
  http,
  jobOutcome,
  startTestPlatform,
  tempDir,
  type HttpAnswer,
  type TestPlatform,
} from '../test-support/platform';
import { startRedis, type RunningRedis } from '../test-support/redis';

const HOUR = 3_600_000;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const ts = (ms: number) => `TIMESTAMP ${literal(iso(ms).replace('T', ' ').replace('Z', ''))}`;

const userStats: FeatureView = {
  name: 'user_stats',
  entities: ['user'],
  sources: ['stats'],
  sql: 'SELECT user_id, ts, clicks, country, ctr FROM stats',
  timestampColumn: 'ts',
  features: [
    { name: 'clicks', type: 'int64', default: 0 },
    { name: 'country', type: 'string', default: 'unknown' },
    { name: 'ctr', type: 'float64' },
  ],
  ttlSeconds: 86_400,
};

const stock: FeatureView = {
  name: 'stock',
  entities: ['product'],
  sources: ['stock_src'],
  sql: 'SELECT product_id, ts, units_left FROM stock_src',
  timestampColumn: 'ts',
  features: [{ name: 'units_left', type: 'int64', default: -1 }],
};

// 200 users for the consistency check; user 7's score is NaN (equal to itself, not a mismatch).
const SCORES = 200;
const scoreTime = (i: number) => Math.floor(now / 1000) * 1000 - HOUR - i * 1000;
const scores: FeatureView = {
  name: 'scores',
  entities: ['user'],
  sources: ['scores_src'],
  sql: 'SELECT user_id, ts, score, tier FROM scores_src',
  timestampColumn: 'ts',
  features: [
    { name: 'score', type: 'float64' },
    { name: 'tier', type: 'string' },
  ],
};

function expectProblem(r: HttpAnswer, status: number, pointer?: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.contentType).toContain(PROBLEM_CONTENT_TYPE);
  if (pointer !== undefined) expect(r.pointers, JSON.stringify(r.body)).toContain(pointer);
}

async function makeLake(): Promise<string> {
  const lake = path.join(tempDir('online'), 'lake');
  // User 1: an hour old (fresh); user 2: two days old (past the 1-day TTL); user 3: none.
  await writeParquet(
    path.join(lake, 'stats', 'stats.parquet'),
    `SELECT * FROM (VALUES (1::BIGINT, ${ts(now - HOUR)}, 5::BIGINT, 'de', 0.5::DOUBLE),
                           (2::BIGINT, ${ts(now - 48 * HOUR)}, 9::BIGINT, 'fr', 0.25::DOUBLE))
       AS t(user_id, ts, clicks, country, ctr)`,
  );
  await writeParquet(
    path.join(lake, 'stock_src', 'stock.parquet'),
    `SELECT * FROM (VALUES (1::BIGINT, ${ts(now - 2 * HOUR)}, 10::BIGINT)) AS t(product_id, ts, units_left)`,
  );
  await writeParquet(
    path.join(lake, 'scores_src', 'scores.parquet'),
    `SELECT i::BIGINT AS user_id, to_timestamp((${scoreTime(0)} - i * 1000) / 1000) AS ts,
            CASE WHEN i = 7 THEN 'NaN'::DOUBLE ELSE i / 8 END AS score, 'tier' || (i % 3) AS tier
     FROM range(${SCORES}) t(i)`,
  );
  return lake;
}

for (const backend of ['lmdb', 'redis'] as const) {
  describe(`online serving on ${backend}`, () => {
    let t: TestPlatform;
    let redis: RunningRedis | undefined;
    const call = (method: string, route: string, body?: unknown) => http(t.url, method, route, body);
    const read = async (body: unknown) => {
      const r = await call('POST', '/api/v1/online-features', body);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body as OnlineFeaturesResponse;
    };
    const materialize = async (view: string) => jobOutcome(t.client, (await t.client.materialize({ view })).id);

    beforeAll(async () => {
      if (backend === 'redis') redis = await startRedis({ args: ['--enable-debug-command', 'yes'] });
      t = await startTestPlatform({ lakeDir: await makeLake(), onlineStore: redis?.url });
      await t.client.applyEntity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
      await t.client.applyEntity({ name: 'product', joinKeys: [{ name: 'product_id', type: 'int64' }] });
      await t.client.applyDataSource({ name: 'stats', path: 'stats', format: 'parquet' });
      await t.client.applyDataSource({ name: 'stock_src', path: 'stock_src', format: 'parquet' });
      await t.client.applyDataSource({ name: 'scores_src', path: 'scores_src', format: 'parquet' });
      await t.client.applyFeatureView(userStats);
      await t.client.applyFeatureView(stock);
      await t.client.applyFeatureService({ name: 'ranker', features: ['user_stats', 'stock:units_left'] });
      await t.client.applyFeatureView(scores);
      for (const v of ['user_stats', 'stock', 'scores']) expect((await materialize(v)).status).toBe('succeeded');
    }, 120_000);
    afterAll(async () => {
      await t?.close();
      await redis?.stop();
    });

    it('answers N entities x M features with a status per value and declared defaults, flagged', async () => {
      const r = await read({
        features: ['user_stats:clicks', 'user_stats:country', 'user_stats:ctr'],
        entities: { user_id: [1, 2, 3] },
      });
      expect(r.partial).toBe(false);
      expect(r.rows[0]).toEqual({
        values: { 'user_stats:clicks': 5, 'user_stats:country': 'de', 'user_stats:ctr': 0.5 },
        statuses: { 'user_stats:clicks': 'present', 'user_stats:country': 'present', 'user_stats:ctr': 'present' },
      });
      // Two days old with a one-day TTL: expired on read, served as the defaults (ctr has none).
      expect(r.rows[1]).toEqual({
        values: { 'user_stats:clicks': 0, 'user_stats:country': 'unknown', 'user_stats:ctr': null },
        statuses: { 'user_stats:clicks': 'expired', 'user_stats:country': 'expired', 'user_stats:ctr': 'expired' },
        defaulted: ['user_stats:clicks', 'user_stats:country'],
      });
      // Cold start: an unknown user still gets values, flagged.
      expect(r.rows[2].statuses['user_stats:clicks']).toBe('not_found');
      expect(r.rows[2].values['user_stats:clicks']).toBe(0);
      expect(r.rows[2].defaulted).toEqual(['user_stats:clicks', 'user_stats:country']);
    });

    it('applies a tighter max age per request', async () => {
      const r = await read({ features: ['user_stats:clicks'], entities: { user_id: [1] }, maxAgeSeconds: 60 });
      expect(r.rows[0].statuses['user_stats:clicks']).toBe('expired');
      const wide = await read({ features: ['user_stats:clicks'], entities: { user_id: [1] }, maxAgeSeconds: 7200 });
      expect(wide.rows[0].statuses['user_stats:clicks']).toBe('present');
    });

    it('serves every feature of a feature service, across views, in one request', async () => {
      const r = await read({ featureService: 'ranker', entities: { user_id: [1], product_id: [1] } });
      expect(r.rows[0].values).toEqual({
        'user_stats:clicks': 5,
        'user_stats:country': 'de',
        'user_stats:ctr': 0.5,
        'stock:units_left': 10,
      });
      expectProblem(
        await call('POST', '/api/v1/online-features', { featureService: 'ranker', entities: { user_id: [1] } }),
        400,
        '/entities/product_id',
      );
      expectProblem(
        await call('POST', '/api/v1/online-features', { featureService: 'nope', entities: { user_id: [1] } }),
        404,
        '/featureService',
      );
    });

    it.each([
      ['an unknown feature', { features: ['user_stats:nope'], entities: { user_id: [1] } }, 404, undefined],
      ['an unknown view', { features: ['nope:clicks'], entities: { user_id: [1] } }, 404, undefined],
      [
        'a mistyped key',
        { features: ['user_stats:clicks'], entities: { user_id: [1, 'abc'] } },
        400,
        '/entities/user_id/1',
      ],
      [
        'both features and a service',
        { features: ['user_stats:clicks'], featureService: 'ranker', entities: { user_id: [1] } },
        400,
        '/featureService',
      ],
      [
        'a negative budget',
        { features: ['user_stats:clicks'], entities: { user_id: [1] }, budgetMs: -1 },
        400,
        '/budgetMs',
      ],
      [
        'an unknown fallback',
        { features: ['user_stats:clicks'], entities: { user_id: [1] }, onUnavailable: 'guess' },
        400,
        '/onUnavailable',
      ],
      [
        'too many entities',
        { features: ['user_stats:clicks'], entities: { user_id: Array.from({ length: 10_001 }, (_, i) => i) } },
        413,
        '/entities',
      ],
    ])('refuses %s', async (_what, body, status, pointer) => {
      expectProblem(await call('POST', '/api/v1/online-features', body), status, pointer);
    });

    it('checks online values against the latest offline ones and reports the mismatch share', async () => {
      const check = async (view: string, body: unknown = {}) => {
        const r = await call('POST', `/api/v1/feature-views/${view}/consistency`, body);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return r.body as ConsistencyReport;
      };
      // Right after materialization everything matches (user 7's NaN included).
      let r = await check('scores');
      expect(r).toMatchObject({ entities: SCORES, sampled: SCORES, compared: SCORES, mismatched: 0, mismatchShare: 0 });
      // User 2 of user_stats is past the one-day TTL: left out, not counted missing.
      expect(await check('user_stats')).toMatchObject({ entities: 1, outsideTtl: 1, sampled: 1, mismatchShare: 0 });
      // The sample is deterministic.
      expect(await check('scores', { sample: 20 })).toEqual(await check('scores', { sample: 20 }));

      // An online store that lost its data, then got a few rows another way.
      expect((await call('DELETE', '/api/v1/feature-views/scores/online')).status).toBe(200);
      const pushed = await call('POST', '/api/v1/feature-views/scores/push', {
        rows: [
          { user_id: 1, ts: iso(scoreTime(1)), score: 99, tier: 'tier1' }, // same time, other score
          { user_id: 2, ts: iso(scoreTime(2) - HOUR), score: 2 / 8, tier: 'tier2' }, // older than offline
          { user_id: 3, ts: iso(scoreTime(3) + HOUR), score: 5, tier: 'x' }, // pushed since: newer
          { user_id: 4, ts: iso(scoreTime(4)), score: 4 / 8, tier: 'tier1' }, // identical
        ],
      });
      expect(pushed.body).toEqual({ written: 4, skippedOlder: 0 });
      r = await check('scores');
      expect(r).toMatchObject({
        sampled: SCORES,
        missingOnline: SCORES - 4,
        olderOnline: 1,
        newerOnline: 1,
        compared: 2,
        mismatched: 1,
        byFeature: { score: 1, tier: 0 },
      });
      expect(r.mismatchShare).toBeCloseTo((SCORES - 4 + 1 + 1) / SCORES, 10);
      expect(r.examples.length).toBe(10);
      expect(r.examples).toContainEqual({ entity: { user_id: 1 }, feature: 'score', offline: 1 / 8, online: 99 });
      expect(r.examples).toContainEqual({
        entity: { user_id: 2 },
        feature: '(event time)',
        offline: iso(scoreTime(2)),
        online: iso(scoreTime(2) - HOUR),
      });
      // A materialization repairs it; the newer pushed value stays.
      expect((await materialize('scores')).status).toBe('succeeded');
      expect(await check('scores')).toMatchObject({ newerOnline: 1, compared: SCORES - 1, mismatchShare: 0 });

      for (const sample of [0, 100_001, 'many', 1.5])
        expectProblem(await call('POST', '/api/v1/feature-views/scores/consistency', { sample }), 400, '/sample');
      expectProblem(await call('POST', '/api/v1/feature-views/nope/consistency', {}), 404);
      await t.client.applyFeatureView({ ...scores, name: 'scores_unmaterialized' });
      expectProblem(await call('POST', '/api/v1/feature-views/scores_unmaterialized/consistency', {}), 409);
    });

    it('takes pushed rows, never lets an older one replace a newer one, and refuses bad rows whole', async () => {
      const units = async () =>
        (await read({ features: ['stock:units_left'], entities: { product_id: [1, 2] } })).rows.map(
          (r) => r.values['stock:units_left'],
        );
      const push = (rows: unknown[]) => call('POST', '/api/v1/feature-views/stock/push', { rows });
      let r = await push([
        { product_id: 1, ts: iso(now - HOUR), units_left: 7 },
        { product_id: 2, ts: now - HOUR, units_left: 3 },
      ]);
      expect(r.body).toEqual({ written: 2, skippedOlder: 0 });
      expect(await units()).toEqual([7, 3]);
      r = await push([{ product_id: 1, ts: iso(now - 3 * HOUR), units_left: 99 }]);
      expect(r.body).toEqual({ written: 0, skippedOlder: 1 });
      // A materialization of the lake (its row is two hours old) runs after the push: the push stays.
      expect((await materialize('stock')).status).toBe('succeeded');
      expect(await units()).toEqual([7, 3]);

      r = await push([
        { product_id: 1, ts: iso(now), units_left: 1, bogus: 2 },
        { product_id: 'x', ts: iso(now), units_left: 'many' },
        { product_id: 2, units_left: 1 },
      ]);
      expectProblem(r, 400, '/rows/0/bogus');
      for (const p of ['/rows/1/product_id', '/rows/1/units_left', '/rows/2/ts']) expect(r.pointers).toContain(p);
      expect(await units()).toEqual([7, 3]);
      expectProblem(
        await push(Array.from({ length: 10_001 }, (_, i) => ({ product_id: i, ts: now, units_left: 1 }))),
        413,
        '/rows',
      );
      expectProblem(await push([]), 400, '/rows');
      expectProblem(await call('POST', '/api/v1/feature-views/nope/push', { rows: [{}] }), 404);
    });

    it('a push and a materialization racing leave the newest value', async () => {
      const [pushed] = await Promise.all([
        call('POST', '/api/v1/feature-views/stock/push', {
          rows: [{ product_id: 1, ts: iso(now - 1000), units_left: 42 }],
        }),
        materialize('stock'),
      ]);
      expect(pushed.status).toBe(200);
      const r = await read({ features: ['stock:units_left'], entities: { product_id: [1] } });
      expect(r.rows[0].values['stock:units_left']).toBe(42);
    });

    it('the hourly sweeper removes values past the TTL of every view that has one', async () => {
      expect(await t.controlPlane.expiry.sweep(now + 3 * 86_400_000)).toEqual({ user_stats: 2 });
      expect(
        ((await call('GET', '/api/v1/feature-views/user_stats/online')).body as { entities: number }).entities,
      ).toBe(0);
      expect((await materialize('user_stats')).status).toBe('succeeded');
      // A day ago, nothing was past the TTL yet.
      expect(await t.controlPlane.expiry.sweep(now - 86_400_000)).toEqual({ user_stats: 0 });
    });

    it('reports the size of a view, expires values past the TTL, and deletes a view', async () => {
      const size = (await call('GET', '/api/v1/feature-views/user_stats/online')).body as {
        entities: number;
        bytes: number;
        store: string;
      };
      expect(size.entities).toBe(2);
      expect(size.bytes).toBeGreaterThan(0);
      expect(size.store).toMatch(backend === 'lmdb' ? /^LMDB at / : /^Redis at redis:\/\/127\.0\.0\.1:/);
      const expired = (await call('POST', '/api/v1/feature-views/user_stats/online/expire')).body as {
        removed: number;
      };
      expect(expired.removed).toBe(1);
      expect(
        ((await call('GET', '/api/v1/feature-views/user_stats/online')).body as { entities: number }).entities,
      ).toBe(1);
      expectProblem(await call('POST', '/api/v1/feature-views/stock/online/expire'), 409);
      const del = await call('DELETE', '/api/v1/feature-views/user_stats/online');
      expect(del.body).toMatchObject({ removed: 1 });
      const r = await read({ features: ['user_stats:clicks'], entities: { user_id: [1] } });
      expect(r.rows[0].statuses['user_stats:clicks']).toBe('not_found');
      expect((await materialize('user_stats')).status).toBe('succeeded');
    });

    it('a notebook reads the store directly with the same answers as the API', async () => {
      const reader = new OnlineFeatureReader(t.client, await openOnlineStore(t.config.onlineStore, { readOnly: true }));
      try {
        const body = { featureService: 'ranker', entities: { user_id: [1, 2, 3], product_id: [1, 1, 9] } };
        const direct = await reader.get('ranker', [
          { user_id: 1, product_id: 1 },
          { user_id: 2, product_id: 1 },
          { user_id: 3, product_id: 9 },
        ]);
        expect(direct).toEqual(await read(body));
      } finally {
        await reader.close();
      }
    });

    if (backend === 'redis') {
      it('returns partial results, flagged, when the latency budget runs out', async () => {
        const blocker = new Redis(redis!.url);
        try {
          const sleeping = blocker.call('DEBUG', 'SLEEP', '0.4');
          await new Promise((r) => setTimeout(r, 50));
          const t0 = Date.now();
          const r = await read({
            features: ['user_stats:clicks', 'stock:units_left'],
            entities: { user_id: [1], product_id: [1] },
            budgetMs: 50,
          });
          expect(Date.now() - t0).toBeLessThan(350);
          expect(r.partial).toBe(true);
          expect(r.rows[0].statuses).toEqual({ 'user_stats:clicks': 'timeout', 'stock:units_left': 'timeout' });
          expect(r.rows[0].values).toEqual({ 'user_stats:clicks': 0, 'stock:units_left': -1 });
          await sleeping;
        } finally {
          blocker.disconnect();
        }
      });

      it('while Redis is down: a 503 naming the store, or defaults when asked; serving resumes when it is back', async () => {
        await redis!.stop();
        const body = { features: ['user_stats:clicks'], entities: { user_id: [1] } };
        const down = await call('POST', '/api/v1/online-features', body);
        expectProblem(down, 503);
        expect(JSON.stringify(down.body)).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+/);
        const fallback = await read({ ...body, onUnavailable: 'defaults' });
        expect(fallback.rows[0]).toEqual({
          values: { 'user_stats:clicks': 0 },
          statuses: { 'user_stats:clicks': 'unavailable' },
          defaulted: ['user_stats:clicks'],
        });
        expectProblem(
          await call('POST', '/api/v1/feature-views/stock/push', { rows: [{ product_id: 1, ts: now, units_left: 1 }] }),
          503,
        );
        redis = await startRedis({ port: redis!.port, args: ['--enable-debug-command', 'yes'] });
        for (let i = 0; ; i++) {
          const r = await call('POST', '/api/v1/online-features', body);
          if (r.status === 200) break;
          if (i > 100) throw new Error('the control plane never reconnected to Redis');
          await new Promise((res) => setTimeout(res, 100));
        }
        expect((await call('GET', '/api/v1/health')).status).toBe(200);
      });
    }
  });
}
