import type { Logger } from 'pino';
import type { FeatureView, LabelView, MaterializeRequest } from '@plinth/schema';
import type { EnqueueOptions, JobRecord, MetadataStore } from '../stores/types';
import { parseSchedule } from '../util/schedule';

/** Attempts a scheduled run gets before it is marked failed (retries back off, see runner). */
export const SCHEDULED_MAX_ATTEMPTS = 3;

export type Enqueue = (
  kind: string,
  params: MaterializeRequest,
  opts: EnqueueOptions,
) => Promise<JobRecord & { created?: boolean }>;

/**
 * Turns views' cron schedules into incremental materialization jobs. Each tick enqueues, per
 * scheduled view, the latest fire time that has passed, under a de-duplication key, so
 * control-plane replicas (or a restart) never make two jobs for one fire time. Fire times
 * missed while nothing ran collapse into one run: incremental runs start from the last
 * committed event time, so one run catches up. A view whose previous run is still queued or
 * running is skipped rather than piled up. Schedules count from when the version was applied.
 */
export class MaterializationScheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> | undefined;

  constructor(
    private readonly meta: MetadataStore,
    private readonly enqueue: Enqueue,
    private readonly log: Logger,
    private readonly tickMs = 15_000,
  ) {}

  start(): void {
    const loop = () => {
      this.ticking = this.tick()
        .catch((e: unknown) => this.log.error({ err: e }, 'scheduler tick failed'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, this.tickMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Enqueues what is due at `now`; returns the jobs it created. */
  async tick(now = new Date()): Promise<JobRecord[]> {
    const views = [
      ...(await this.meta.listLatest<FeatureView>('feature-view')),
      ...(await this.meta.listLatest<LabelView>('label-view')),
    ].filter((r) => r.spec.schedule);
    const created: JobRecord[] = [];
    for (const v of views) {
      let fire: Date | undefined;
      try {
        [fire] = parseSchedule(v.spec.schedule as string).previousRuns(1, now);
      } catch (e) {
        // Apply validates schedules; one stored by an older release must not stop the others.
        this.log.warn({ view: v.name, err: e }, 'skipping a view whose schedule does not parse');
        continue;
      }
      if (!fire || fire.getTime() < Date.parse(v.createdAt)) continue;
      const active = [
        ...(await this.meta.listJobs({ kind: 'materialize', subject: v.name, status: 'queued', limit: 1 })),
        ...(await this.meta.listJobs({ kind: 'materialize', subject: v.name, status: 'running', limit: 1 })),
      ];
      if (active.length) continue;
      const scheduledFor = fire.toISOString();
      const job = await this.enqueue(
        'materialize',
        { view: v.name, incremental: true, scheduledFor },
        {
          subject: v.name,
          maxAttempts: SCHEDULED_MAX_ATTEMPTS,
          dedupeKey: `schedule:${v.name}@${v.version}:${scheduledFor}`,
        },
      );
      if (job.created !== false) {
        this.log.info({ view: v.name, scheduledFor, jobId: job.id }, 'scheduled materialization enqueued');
        created.push(job);
      }
    }
    return created;
  }
}
