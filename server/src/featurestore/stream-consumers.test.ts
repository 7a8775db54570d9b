/**
 * Stream consumers of feature views against a real redis-server holding the stream (and, in
 * the outage test, a second one as the online store): rows reach the online store, messages
 * that do not parse go to the dead-letter stream with their reason, an older row never
 * replaces a newer one whatever path it came by, and nothing is lost while the online store
 * is down.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OnlineFeaturesResponse, StreamStatus } from '@plinth/schema';
import { http, jobOutcome, startTestPlatform, type TestPlatform } from '../test-support/platform';
import { applyStock, HOUR, iso, stockLake, stockView } from '../test-support/stock-stream';
import { startRedis, type RunningRedis } from '../test-support/redis';

const now = Math.floor(Date.now() / 1000) * 1000;
const redisStream = (url: string) => ({ kind: 'redis' as const, url, topic: 'stock-updates' });

const units = async (t: TestPlatform, ids: number[]) => {
  const r = await http(t.url, 'POST', '/api/v1/online-features', {
    features: ['stock:units_left'],
    entities: { product_id: ids },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (r.body as OnlineFeaturesResponse).rows.map((row) => row.values['stock:units_left']);
};

const streamStatus = async (t: TestPlatform) => {
  const r = await http(t.url, 'GET', '/api/v1/feature-views/stock/stream');
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as StreamStatus;
};

/** Waits until the consumer has taken `n` messages in all (written, skipped or dead-lettered). */
const received = (t: TestPlatform, n: number) =>
  vi.waitFor(
    async () => {
      const s = await streamStatus(t);
      expect(s.received, JSON.stringify(s)).toBeGreaterThanOrEqual(n);
      return s;
    },
    { timeout: 20_000, interval: 50 },
  );

describe('a Redis Streams consumer', () => {
  let streamRedis: RunningRedis;
  let redis: Redis;
  let t: TestPlatform;
  const xadd = (...fields: (string | number)[]) => redis.xadd('stock-updates', '*', ...fields);
  const json = (row: unknown) => xadd('data', JSON.stringify(row));

  beforeAll(async () => {
    streamRedis = await startRedis();
    redis = new Redis(streamRedis.url);
    t = await startTestPlatform({ lakeDir: await stockLake(now) });
    await applyStock(t, redisStream(streamRedis.url));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    redis?.disconnect();
    await streamRedis?.stop();
  });

  it('writes JSON entries and one-field-per-column entries to the online store', async () => {
    await json({ product_id: 1, ts: iso(now - HOUR), units_left: 7, price: 9.5 });
    await xadd('product_id', '2', 'ts', String(now - HOUR), 'units_left', '3', 'price', '12.25');
    const s = await received(t, 2);
    expect(s).toMatchObject({ kind: 'redis', topic: 'stock-updates', group: 'plinth_stock', state: 'running' });
    expect(s.written).toBe(2);
    expect(await units(t, [1, 2])).toEqual([7, 3]);
    const r = await http(t.url, 'POST', '/api/v1/online-features', {
      features: ['stock:price'],
      entities: { product_id: [2] },
    });
    expect((r.body as OnlineFeaturesResponse).rows[0].values['stock:price']).toBe(12.25);
    await vi.waitFor(async () => expect((await streamStatus(t)).lag).toBe(0), { timeout: 5000 });
  });

  it('moves messages that do not parse to the dead-letter stream with their reason, and keeps going', async () => {
    const before = (await streamStatus(t)).received;
    await xadd('data', '{"product_id": 3,');
    await json({ product_id: 'x', ts: iso(now), units_left: 1 });
    await json({ product_id: 3, ts: iso(now), units_left: 'many', colour: 'red' });
    await xadd('product_id', '3', 'units_left', '4'); // no timestamp
    await json({ product_id: 3, ts: iso(now - HOUR), units_left: 4 });
    const s = await received(t, before + 5);
    expect(s.deadLettered).toBe(4);
    expect(await units(t, [3])).toEqual([4]);
    const dead = await redis.xrange('stock-updates.dead-letter', '-', '+');
    const reasons = dead.map(([, f]) => f[f.indexOf('reason') + 1]);
    expect(reasons[0]).toMatch(/^data: not JSON/);
    expect(reasons[1]).toMatch(/^product_id: join key must be an integer \(int64\), got "x"/);
    expect(reasons[2]).toContain(`units_left: feature 'units_left' (int64) must be an integer, got "many"`);
    expect(reasons[2]).toContain("colour: view 'stock' has no feature 'colour'");
    expect(reasons[3]).toBe('ts: the timestamp column is required');
    // Each dead letter keeps the original entry and where it came from.
    const first = dead[0][1];
    expect(first[first.indexOf('source') + 1]).toBe('stock-updates');
    expect(JSON.parse(first[first.indexOf('fields') + 1])).toEqual({ data: '{"product_id": 3,' });
    // Everything was acknowledged: nothing pending in the group.
    expect(await redis.xpending('stock-updates', 'plinth_stock')).toEqual([0, null, null, null]);
  });

  it('never lets an older row replace a newer one: streamed, pushed and materialized, racing', async () => {
    // An older streamed row after a newer one, in the same read and in a later one.
    let s = await streamStatus(t);
    await json({ product_id: 4, ts: iso(now), units_left: 40 });
    await json({ product_id: 4, ts: iso(now - HOUR), units_left: 1 });
    s = await received(t, s.received + 2);
    await json({ product_id: 4, ts: iso(now - 2 * HOUR), units_left: 2 });
    s = await received(t, s.received + 1);
    expect(await units(t, [4])).toEqual([40]);

    // A push newer than the streamed row wins; a streamed row older than the push loses.
    const pushed = await http(t.url, 'POST', '/api/v1/feature-views/stock/push', {
      rows: [{ product_id: 4, ts: iso(now + 1000), units_left: 41 }],
    });
    expect(pushed.body).toEqual({ written: 1, skippedOlder: 0 });
    await json({ product_id: 4, ts: iso(now + 500), units_left: 3 });
    s = await received(t, s.received + 1);
    expect(await units(t, [4])).toEqual([41]);

    // Materialization of the lake (product 1: two hours old) racing with a stream of newer rows.
    const before = s.received;
    const stream = (async () => {
      for (let i = 0; i < 50; i++) await json({ product_id: 1, ts: iso(now - HOUR + i * 1000), units_left: 100 + i });
    })();
    const job = await t.client.materialize({ view: 'stock' });
    await stream;
    expect((await jobOutcome(t.client, job.id)).status).toBe('succeeded');
    await received(t, before + 50);
    expect(await units(t, [1])).toEqual([149]);
  });

  it('reports the consumer, and 404s a view without a stream', async () => {
    const s = await streamStatus(t);
    expect(s.skippedOlder).toBeGreaterThanOrEqual(3);
    expect(s.lastMessageAt).not.toBeNull();
    // The CLI shows the consumer beside the view's online size.
    const bin = path.resolve(__dirname, '..', '..', 'bin', 'plinth.js');
    const cli = await promisify(execFile)(process.execPath, [
      bin,
      'online',
      'status',
      'stock',
      '--control-plane',
      t.url,
    ]);
    expect(cli.stdout).toMatch(/^stock: \d+ entities, \d+ bytes in LMDB at /);
    expect(cli.stdout).toMatch(/stream redis stock-updates \(group plinth_stock\): running, lag 0\n/);
    expect(cli.stdout).toMatch(
      new RegExp(
        `${s.received} received, ${s.written} written, ${s.skippedOlder} older than stored, 4 to stock-updates.dead-letter`,
      ),
    );
    await t.client.applyFeatureView({ ...stockView(undefined), name: 'stock_plain' });
    const r = await http(t.url, 'GET', '/api/v1/feature-views/stock_plain/stream');
    expect(r.status).toBe(404);
    expect(JSON.stringify(r.body)).toMatch(/declares no stream/);
  });

  it.each([
    ['a Redis stream without a URL', { kind: 'redis', topic: 's' }, '/stream/url'],
    ['a URL that is not Redis', { kind: 'redis', topic: 's', url: 'http://x' }, '/stream/url'],
    ['a Kafka stream without brokers', { kind: 'kafka', topic: 's' }, '/stream/brokers'],
    ['a broker without a port', { kind: 'kafka', topic: 's', brokers: ['localhost'] }, '/stream/brokers/0'],
    [
      'a dead letter equal to the topic',
      { kind: 'redis', topic: 's', url: 'redis://h', deadLetter: 's' },
      '/stream/deadLetter',
    ],
    ['an unknown kind', { kind: 'pulsar', topic: 's' }, '/stream/kind'],
  ])('refuses %s at apply, naming the field', async (_what, stream, pointer) => {
    const r = await http(t.url, 'PUT', '/api/v1/feature-views/stock_bad', {
      ...stockView(undefined),
      name: 'stock_bad',
      stream,
    });
    expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.pointers, JSON.stringify(r.body)).toContain(pointer);
  });
});

