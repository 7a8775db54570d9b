import fs from 'node:fs';
import { Cluster, Redis, ReplyError, type ClusterOptions, type RedisOptions } from 'ioredis';
import {
  newestPerEntity,
  OnlineStoreUnavailableError,
  requireRows,
  requireView,
  type OnlineBatch,
  type OnlineRow,
  type OnlineStore,
  type ViewSize,
  type WriteResult,
} from './types';
import { decodeHeader, encodeValue, eventTsOf, Projection, schemaId, schemaIdHex } from './value-codec';

/**
 * Online store in Redis, standalone or Cluster. Layout (docs/online-store-format.md):
 *
 * - a view's entities are spread over `BUCKETS` hashes `plinth:ol:<view>:{<b>}`, where
 *   `b` = FNV-1a(entity key) mod BUCKETS; field = canonical entity key, value = the binary
 *   value of value-codec.ts. Deleting a view unlinks its BUCKETS keys and TTL sweeps scan
 *   them, never the whole keyspace; the hash tag `{<b>}` spreads a view over Cluster slots
 *   while every command stays on one key;
 * - `plinth:ol:<view>:schemas`: hash, schema id (8 hex digits) -> JSON array of feature names.
 *
 * The timestamp guard runs inside Redis (one Lua call per bucket and batch), so concurrent
 * writers (a batch and a stream) cannot interleave between its read and its write.
 */
export const BUCKETS = 256;

export const bucketKey = (view: string, b: number): string => `plinth:ol:${view}:{${b}}`;
const schemasKey = (view: string) => `plinth:ol:${view}:schemas`;

/** FNV-1a over the key's UTF-16 code units: stable across processes and languages that follow it. */
export function bucketOf(entityKey: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < entityKey.length; i++) {
    h ^= entityKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % BUCKETS;
}

// ARGV: field, value, field, value...; a value's event time is the float64 at byte offset 1
// (Lua strings are 1-based: bytes 2..9). Older than the stored value: skipped; equal: replaces.
const GUARDED_WRITE = `
local written = 0
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if (not cur) or struct.unpack('<d', string.sub(ARGV[i + 1], 2, 9)) >= struct.unpack('<d', string.sub(cur, 2, 9)) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    written = written + 1
  end
end
return written`;

// ARGV[1]: cutoff (epoch ms); ARGV[2..]: fields found old by a scan. Re-checked here, so a
// value rewritten since the scan survives.
const GUARDED_EXPIRE = `
local cutoff = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur and struct.unpack('<d', string.sub(cur, 2, 9)) < cutoff then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed`;

type Client = (Redis | Cluster) & {
  guardedWrite(key: string, ...args: (string | Buffer)[]): Promise<number>;
  guardedExpire(key: string, ...args: (string | number)[]): Promise<number>;
};

export interface RedisTlsOptions {
  /** PEM file of the CA that signed the server's certificate. */
  caFile?: string;
  /** Client certificate and key (PEM files) when the server asks for one. */
  certFile?: string;
  keyFile?: string;
  /** Default true; false accepts any certificate (testing only). */
  rejectUnauthorized?: boolean;
  /** Name to check the certificate against, when it differs from the host. */
  servername?: string;
}

export interface RedisOnlineStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS (standalone). */
  url?: string;
  /** Seed nodes of a Redis Cluster. */
  cluster?: { host: string; port: number }[];
  username?: string;
  /** AUTH password; prefer this (or PLINTH_REDIS_PASSWORD) to a password in the URL, which may be logged. */
  password?: string;
  tls?: RedisTlsOptions;
  /** A command not answered within this time fails (default 1000 ms). */
  commandTimeoutMs?: number;
  /** How long `connect` waits for the first connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Called with connection events (reconnecting, errors) so the process can log them. */
  onEvent?: (event: 'ready' | 'reconnecting' | 'error', detail: string) => void;
}

export class RedisOnlineStore implements OnlineStore {
  readonly description: string;
  private readonly schemas = new Map<string, readonly string[]>();
  private readonly knownSchemas = new Set<string>();

  private constructor(
    private readonly client: Client,
    description: string,
  ) {
    this.description = description;
  }

