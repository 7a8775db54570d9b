/**
 * The Kafka stream consumer of a feature view against a real Kafka broker (KRaft, single
 * node, started by the test from the jars scripts/kafka/install.sh fetched): rows reach the
 * online store, bad messages go to the dead-letter topic with their reason in headers, an
 * older row never replaces a newer one, and the group's lag drains to zero.
 */
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OnlineFeaturesResponse, StreamStatus } from '@plinth/schema';
import { kafkaAvailable, startKafka, type RunningKafka } from '../test-support/kafka';
import { http, jobOutcome, startTestPlatform, type TestPlatform } from '../test-support/platform';
import { startRedis } from '../test-support/redis';
import { applyStock, HOUR, iso, stockLake } from '../test-support/stock-stream';

const now = Math.floor(Date.now() / 1000) * 1000;
const TOPIC = 'stock-updates';

// scripts/test-all.sh always installs the broker; a developer without Java skips these locally.
describe.skipIf(!kafkaAvailable())('a Kafka stream consumer', () => {
  let kafka: RunningKafka;
  let producer: Producer;
  let client: Kafka;
  let t: TestPlatform;

  const send = (...values: (string | object | null)[]) =>
    producer.send({
      topic: TOPIC,
      messages: values.map((v) => ({
        key: v && typeof v === 'object' && 'product_id' in v ? String(v.product_id) : 'x',
        value: v === null ? null : typeof v === 'string' ? v : JSON.stringify(v),
        headers: { producer: 'test' },
      })),
    });
  const status = async () => {
    const r = await http(t.url, 'GET', '/api/v1/feature-views/stock/stream');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as StreamStatus;
  };
  const received = (n: number) =>
    vi.waitFor(
      async () => {
        const s = await status();
        expect(s.received, JSON.stringify(s)).toBeGreaterThanOrEqual(n);
        return s;
      },
      { timeout: 60_000, interval: 100 },
    );
  const units = async (ids: number[]) => {
    const r = await http(t.url, 'POST', '/api/v1/online-features', {
      features: ['stock:units_left'],
      entities: { product_id: ids },
    });
    return (r.body as OnlineFeaturesResponse).rows.map((row) => row.values['stock:units_left']);
  };

  beforeAll(async () => {
    kafka = await startKafka();
    client = new Kafka({ clientId: 'plinth-test', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    // Two partitions: the group's lag is summed over both.
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();

    t = await startTestPlatform({ lakeDir: await stockLake(now) });
    await applyStock(t, { kind: 'kafka', brokers: kafka.brokers, topic: TOPIC });
  }, 180_000);
  afterAll(async () => {
    await producer?.disconnect();
    await t?.close();
    await kafka?.stop();
  });

  it('writes the rows of JSON messages to the online store', async () => {
    await send({ product_id: 2, ts: iso(now - HOUR), units_left: 3 }, { product_id: 3, ts: now - HOUR, units_left: 5 });
    const s = await received(2);
    expect(s).toMatchObject({ kind: 'kafka', topic: TOPIC, group: 'plinth_stock', state: 'running', written: 2 });
    expect(await units([2, 3])).toEqual([3, 5]);
    await vi.waitFor(async () => expect((await status()).lag).toBe(0), { timeout: 20_000, interval: 200 });
  });

  it('sends messages that do not parse to the dead-letter topic with the reason, and keeps going', async () => {
    const before = (await status()).received;
    await send('{"product_id": 4,', null, { product_id: 4, ts: iso(now), units_left: 'many' });
    await send({ product_id: 4, ts: iso(now), units_left: 4 });
    const s = await received(before + 4);
    expect(s.deadLettered).toBe(3);
    expect(await units([4])).toEqual([4]);

    // Read the dead-letter topic back: original value and headers, plus the reason and the source.
    const reader = client.consumer({ groupId: 'test-dead-letters' });
    const dead: { value: string | null; reason: string; source: string; producer: string }[] = [];
    await reader.connect();
    await reader.subscribe({ topic: `${TOPIC}.dead-letter`, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        dead.push({
          value: message.value?.toString() ?? null,
          reason: String(message.headers?.['plinth-reason']),
          source: String(message.headers?.['plinth-source']),
          producer: String(message.headers?.producer),
        });
      },
    });
    await vi.waitFor(() => expect(dead.length).toBe(3), { timeout: 30_000, interval: 100 });
    await reader.disconnect();
    const byReason = (re: RegExp) => dead.find((d) => re.test(d.reason));
    expect(byReason(/^value: not JSON/)?.value).toBe('{"product_id": 4,');
    expect(byReason(/^the message has no value/)?.value).toBeNull();
    expect(byReason(/units_left: feature 'units_left' \(int64\) must be an integer, got "many"/)).toBeDefined();
    for (const d of dead) {
      expect(d.source).toMatch(new RegExp(`^${TOPIC}/[01]/\\d+$`));
      expect(d.producer).toBe('test');
    }
  });

  it('never lets an older row replace a newer one, also racing a materialization', async () => {
    let s = await status();
    await send({ product_id: 5, ts: iso(now), units_left: 50 }, { product_id: 5, ts: iso(now - HOUR), units_left: 1 });
    s = await received(s.received + 2);
    await send({ product_id: 5, ts: iso(now - 2 * HOUR), units_left: 2 });
    s = await received(s.received + 1);
    expect(await units([5])).toEqual([50]);

    const before = s.received;
    const stream = (async () => {
      for (let i = 0; i < 30; i++) await send({ product_id: 1, ts: iso(now - HOUR + i * 1000), units_left: 100 + i });
    })();
    const job = await t.client.materialize({ view: 'stock' });
    await stream;
    expect((await jobOutcome(t.client, job.id)).status).toBe('succeeded');
    await received(before + 30);
    expect(await units([1])).toEqual([129]);
    expect((await status()).skippedOlder).toBeGreaterThanOrEqual(2);
  });

  it('holds its offsets while the online store (Redis) is down and writes every message once it is back', async () => {
    let online = await startRedis();
    const t2 = await startTestPlatform({ lakeDir: await stockLake(now), onlineStore: online.url });
    try {
      await applyStock(t2, { kind: 'kafka', brokers: kafka.brokers, topic: 'stock-outage', group: 'stock_outage' });
      const status2 = async () =>
        (await http(t2.url, 'GET', '/api/v1/feature-views/stock/stream')).body as StreamStatus;
      const port = online.port;
      await online.stop();
      await producer.send({
        topic: 'stock-outage',
        messages: Array.from({ length: 20 }, (_, i) => ({
          key: String(i),
          value: JSON.stringify({ product_id: i, ts: now, units_left: i }),
        })),
      });
      const down = await vi.waitFor(
        async () => {
          const s = await status2();
          expect(s.state, JSON.stringify(s)).toBe('retrying');
          expect(s.lastError).toMatch(/online store unavailable/);
          return s;
        },
        { timeout: 60_000, interval: 200 },
      );
      expect(down.written).toBe(0);
      online = await startRedis({ port });
      await vi.waitFor(
        async () => {
          const s = await status2();
          expect(s.written, JSON.stringify(s)).toBe(20);
          expect(s.state).toBe('running');
        },
        { timeout: 90_000, interval: 250 },
      );
      const r = await http(t2.url, 'POST', '/api/v1/online-features', {
        features: ['stock:units_left'],
        entities: { product_id: [0, 7, 19] },
      });
      expect((r.body as OnlineFeaturesResponse).rows.map((row) => row.values['stock:units_left'])).toEqual([0, 7, 19]);
      await vi.waitFor(async () => expect((await status2()).lag).toBe(0), { timeout: 20_000, interval: 200 });
    } finally {
      await t2.close();
      await online.stop();
    }
  }, 180_000);
});
