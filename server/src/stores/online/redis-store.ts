import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { Packr } from 'msgpackr';
import type { OnlineRow, OnlineStore, OnlineWrite } from '../types';

/**
 * Online store layout in Redis (standalone or Cluster), the contract other readers rely on:
 *
 * - each view's entities are spread over `BUCKETS` hashes, key `plinth:ol:<view>:{<b>}` where
 *   `b` = FNV-1a(entityKey) mod BUCKETS. Deleting a view is UNLINK of its BUCKETS keys, never
 *   a keyspace scan; the hash tag `{<b>}` spreads a view's buckets over Cluster slots while
 *   keeping every command on one key;
 * - field: the canonical entity key (`encodeEntityKey`);
 * - value: 8 bytes event time (epoch ms, float64 little-endian), then the feature values by
 *   name in MessagePack.
 *
 * The timestamp guard runs in Redis (one Lua call per bucket and batch), so concurrent
 * writers (a batch and a stream) cannot interleave between its read and its write.
 */
export const BUCKETS = 256;

const bucketKey = (view: string, b: number) => `plinth:ol:${view}:{${b}}`;

/** FNV-1a over the key's UTF-16 code units: stable across processes and languages that follow it. */
export function bucketOf(entityKey: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < entityKey.length; i++) {
    h ^= entityKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % BUCKETS;
}

// ARGV: field, value, field, value...; the value's first 8 bytes are its event time. An older
// value than the stored one is skipped; an equal one replaces it (a correction).
const GUARDED_WRITE = `
local written = 0
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  local newer = true
  if cur then
    newer = struct.unpack('<d', string.sub(ARGV[i + 1], 1, 8)) >= struct.unpack('<d', string.sub(cur, 1, 8))
  end
  if newer then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    written = written + 1
  end
end
return written`;

type Client = (Redis | Cluster) & {
  guardedWrite(key: string, ...args: (string | Buffer)[]): Promise<number>;
};

export interface RedisOnlineStoreOptions {
  /** redis://[user:password@]host:port for standalone, or several for a Cluster. */
  url?: string;
  cluster?: { host: string; port: number }[];
  redis?: RedisOptions;
}

export class RedisOnlineStore implements OnlineStore {
  private readonly packr = new Packr({ useRecords: false });

  private constructor(private readonly client: Client) {}

  static open(opts: RedisOnlineStoreOptions): RedisOnlineStore {
    const base: RedisOptions = { lazyConnect: false, maxRetriesPerRequest: 2, ...opts.redis };
    const client = (
      opts.cluster
        ? new Cluster(opts.cluster, { redisOptions: base })
        : new Redis(opts.url ?? 'redis://127.0.0.1:6379', base)
    ) as Client;
    client.defineCommand('guardedWrite', { numberOfKeys: 1, lua: GUARDED_WRITE });
    return new RedisOnlineStore(client);
  }

  async writeBatch(view: string, rows: OnlineWrite[]): Promise<{ written: number; skippedOlder: number }> {
    requireView(view);
    const byBucket = new Map<number, (string | Buffer)[]>();
    rows.forEach((row, i) => {
      if (typeof row.entityKey !== 'string' || row.entityKey.length === 0)
        throw new TypeError(`row #${i}: entityKey must be a non-empty string`);
      if (!Number.isFinite(row.eventTs))
        throw new TypeError(`row #${i} (${row.entityKey}): eventTs must be a finite number`);
    });
    // Within one batch the newest row of an entity wins, as it would written one by one.
    const newest = new Map<string, OnlineWrite>();
    for (const row of rows) {
      const cur = newest.get(row.entityKey);
      if (!cur || row.eventTs >= cur.eventTs) newest.set(row.entityKey, row);
    }
    for (const row of newest.values()) {
      const b = bucketOf(row.entityKey);
      let args = byBucket.get(b);
      if (!args) byBucket.set(b, (args = []));
      args.push(row.entityKey, this.encode(row));
    }
    const counts = await Promise.all(
      [...byBucket].map(([b, args]) => this.client.guardedWrite(bucketKey(view, b), ...args)),
    );
    const written = counts.reduce((s, n) => s + Number(n), 0);
    return { written, skippedOlder: rows.length - written };
  }

  async read(view: string, entityKeys: string[]): Promise<(OnlineRow | null)[]> {
    requireView(view);
    if (entityKeys.length === 0) return [];
    const byBucket = new Map<number, number[]>();
    entityKeys.forEach((k, i) => {
      const b = bucketOf(k);
      let idx = byBucket.get(b);
      if (!idx) byBucket.set(b, (idx = []));
      idx.push(i);
    });
    const out: (OnlineRow | null)[] = new Array(entityKeys.length).fill(null);
    await Promise.all(
      [...byBucket].map(async ([b, idx]) => {
        const values = await this.client.hmgetBuffer(bucketKey(view, b), ...idx.map((i) => entityKeys[i]));
        values.forEach((v, j) => {
          if (v) out[idx[j]] = this.decode(v);
        });
      }),
    );
    return out;
  }

  /** Removes every row of `view` by unlinking its bucket keys; returns how many entities it held. */
  async deleteView(view: string): Promise<number> {
    requireView(view);
    const keys = Array.from({ length: BUCKETS }, (_, b) => bucketKey(view, b));
    const sizes = await Promise.all(keys.map((k) => this.client.hlen(k)));
    await Promise.all(keys.map((k) => this.client.unlink(k)));
    return sizes.reduce((s, n) => s + n, 0);
  }

  async close(): Promise<void> {
    await this.client.quit();
  }

  private encode(row: OnlineWrite): Buffer {
    const body = this.packr.pack(row.values);
    const out = Buffer.allocUnsafe(8 + body.length);
    out.writeDoubleLE(row.eventTs, 0);
    body.copy(out, 8);
    return out;
  }

  private decode(v: Buffer): OnlineRow {
    return { eventTs: v.readDoubleLE(0), values: this.packr.unpack(v.subarray(8)) as Record<string, unknown> };
  }
}

function requireView(view: string): void {
  if (typeof view !== 'string' || view.length === 0) throw new TypeError('view must be a non-empty string');
}