describe('a Redis Streams consumer while the online store (Redis) is down', () => {
  let streamRedis: RunningRedis;
  let onlineRedis: RunningRedis;
  let t: TestPlatform;

  beforeAll(async () => {
    streamRedis = await startRedis();
    onlineRedis = await startRedis();
    t = await startTestPlatform({ lakeDir: await stockLake(now), onlineStore: onlineRedis.url });
    await applyStock(t, redisStream(streamRedis.url));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await streamRedis?.stop();
    await onlineRedis?.stop();
  });

  it('keeps the messages unacknowledged, says why, and writes them all once the store is back', async () => {
    const redis = new Redis(streamRedis.url);
    try {
      const port = onlineRedis.port;
      await onlineRedis.stop();
      for (let i = 0; i < 20; i++)
        await redis.xadd('stock-updates', '*', 'data', JSON.stringify({ product_id: i, ts: now, units_left: i }));
      const down = await vi.waitFor(
        async () => {
          const s = await streamStatus(t);
          expect(s.state).toBe('retrying');
          return s;
        },
        { timeout: 20_000, interval: 100 },
      );
      expect(down.lastError).toMatch(/online store|Redis|connect|ECONNREFUSED|closed/i);
      expect(down.written).toBe(0);
      onlineRedis = await startRedis({ port });
      await vi.waitFor(
        async () => {
          const s = await streamStatus(t);
          expect(s.written, JSON.stringify(s)).toBe(20);
          expect(s.state).toBe('running');
        },
        { timeout: 40_000, interval: 200 },
      );
      expect(await units(t, [0, 7, 19])).toEqual([0, 7, 19]);
      expect(await redis.xpending('stock-updates', 'plinth_stock')).toEqual([0, null, null, null]);
    } finally {
      redis.disconnect();
    }
  }, 90_000);
});
