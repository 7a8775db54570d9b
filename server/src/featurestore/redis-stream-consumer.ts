import os from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { OnlineStore } from '@plinth/kernel-lib';
import type { StreamStatus } from '@plinth/schema';
import type { PushTarget } from './push-rows';
import { decodeRedisEntry, writeStreamBatch } from './stream-messages';

export interface StreamConsumer {
  /** The counters, the state and the group's lag, asked of the broker now. */
  status(): Promise<StreamStatus>;
  stop(): Promise<void>;
}

export interface StreamConsumerOptions {
  online: OnlineStore;
  target: PushTarget;
  status: StreamStatus;
  log: Logger;
  startFrom: 'earliest' | 'latest';
}

/** Entries per read; one online write per read. */
const COUNT = 1000;
const BLOCK_MS = 1000;
/** Entries another consumer read but did not acknowledge for this long are taken over (it died). */
const CLAIM_IDLE_MS = 60_000;
/** Dead letters kept, roughly (XADD MAXLEN ~). */
const DEAD_LETTER_MAXLEN = 100_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Entries = [id: string, fields: string[] | null][];

/**
 * Reads a Redis stream in a consumer group and writes its rows to the online store. An entry
 * is acknowledged only after its row is written (or dead-lettered), so a crash or a failed
 * write redelivers it: at least once, harmless under the timestamp guard. On start, and after
 * any failure, it first re-reads its own unacknowledged entries, and takes over those of a
 * consumer that stopped acknowledging (XAUTOCLAIM).
 */
export class RedisStreamConsumer implements StreamConsumer {
  private readonly redis: Redis;
  private readonly consumer = `plinth-${os.hostname()}-${process.pid}`;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    url: string,
    private readonly o: StreamConsumerOptions,
  ) {
    this.redis = new Redis(url, {
      // Fail a command at once while the server is away: the loop backs off and says why.
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 200, 5000),
      connectionName: this.consumer,
    });
    this.redis.on('error', () => undefined); // reported through the loop's failures
    this.loop = this.run();
  }

  async status(): Promise<StreamStatus> {
    return { ...this.o.status, lag: await this.lag() };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.redis.disconnect();
    await this.loop;
    this.o.status.state = 'stopped';
  }

  private async run(): Promise<void> {
    const { status, log } = this.o;
    let backoff = 500;
    let ownPendingFirst = true;
    while (!this.stopped) {
      try {
        if (ownPendingFirst) {
          await this.ensureGroup();
          await this.claimAbandoned();
        }
        const entries = await this.read(ownPendingFirst ? '0' : '>');
        status.state = 'running';
        status.lastError = null;
        backoff = 500;
        if (entries.length) await this.handle(entries);
        // Own pending entries are read until none is left, then new ones.
        else if (ownPendingFirst) ownPendingFirst = false;
      } catch (e) {
        if (this.stopped) break;
        status.state = 'retrying';
        status.lastError = (e as Error).message;
        log.warn({ err: status.lastError, retryInMs: backoff }, 'stream consumer failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 30_000);
        ownPendingFirst = true;
      }
    }
  }

  private async ensureGroup(): Promise<void> {
    const { topic, group } = this.o.status;
    try {
      await this.redis.xgroup('CREATE', topic, group, this.o.startFrom === 'earliest' ? '0' : '$', 'MKSTREAM');
    } catch (e) {
      if (!/BUSYGROUP/.test((e as Error).message)) throw e;
    }
  }

  private async claimAbandoned(): Promise<void> {
    const { topic, group } = this.o.status;
    let cursor = '0-0';
    do {
      const r = (await this.redis.call(
        'XAUTOCLAIM',
        topic,
        group,
        this.consumer,
        CLAIM_IDLE_MS,
        cursor,
        'COUNT',
        COUNT,
        'JUSTID',
      )) as [string, string[]];
      cursor = r[0];
    } while (cursor !== '0-0' && !this.stopped);
  }

  private async read(from: '0' | '>'): Promise<Entries> {
    const { topic, group } = this.o.status;
    const r =
      from === '>'
        ? await this.redis.xreadgroup(
            'GROUP',
            group,
            this.consumer,
            'COUNT',
            COUNT,
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            topic,
            from,
          )
        : await this.redis.xreadgroup('GROUP', group, this.consumer, 'COUNT', COUNT, 'STREAMS', topic, from);
    return ((r as [string, Entries][] | null)?.[0]?.[1] ?? []) as Entries;
  }

  private async handle(entries: Entries): Promise<void> {
    const { topic, group, deadLetter } = this.o.status;
    const messages = entries.map(([id, fields]) => decodeRedisEntry(id, fields, this.o.target));
    const dead = await writeStreamBatch(this.o.online, this.o.target, messages, this.o.status);
    if (dead.length) {
      const fieldsOf = new Map(entries);
      const m = this.redis.multi();
      for (const d of dead) {
        const fields = fieldsOf.get(d.id);
        const original = fields
          ? Object.fromEntries(fields.flatMap((f, i) => (i % 2 ? [] : [[f, fields[i + 1]]])))
          : null;
        m.xadd(
          deadLetter,
          'MAXLEN',
          '~',
          DEAD_LETTER_MAXLEN,
          '*',
          'source',
          topic,
          'id',
          d.id,
          'reason',
          d.reason,
          'fields',
          JSON.stringify(original),
        );
      }
      await m.exec();
      this.o.log.warn({ deadLettered: dead.length, first: dead[0] }, `stream messages moved to ${deadLetter}`);
    }
    await this.redis.xack(topic, group, ...entries.map(([id]) => id));
  }

  /** The group's lag (Redis 7): entries in the stream it has not read yet; null when unknown. */
  private async lag(): Promise<number | null> {
    // Its own connection: the consumer's may be blocked in XREADGROUP for up to a second.
    const admin = this.redis.duplicate({ lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    try {
      const groups = (await admin.call('XINFO', 'GROUPS', this.o.status.topic)) as unknown[][];
      for (const g of groups) {
        const info = new Map<string, unknown>();
        for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
        if (info.get('name') === this.o.status.group)
          return typeof info.get('lag') === 'number' ? (info.get('lag') as number) : null;
      }
      return null;
    } catch {
      return null;
    } finally {
      admin.disconnect();
    }
  }
}
