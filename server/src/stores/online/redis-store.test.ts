/** kernel-lib's Redis online store against real redis-server processes the test starts. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUCKETS,
  bucketKey,
  bucketOf,
  encodeEntityKey,
  OnlineStoreUnavailableError,
  RedisOnlineStore,
  schemaId,
  schemaIdHex,
} from '@plinth/kernel-lib';
import {
  makeTlsFiles,
  startRedis,
  startRedisCluster,
  type RunningRedis,
  type RunningRedisCluster,
} from '../../test-support/redis';
import { onlineStoreSuite } from '../../test-support/online-store-suite';

const one = (entityKey: string, eventTs: number, values: unknown[]) => ({ entityKey, eventTs, values });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: RunningRedis;
let store: RedisOnlineStore;
beforeAll(async () => {
  server = await startRedis();
  store = await RedisOnlineStore.connect({ url: server.url });
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

onlineStoreSuite('RedisOnlineStore', () => store);

describe('RedisOnlineStore layout', () => {
  it('keeps a view in its bucket hashes with the documented value bytes, and its schemas in one hash', async () => {
    const key = encodeEntityKey([42]);
    await store.writeBatch('layout', { features: ['ctr'], rows: [one(key, 1_767_225_600_000, [0.25])] });
    const raw = new Redis(server.url);
    try {
      const b = bucketOf(key);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(BUCKETS);
      const v = (await raw.hgetBuffer(bucketKey('layout', b), key)) as Buffer;
      expect(v[0]).toBe(1);
      expect(v.readDoubleLE(1)).toBe(1_767_225_600_000);
      expect(v.readUInt32LE(9)).toBe(schemaId(['ctr']));
      // fixarray of 1, float64 0.25
      expect([...v.subarray(13)]).toEqual([0x91, 0xcb, ...Buffer.from('3fd0000000000000', 'hex')]);
      expect(await raw.hget('plinth:ol:layout:schemas', schemaIdHex(schemaId(['ctr'])))).toBe('["ctr"]');
      expect((await raw.keys('plinth:ol:layout:*')).sort()).toEqual(
        [`plinth:ol:layout:{${b}}`, 'plinth:ol:layout:schemas'].sort(),
      );
    } finally {
      raw.disconnect();
    }
  });

  it('reads many entities of one view in one go, wherever their buckets are', async () => {
    const rows = Array.from({ length: 2_000 }, (_, i) => one(encodeEntityKey([i]), i, [i]));
    expect(await store.writeBatch('many', { features: ['i'], rows })).toEqual({ written: 2_000, skippedOlder: 0 });
    const got = await store.read('many', rows.map((r) => r.entityKey).reverse(), ['i']);
    expect(got.map((r) => r?.values[0])).toEqual(rows.map((r) => r.values[0]).reverse());
  });
});

describe('RedisOnlineStore connections', () => {
  it('authenticates with a password, and names the store when the password is wrong', async () => {
    const secured = await startRedis({ password: 's3cret-pw' });
    try {
      const ok = await RedisOnlineStore.connect({ url: secured.url, password: 's3cret-pw' });
      await ok.writeBatch('auth', { features: ['a'], rows: [one(encodeEntityKey([1]), 1, [7])] });
      expect(await ok.read('auth', [encodeEntityKey([1])], ['a'])).toEqual([{ eventTs: 1, values: [7] }]);
      await ok.close();
      const err = await RedisOnlineStore.connect({ url: secured.url, password: 'wrong', connectTimeoutMs: 2000 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(OnlineStoreUnavailableError);
      expect((err as Error).message).toMatch(new RegExp(`Redis at redis://127.0.0.1:${secured.port}`));
      expect((err as Error).message).not.toContain('wrong');
    } finally {
      await secured.stop();
    }
  });

  it('talks TLS to a TLS-only server, verifying its certificate against the given CA', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-redis-tls-'));
    const files = makeTlsFiles(dir);
    const secured = await startRedis({ tls: files });
    try {
      const tlsStore = await RedisOnlineStore.connect({ url: secured.url, tls: { caFile: files.caFile } });
      await tlsStore.writeBatch('tls', { features: ['a'], rows: [one(encodeEntityKey(['x']), 1, ['over tls'])] });
      expect(await tlsStore.read('tls', [encodeEntityKey(['x'])], ['a'])).toEqual([
        { eventTs: 1, values: ['over tls'] },
      ]);
      await tlsStore.close();
      // Without the CA the certificate is not trusted: refused, not silently accepted.
      await expect(RedisOnlineStore.connect({ url: secured.url, connectTimeoutMs: 2000 })).rejects.toThrow(
        /cannot connect to the online store/,
      );
    } finally {
      await secured.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails fast while Redis is down and recovers by itself when it is back on the same port', async () => {
    const flaky = await startRedis();
    const events: string[] = [];
    const s = await RedisOnlineStore.connect({ url: flaky.url, onEvent: (e) => events.push(e) });
    try {
      const k = encodeEntityKey([1]);
      await s.writeBatch('restart', { features: ['a'], rows: [one(k, 1, [1])] });
      await flaky.stop();
      await sleep(100);
      const t0 = Date.now();
      const err = await s.read('restart', [k], ['a']).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(500);
      expect(err).toBeInstanceOf(OnlineStoreUnavailableError);
      expect((err as Error).message).toMatch(/online store unavailable \(Redis at redis:\/\/127\.0\.0\.1:\d+\)/);
      const back = await startRedis({ port: flaky.port });
      try {
        // The data was not persisted (no RDB/AOF in tests): writes and reads work again.
        for (let i = 0; ; i++) {
          const ok = await s
            .writeBatch('restart', { features: ['a'], rows: [one(k, 2, [2])] })
            .then(() => true)
            .catch(() => false);
          if (ok) break;
          if (i > 100) throw new Error('the store never reconnected');
          await sleep(100);
        }
        expect(await s.read('restart', [k], ['a'])).toEqual([{ eventTs: 2, values: [2] }]);
        expect(events).toContain('reconnecting');
      } finally {
        await s.close();
        await back.stop();
      }
    } finally {
      await flaky.stop();
    }
  });
});

describe('RedisOnlineStore on a 3-master Redis Cluster', () => {
  let cluster: RunningRedisCluster;
  let clustered: RedisOnlineStore;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    clustered = await RedisOnlineStore.connect({ cluster: cluster.nodes });
  }, 60_000);
  afterAll(async () => {
    await clustered?.close();
    await cluster?.stop();
  });

  onlineStoreSuite('RedisOnlineStore (cluster)', () => clustered);

  it("spreads one view's buckets over every master", async () => {
    const rows = Array.from({ length: 3_000 }, (_, i) => one(encodeEntityKey([i]), 1, [i]));
    await clustered.writeBatch('spread', { features: ['i'], rows });
    const perNode = await Promise.all(
      cluster.nodes.map(async (n) => {
        const r = new Redis(n.port, n.host);
        try {
          return (await r.keys('plinth:ol:spread:{*')).length;
        } finally {
          r.disconnect();
        }
      }),
    );
    expect(perNode.every((n) => n > 0)).toBe(true);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(BUCKETS);
    expect((await clustered.read('spread', [encodeEntityKey([2_999])], ['i']))[0]?.values).toEqual([2_999]);
  });
});
