import type { Logger } from 'pino';
import type { FeatureView } from '@plinth/schema';
import type { MetadataStore, OnlineStore } from '../stores/types';

/**
 * Removes online values past their view's TTL, view by view, on an interval. Reads already
 * report such values as 'expired'; this only reclaims their space. Each sweep scans only the
 * swept view's keys (see docs/online-store-format.md) and re-checks each value inside the
 * store, so a value rewritten meanwhile survives. Several replicas sweeping at once is harmless.
 */
export class OnlineExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly meta: MetadataStore,
    private readonly online: OnlineStore,
    private readonly log: Logger,
    private readonly intervalMs = 3_600_000,
  ) {}

  start(): void {
    const loop = () => {
      this.running = this.sweep()
        .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'online TTL sweep failed'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, Math.min(this.intervalMs, 60_000));
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every online view with a TTL; returns the values removed per view. */
  async sweep(now = Date.now()): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    for (const { spec } of await this.meta.listLatest<FeatureView>('feature-view')) {
      const ttl = spec.ttlSeconds ?? 0;
      if (ttl <= 0 || spec.online === false) continue;
      removed[spec.name] = await this.online.purgeOlderThan(spec.name, now - ttl * 1000);
      if (removed[spec.name] > 0)
        this.log.info({ view: spec.name, removed: removed[spec.name] }, 'expired online values removed');
    }
    return removed;
  }
}
