import {
  Kafka,
  logLevel,
  Partitioners,
  type Consumer,
  type Producer,
  type EachBatchPayload,
  type LogEntry,
} from 'kafkajs';
import type { Logger } from 'pino';
import type { StreamStatus } from '@plinth/schema';
import type { StreamConsumer, StreamConsumerOptions } from './redis-stream-consumer';
import { decodeKafkaValue, writeStreamBatch } from './stream-messages';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** kafkajs's log lines through the process's logger (it would print to the console). */
const logCreator = (log: Logger) => () => (entry: LogEntry) => {
  const { message, ...rest } = entry.log;
  const level = entry.level <= logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'debug';
  log[level]({ kafka: entry.namespace, ...rest }, message);
};

/**
 * Reads a Kafka topic in a consumer group (kafkajs) and writes its rows to the online store.
 * Offsets are committed only after a batch's rows are written and its bad messages are on
 * the dead-letter topic (with `plinth-reason` and `plinth-source` headers), so a failure
 * redelivers the batch: at least once, harmless under the timestamp guard.
 */
export class KafkaStreamConsumer implements StreamConsumer {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private stopped = false;
  private readonly started: Promise<void>;
  private readonly kafka: Kafka;

  constructor(
    brokers: string[],
    private readonly o: StreamConsumerOptions,
  ) {
    this.kafka = new Kafka({
      clientId: 'plinth',
      brokers,
      logLevel: logLevel.WARN,
      logCreator: logCreator(o.log),
      retry: { retries: 5, initialRetryTime: 300 },
    });
    this.consumer = this.kafka.consumer({ groupId: o.status.group });
    this.producer = this.kafka.producer({
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      o.status.state = 'retrying';
      o.status.lastError = payload.error.message;
      // kafkajs restarts the consumer itself after a retriable error; otherwise start over here.
      if (!payload.restart && !this.stopped) void this.restart();
    });
    this.started = this.start();
  }

  async status(): Promise<StreamStatus> {
    return { ...this.o.status, lag: await this.lag() };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.started;
    await this.consumer.disconnect();
    await this.producer.disconnect();
    this.o.status.state = 'stopped';
  }

  private async start(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      try {
        await this.producer.connect();
        await this.consumer.connect();
        await this.consumer.subscribe({ topic: this.o.status.topic, fromBeginning: this.o.startFrom === 'earliest' });
        await this.consumer.run({ eachBatchAutoResolve: false, eachBatch: (b) => this.handle(b) });
        this.o.status.state = 'running';
        this.o.status.lastError = null;
        return;
      } catch (e) {
        this.o.status.state = 'retrying';
        this.o.status.lastError = (e as Error).message;
        this.o.log.warn({ err: this.o.status.lastError, retryInMs: backoff }, 'Kafka stream consumer failed; retrying');
        await this.consumer.disconnect().catch(() => undefined);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  private async restart(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
    await sleep(1000);
    if (!this.stopped) await this.start();
  }

  private async handle({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }: EachBatchPayload) {
    const { topic, deadLetter } = this.o.status;
    const id = (offset: string) => `${batch.partition}/${offset}`;
    const messages = batch.messages.map((m) => decodeKafkaValue(id(m.offset), m.value));
    const dead = await writeStreamBatch(this.o.online, this.o.target, messages, this.o.status).catch((e: unknown) => {
      // Shown at once; kafkajs retries the batch (offsets stay put) and restarts the consumer if it must.
      this.o.status.state = 'retrying';
      this.o.status.lastError = (e as Error).message;
      throw e;
    });
    if (dead.length) {
      const byId = new Map(batch.messages.map((m) => [id(m.offset), m]));
      await this.producer.send({
        topic: deadLetter,
        messages: dead.map((d) => {
          const m = byId.get(d.id)!;
          return {
            key: m.key,
            value: m.value,
            headers: { ...m.headers, 'plinth-reason': d.reason, 'plinth-source': `${topic}/${d.id}` },
          };
        }),
      });
      this.o.log.warn({ deadLettered: dead.length, first: dead[0] }, `stream messages moved to ${deadLetter}`);
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) resolveOffset(last.offset);
    await commitOffsetsIfNecessary();
    await heartbeat();
    this.o.status.state = 'running';
    this.o.status.lastError = null;
  }

  /** Messages not yet committed by the group, over all partitions (null when the broker cannot say). */
  private async lag(): Promise<number | null> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const { topic, group } = this.o.status;
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId: group, topics: [topic] }),
      ]);
      const at = new Map(committed.partitions.map((p) => [p.partition, Number(p.offset)]));
      return ends.reduce((sum, p) => {
        const done = at.get(p.partition) ?? -1;
        return sum + Number(p.high) - (done >= 0 ? done : Number(p.low));
      }, 0);
    } catch {
      return null;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
