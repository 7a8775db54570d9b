/**
 * The job runner's retry policy on a real PGlite metadata store: transient failures are
 * retried after a growing backoff up to the job's attempt limit, with each attempt in the
 * job's log; definition and data problems (4xx) fail at once.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problem, ProblemError } from '@plinth/schema';
import { openMetadataStore } from '../stores/metadata';
import type { JobRecord, MetadataStore } from '../stores/types';
import { tempDir, testLogger } from '../test-support/platform';
import { localQueue } from './queue';
import { JobRunner, isRetryable, retryDelayMs } from './runner';

let meta: MetadataStore;
let runner: JobRunner;
const calls: { id: string; at: number }[] = [];

async function finished(id: string): Promise<JobRecord> {
  for (let i = 0; i < 400; i++) {
    const j = (await meta.getJob(id))!;
    if (j.status === 'succeeded' || j.status === 'failed') return j;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

beforeAll(async () => {
  meta = await openMetadataStore({ kind: 'pglite', dataDir: path.join(tempDir('runner'), 'meta') });
  runner = new JobRunner(
    localQueue(meta),
    {
      // Fails (transiently) until its nth attempt.
      flaky: async (params, ctx) => {
        calls.push({ id: ctx.jobId, at: Date.now() });
        const { succeedOn } = params as { succeedOn: number };
        if (calls.filter((c) => c.id === ctx.jobId).length < succeedOn) throw new Error('connection reset');
        return { ok: true };
      },
      invalid: async () => {
        throw new ProblemError(problem(422, 'Invalid', 'column x is missing'));
      },
    },
    testLogger(),
    2,
    20,
    { baseDelayMs: 150, maxDelayMs: 1_000 },
  );
  runner.start();
});
afterAll(async () => {
  await runner?.stop();
  await meta?.close();
});

describe('job retries', () => {
  it('retries a transient failure after a doubling backoff, then succeeds', async () => {
    const job = await meta.enqueueJob('flaky', { succeedOn: 3 }, { maxAttempts: 3 });
    runner.kick();
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3, result: { ok: true } });
    const at = calls.filter((c) => c.id === job.id).map((c) => c.at);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(150);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(300);
    const log = await meta.getJobLog(job.id);
    expect(log.filter((l) => /^attempt \d of 3 failed: connection reset; retrying after /.test(l))).toHaveLength(2);
  });

  it('fails for good after the last attempt, keeping the error', async () => {
    const job = await meta.enqueueJob('flaky', { succeedOn: 99 }, { maxAttempts: 2 });
    runner.kick();
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'failed', attempts: 2, error: 'connection reset' });
    expect((await meta.getJobLog(job.id)).at(-1)).toBe('failed (attempt 2 of 2): connection reset');
  });

  it('does not retry a definition or data problem', async () => {
    const job = await meta.enqueueJob('invalid', {}, { maxAttempts: 5 });
    runner.kick();
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'failed', attempts: 1 });
    expect(done.result).toMatchObject({ problem: { status: 422 } });
  });

  it('backoff doubles and is capped; 4xx problems are not retryable, 5xx and plain errors are', () => {
    const policy = { baseDelayMs: 1_000, maxDelayMs: 5_000 };
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, policy))).toEqual([1_000, 2_000, 4_000, 5_000]);
    expect(isRetryable(new Error('socket hang up'))).toBe(true);
    expect(isRetryable(new ProblemError(problem(503, 'Unavailable', 'store down')))).toBe(true);
    expect(isRetryable(new ProblemError(problem(409, 'Conflict', 'x')))).toBe(false);
  });
});
