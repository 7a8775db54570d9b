import type { Logger } from 'pino';
import type { OnlineStore } from '@plinth/kernel-lib';
import type { FeatureView, StreamStatus } from '@plinth/schema';
import type { MetadataStore } from '../stores/types';
import { entitiesOf } from './definitions';
import { pushTarget } from './push-rows';
import { KafkaStreamConsumer } from './kafka-stream-consumer';
import { RedisStreamConsumer, type StreamConsumer } from './redis-stream-consumer';

type Stream = NonNullable<FeatureView['stream']>;

/** Where a view's stream consumer reads and writes, with the defaults filled in. */
export function streamSettings(
  view: FeatureView,
): Required<Pick<Stream, 'topic' | 'group' | 'deadLetter' | 'startFrom'>> & Stream {
  const s = view.stream!;
  return {
    ...s,
    group: s.group ?? `plinth_${view.name}`,
    deadLetter: s.deadLetter ?? `${s.topic}.dead-letter`,
    startFrom: s.startFrom ?? 'earliest',
  };
}

/**
 * One stream consumer per feature view that declares a `stream` (and is online), kept in step
 * with the registry: every `intervalMs`, and at once after an apply, consumers of new or
 * changed views start and those of removed ones stop. Several control-plane replicas share
 * the work through the consumer group.
 */
export class StreamConsumers {
  private readonly running = new Map<string, { config: string; consumer: StreamConsumer }>();
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly meta: MetadataStore,
    private readonly online: OnlineStore,
    private readonly log: Logger,
    private readonly intervalMs = 5000,
  ) {}

  start(): void {
    const loop = () => {
      void this.reconcile().finally(() => {
        if (this.timer) this.timer = setTimeout(loop, this.intervalMs);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.reconciling;
    await Promise.all([...this.running.values()].map((r) => r.consumer.stop()));
    this.running.clear();
  }

  /** The consumer of a view's stream in this process, or null when the view declares none. */
  async status(view: string): Promise<StreamStatus | null> {
    return (await this.running.get(view)?.consumer.status()) ?? null;
  }

  /** Starts and stops consumers to match the registry's latest views; one pass at a time. */
  reconcile(): Promise<void> {
    this.reconciling = this.reconciling.then(() =>
      this.pass().catch((e: unknown) =>
        this.log.warn({ err: (e as Error).message }, 'stream consumers: reconcile failed'),
      ),
    );
    return this.reconciling;
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    const wanted = new Map<string, { view: FeatureView; config: string }>();
    for (const { spec, version } of await this.meta.listLatest<FeatureView>('feature-view'))
      if (spec.stream && spec.online !== false)
        wanted.set(spec.name, { view: spec, config: JSON.stringify({ version, stream: spec.stream }) });
    for (const [name, r] of this.running)
      if (wanted.get(name)?.config !== r.config) {
        await r.consumer.stop();
        this.running.delete(name);
        this.log.info({ view: name }, 'stream consumer stopped');
      }
    for (const [name, { view, config }] of wanted) {
      if (this.running.has(name)) continue;
      const s = streamSettings(view);
      const entities = await entitiesOf({ meta: this.meta }, view);
      const status: StreamStatus = {
        view: name,
        kind: s.kind,
        topic: s.topic,
        group: s.group,
        deadLetter: s.deadLetter,
        state: 'starting',
        received: 0,
        written: 0,
        skippedOlder: 0,
        deadLettered: 0,
        lastMessageAt: null,
        lastError: null,
        lag: null,
      };
      const options = {
        online: this.online,
        target: pushTarget(view, entities),
        status,
        log: this.log.child({ view: name, stream: s.topic }),
        startFrom: s.startFrom,
      };
      const consumer =
        s.kind === 'redis' ? new RedisStreamConsumer(s.url!, options) : new KafkaStreamConsumer(s.brokers!, options);
      this.running.set(name, { config, consumer });
      this.log.info({ view: name, kind: s.kind, topic: s.topic, group: s.group }, 'stream consumer started');
    }
  }
}