  /**
   * Connects and waits until Redis (or the Cluster) answers. Afterwards the client
   * reconnects by itself whenever the connection drops; meanwhile every call fails at once
   * with `OnlineStoreUnavailableError` instead of queueing (callers serve defaults or a 503).
   *
   * @example
   * const store = await RedisOnlineStore.connect({ url: 'redis://127.0.0.1:6379', password: process.env.PLINTH_REDIS_PASSWORD });
   */
  static async connect(opts: RedisOnlineStoreOptions): Promise<RedisOnlineStore> {
    const where = opts.cluster
      ? `Redis Cluster at ${opts.cluster.map((n) => `${n.host}:${n.port}`).join(',')}`
      : `Redis at ${redactUrl(opts.url ?? 'redis://127.0.0.1:6379')}`;
    const base: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 1000,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
      ...(opts.tls ? { tls: tlsOptions(opts.tls) } : {}),
    };
    let client: Client;
    if (opts.cluster) {
      const clusterOpts: ClusterOptions = {
        redisOptions: base,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        lazyConnect: true,
        clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      };
      client = new Cluster(opts.cluster, clusterOpts) as Client;
    } else {
      client = new Redis(opts.url ?? 'redis://127.0.0.1:6379', base) as Client;
    }
    client.defineCommand('guardedWrite', { numberOfKeys: 1, lua: GUARDED_WRITE });
    client.defineCommand('guardedExpire', { numberOfKeys: 1, lua: GUARDED_EXPIRE });
    // Without a listener ioredis reports every reconnect failure as an unhandled error event.
    client.on('error', (e: Error) => opts.onEvent?.('error', e.message));
    client.on('reconnecting', () => opts.onEvent?.('reconnecting', where));
    client.on('ready', () => opts.onEvent?.('ready', where));
    const deadline = opts.connectTimeoutMs ?? 10_000;
    try {
      await withTimeout(client.connect(), deadline, `no answer within ${deadline} ms`);
      await withTimeout(client.ping(), deadline, `no answer to PING within ${deadline} ms`);
    } catch (e) {
      client.disconnect();
      throw new OnlineStoreUnavailableError(`cannot connect to the online store (${where}): ${(e as Error).message}`, {
        cause: e,
      });
    }
    return new RedisOnlineStore(client, where);
  }

  async writeBatch(view: string, batch: OnlineBatch): Promise<WriteResult> {
    requireView(view);
    requireRows(batch);
    const schema = schemaId(batch.features);
    await this.call(() => this.ensureSchema(view, schema, batch.features));
    const byBucket = new Map<number, (string | Buffer)[]>();
    for (const row of newestPerEntity(batch.rows)) {
      const b = bucketOf(row.entityKey);
      let args = byBucket.get(b);
      if (!args) byBucket.set(b, (args = []));
      args.push(row.entityKey, encodeValue(row.eventTs, schema, row.values));
    }
    const counts = await this.call(() =>
      Promise.all([...byBucket].map(([b, args]) => this.client.guardedWrite(bucketKey(view, b), ...args))),
    );
    const written = counts.reduce((s, n) => s + Number(n), 0);
    return { written, skippedOlder: batch.rows.length - written };
  }

  async read(view: string, entityKeys: readonly string[], features: readonly string[]): Promise<(OnlineRow | null)[]> {
    requireView(view);
    if (entityKeys.length === 0) return [];
    const byBucket = new Map<number, number[]>();
    entityKeys.forEach((k, i) => {
      const b = bucketOf(k);
      let idx = byBucket.get(b);
      if (!idx) byBucket.set(b, (idx = []));
      idx.push(i);
    });
    const raw: (Buffer | null)[] = new Array(entityKeys.length).fill(null);
    // Issued in one tick: auto-pipelining sends them as one write per node (one round trip).
    await this.call(() =>
      Promise.all(
        [...byBucket].map(async ([b, idx]) => {
          const values = await this.client.hmgetBuffer(bucketKey(view, b), ...idx.map((i) => entityKeys[i]));
          values.forEach((v, j) => (raw[idx[j]] = v));
        }),
      ),
    );
    const headers = raw.map((v) => (v ? decodeHeader(v, `${this.description}, view ${view}`) : null));
    // Feature names of each schema met (cached after the first read), then decode in one pass.
    const names = new Map<number, readonly string[]>();
    for (const h of headers) if (h && !names.has(h.schema)) names.set(h.schema, await this.schemaNames(view, h.schema));
    const projection = new Projection(features);
    return raw.map((v, i) => {
      const h = headers[i];
      return v && h ? { eventTs: h.eventTs, values: projection.project(v, h.schema, names.get(h.schema)!) } : null;
    });
  }

  async deleteView(view: string): Promise<number> {
    requireView(view);
    const keys = Array.from({ length: BUCKETS }, (_, b) => bucketKey(view, b));
    const sizes = await this.call(() => Promise.all(keys.map((k) => this.client.hlen(k))));
    await this.call(() => Promise.all([...keys, schemasKey(view)].map((k) => this.client.unlink(k))));
    for (const k of [...this.schemas.keys(), ...this.knownSchemas])
      if (k.startsWith(`${view}:`)) {
        this.schemas.delete(k);
        this.knownSchemas.delete(k);
      }
    return sizes.reduce((s, n) => s + n, 0);
  }

  async purgeOlderThan(view: string, beforeTs: number): Promise<number> {
    requireView(view);
    let removed = 0;
    // HSCAN each bucket of the view (never the keyspace); old fields are removed by a script
    // that checks them again, so a concurrent newer write is never lost.
    for (let b = 0; b < BUCKETS; b++) {
      const key = bucketKey(view, b);
      let cursor = '0';
      do {
        const [next, flat] = await this.call(() => this.client.hscanBuffer(key, cursor, 'COUNT', 1000));
        cursor = next.toString();
        const old: string[] = [];
        for (let i = 0; i < flat.length; i += 2) if (eventTsOf(flat[i + 1]) < beforeTs) old.push(flat[i].toString());
        if (old.length) removed += Number(await this.call(() => this.client.guardedExpire(key, beforeTs, ...old)));
      } while (cursor !== '0');
    }
    return removed;
  }

  async size(view: string): Promise<ViewSize> {
    requireView(view);
    const keys = Array.from({ length: BUCKETS }, (_, b) => bucketKey(view, b));
    const [counts, bytes] = await this.call(() =>
      Promise.all([
        Promise.all(keys.map((k) => this.client.hlen(k))),
        Promise.all(keys.map((k) => this.client.call('MEMORY', 'USAGE', k, 'SAMPLES', '0') as Promise<number | null>)),
      ]),
    );
    return { entities: counts.reduce((s, n) => s + n, 0), bytes: bytes.reduce<number>((s, n) => s + (n ?? 0), 0) };
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // not connected: nothing to say goodbye to
    }
  }

  /** Runs Redis calls, turning connection trouble into OnlineStoreUnavailableError. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ReplyError || e instanceof TypeError) throw e;
      throw new OnlineStoreUnavailableError(`online store unavailable (${this.description}): ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  private async ensureSchema(view: string, schema: number, features: readonly string[]): Promise<void> {
    const cacheKey = `${view}:${schema}`;
    if (this.knownSchemas.has(cacheKey)) return;
    const json = JSON.stringify(features);
    await this.client.hsetnx(schemasKey(view), schemaIdHex(schema), json);
    const stored = await this.client.hget(schemasKey(view), schemaIdHex(schema));
    if (stored !== json)
      throw new Error(`view ${view}: schema id ${schemaIdHex(schema)} already names other features (hash collision)`);
    this.knownSchemas.add(cacheKey);
    this.schemas.set(cacheKey, features);
  }

  private async schemaNames(view: string, schema: number): Promise<readonly string[]> {
    const cacheKey = `${view}:${schema}`;
    let names = this.schemas.get(cacheKey);
    if (!names) {
      const json = await this.call(() => this.client.hget(schemasKey(view), schemaIdHex(schema)));
      if (!json)
        throw new Error(
          `${this.description}: view ${view} has values of schema ${schemaIdHex(schema)} but no such schema`,
        );
      names = JSON.parse(json) as string[];
      this.schemas.set(cacheKey, names);
    }
    return names;
  }
}

function tlsOptions(t: RedisTlsOptions): NonNullable<RedisOptions['tls']> {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Error(`Redis TLS ${what} file ${file}: ${(e as Error).message}`);
    }
  };
  return {
    ...(t.caFile ? { ca: read(t.caFile, 'CA') } : {}),
    ...(t.certFile ? { cert: read(t.certFile, 'certificate') } : {}),
    ...(t.keyFile ? { key: read(t.keyFile, 'key') } : {}),
    ...(t.servername ? { servername: t.servername } : {}),
    rejectUnauthorized: t.rejectUnauthorized ?? true,
  };
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
