/** The Redis online store against a real redis-server the test starts. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RunningRedis } from '../../test-support/redis';
import { onlineStoreSuite } from '../../test-support/online-store-suite';
import { encodeEntityKey } from './entity-key';
import { BUCKETS, RedisOnlineStore, bucketOf } from './redis-store';

let server: RunningRedis;
let store: RedisOnlineStore;
beforeAll(async () => {
  server = await startRedis();
  store = RedisOnlineStore.open({ url: server.url });
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

onlineStoreSuite('RedisOnlineStore', () => store);

describe('RedisOnlineStore layout', () => {
  it('keeps a view in its bucket hashes: event time first, then MessagePack values', async () => {
    const key = encodeEntityKey([42]);
    await store.writeBatch('layout', [{ entityKey: key, eventTs: 1_767_225_600_000, values: { ctr: 0.25 } }]);
    const raw = new Redis(server.url);
    try {
      const b = bucketOf(key);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(BUCKETS);
      const v = await raw.hgetBuffer(`plinth:ol:layout:{${b}}`, key);
      expect(v?.readDoubleLE(0)).toBe(1_767_225_600_000);
      expect(await raw.keys('plinth:ol:layout:*')).toEqual([`plinth:ol:layout:{${b}}`]);
    } finally {
      raw.disconnect();
    }
  });

  it('reads many entities of one view in one go, wherever their buckets are', async () => {
    const rows = Array.from({ length: 2_000 }, (_, i) => ({
      entityKey: encodeEntityKey([i]),
      eventTs: i,
      values: { i },
    }));
    expect(await store.writeBatch('many', rows)).toEqual({ written: 2_000, skippedOlder: 0 });
    const got = await store.read('many', rows.map((r) => r.entityKey).reverse());
    expect(got.map((r) => r?.values.i)).toEqual(rows.map((r) => r.values.i).reverse());
  });
});
