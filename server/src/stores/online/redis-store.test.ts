/** The Redis online store against a real redis-server the test starts. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startRedisCluster, type RunningRedis, type RunningRedisCluster } from '../../test-support/redis';
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

describe('RedisOnlineStore on a 3-master Redis Cluster', () => {
  let cluster: RunningRedisCluster;
  let clustered: RedisOnlineStore;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    clustered = RedisOnlineStore.open({ cluster: cluster.nodes });
  }, 60_000);
  afterAll(async () => {
    await clustered?.close();
    await cluster?.stop();
  });

  onlineStoreSuite('RedisOnlineStore (cluster)', () => clustered);

  it("spreads one view's buckets over every master", async () => {
    const rows = Array.from({ length: 3_000 }, (_, i) => ({
      entityKey: encodeEntityKey([i]),
      eventTs: 1,
      values: { i },
    }));
    await clustered.writeBatch('spread', rows);
    const perNode = await Promise.all(
      cluster.nodes.map(async (n) => {
        const r = new Redis(n.port, n.host);
        try {
          return (await r.keys('plinth:ol:spread:*')).length;
        } finally {
          r.disconnect();
        }
      }),
    );
    expect(perNode.every((n) => n > 0)).toBe(true);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(BUCKETS);
    expect((await clustered.read('spread', [encodeEntityKey([2_999])]))[0]?.values).toEqual({ i: 2_999 });
  });
});
