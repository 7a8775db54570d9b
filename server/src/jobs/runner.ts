import crypto from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import { ProblemError, formatProblem } from '@plinth/schema';
import type { JobRecord } from '../stores/types';
import type { JobQueue } from './queue';
import type { JobContext } from '../featurestore/materialize';

export type JobHandler = (params: unknown, ctx: JobContext) => Promise<unknown>;

// A runner renews its jobs' leases every third of this, so only a dead or stalled runner loses
// one; then the job is leased again after at most this long.
const LEASE_SECONDS = 120;

export interface RetryPolicy {
  /** Wait before the first retry; doubles with each further attempt. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseDelayMs: 30_000, maxDelayMs: 3_600_000 };

/** Delay before attempt `attempt + 1`, after `attempt` failures: base * 2^(attempt-1), capped. */
export function retryDelayMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Whether another attempt could succeed. A 4xx problem (bad definition, strict quality rules
 * failed, missing upstream data) fails the same way again: retrying would only delay the report.
 */
export function isRetryable(e: unknown): boolean {
  return !(e instanceof ProblemError && e.problem.status < 500);
}

/**
 * Runs queued jobs from the metadata store with bounded concurrency. Jobs are leased: a
 * crashed runner's job is picked up again when its lease expires.
 */
export class JobRunner {
  readonly owner = `${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  private running = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly active = new Set<Promise<void>>();

  constructor(
    private readonly queue: JobQueue,
    private readonly handlers: Record<string, JobHandler>,
    private readonly log: Logger,
    private readonly concurrency = 2,
    private readonly idleMs = 500,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  private started = false;

  start(): void {
    this.started = true;
    this.schedule(0);
  }

  /** Looks for work now (after an enqueue) instead of at the next poll. */
  kick(): void {
    if (this.started && !this.stopped) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.active]);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    try {
      while (this.running < this.concurrency) {
        const job = await this.queue.lease(this.owner, Object.keys(this.handlers), LEASE_SECONDS);
        if (!job) break;
        this.running++;
        const p = this.execute(job).finally(() => {
          this.running--;
          this.active.delete(p);
          this.kick();
        });
        this.active.add(p);
      }
    } catch (e) {
      this.log.error({ err: e }, 'job poll failed');
    }
    if (!this.stopped) this.schedule(this.idleMs);
  }

  private async execute(job: JobRecord): Promise<void> {
    const log = this.log.child({ jobId: job.id, kind: job.kind });
    const ctx: JobContext = {
      jobId: job.id,
      progress: async (fraction) => {
        await this.queue.update(job.id, { progress: Math.max(0, Math.min(1, fraction)) });
      },
      log: async (line) => {
        log.info(line);
        await this.queue.log(job.id, line);
      },
    };
    log.info('job started');
    const renewal = setInterval(
      () => {
        this.queue.renew(job.id, this.owner, LEASE_SECONDS).then(
          (held) => {
            // Someone else owns it now (this process stalled past the lease); its result will be theirs.
            if (!held) log.warn('job lease lost');
          },
          (e: unknown) => log.warn({ err: e }, 'job lease renewal failed'),
        );
      },
      (LEASE_SECONDS * 1000) / 3,
    );
    try {
      const result = await (this.handlers[job.kind] as JobHandler)(job.params, ctx);
      await this.queue.update(job.id, { status: 'succeeded', progress: 1, result, error: null });
      log.info('job succeeded');
    } catch (e) {
      const message = e instanceof ProblemError ? formatProblem(e.problem) : (e as Error).message;
      const problemResult = e instanceof ProblemError ? { problem: e.problem } : null;
      if (isRetryable(e) && job.attempts < job.maxAttempts) {
        const delay = retryDelayMs(job.attempts, this.retry);
        const notBefore = new Date(Date.now() + delay).toISOString();
        log.warn({ err: e, attempt: job.attempts, notBefore }, 'job attempt failed; will retry');
        await this.queue
          .log(job.id, `attempt ${job.attempts} of ${job.maxAttempts} failed: ${message}; retrying after ${notBefore}`)
          .catch(() => undefined);
        await this.queue.update(job.id, { status: 'queued', error: message, result: problemResult, notBefore });
        return;
      }
      log.warn({ err: e }, 'job failed');
      await this.queue
        .log(job.id, `failed (attempt ${job.attempts} of ${job.maxAttempts}): ${message}`)
        .catch(() => undefined);
      await this.queue.update(job.id, { status: 'failed', error: message, result: problemResult });
    } finally {
      clearInterval(renewal);
    }
  }
}
