/**
 * Materialization modes against a real lake, DuckDB, PGlite and LMDB: incremental runs from the
 * last committed event time, backfills that replace exactly their range, full refreshes, the
 * cron scheduler that enqueues incremental runs, and the errors that name what drifted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureView, Job, MaterializationResult } from '@plinth/schema';
import { literal } from '../offline/duckdb';
import { encodeEntityKey } from '@plinth/kernel-lib';
import { jobOutcome, startTestPlatform, tempDir, type TestPlatform, onlineRecord } from '../test-support/platform';
import { queryRows, writeParquet } from '../test-support/lake';
import { readOfflineManifest } from './offline-manifest';

let lake: string;
let t: TestPlatform;

/** One Parquet file per arrival batch under lake/events/. */
async function arrive(file: string, rows: [number, string, number][], valueType = 'DOUBLE') {
  const values = rows.map(([u, ts, v]) => `(${u}, TIMESTAMP ${literal(ts)}, ${v})`).join(', ');
  await writeParquet(
    path.join(lake, 'events', `${file}.parquet`),
    `SELECT u::BIGINT AS user_id, ts, v::${valueType} AS v FROM (VALUES ${values}) AS t(u, ts, v)`,
  );
}

const view: FeatureView = {
  name: 'spend',
  entities: ['user'],
  sources: ['events'],
  sql: 'SELECT user_id, ts, v FROM events',
  timestampColumn: 'ts',
  features: [{ name: 'v', type: 'float64' }],
  schedule: '0 0 1 1 *',
};

async function materialize(req: Record<string, unknown>): Promise<Job & { result: MaterializationResult }> {
  const job = await jobOutcome(t.client, (await t.client.materialize({ view: 'spend', ...req })).id);
  return job as Job & { result: MaterializationResult };
}

async function committedRows(): Promise<Record<string, unknown>[]> {
  const m = await readOfflineManifest(t.platform.objects, 'spend', 1);
  const files = m!.files.map((k) => literal(t.platform.objects.localPath(k)!)).join(', ');
  return queryRows(
    `SELECT user_id::INT AS u, strftime(ts, '%Y-%m-%d %H:%M') AS ts, v FROM read_parquet([${files}]) ORDER BY ts, u`,
  );
}

beforeAll(async () => {
  lake = path.join(tempDir('modes'), 'lake');
  await arrive('a', [
    [1, '2026-01-01 10:00:00', 1],
    [2, '2026-01-02 10:00:00', 2],
    [1, '2026-01-03 10:00:00', 3],
  ]);
  t = await startTestPlatform({ lakeDir: lake });
  await t.client.applyEntity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
  await t.client.applyDataSource({ name: 'events', path: 'events', format: 'parquet' });
  await t.client.applyFeatureView(view);
});
afterAll(async () => {
  await t?.close();
});

describe('materialization modes', () => {
  it('an incremental run with nothing committed yet is a full refresh', async () => {
    const job = await materialize({ incremental: true });
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect(job.result).toMatchObject({ mode: 'full', rows: 3, range: { start: null, end: null } });
    expect((await readOfflineManifest(t.platform.objects, 'spend', 1))?.lastEventTime).toBe('2026-01-03T10:00:00.000Z');
  });

  it('an incremental run takes only rows after the last committed event time', async () => {
    // b holds two new rows and one late row (event time before what is committed).
    await arrive('b', [
      [2, '2026-01-04 10:00:00', 4],
      [1, '2026-01-05 10:00:00', 5],
      [2, '2026-01-02 12:00:00', 99],
    ]);
    const job = await materialize({ incremental: true });
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect(job.result).toMatchObject({ mode: 'incremental', rows: 2, onlineWritten: 2 });
    expect(job.result.range.start).toBe('2026-01-03T10:00:00.001Z');
    const m = await readOfflineManifest(t.platform.objects, 'spend', 1);
    expect(m).toMatchObject({ rows: 5, lastEventTime: '2026-01-05T10:00:00.000Z' });
    expect(m?.parts?.map((p) => [p.start, p.end, p.rows])).toEqual([
      [null, '2026-01-03T10:00:00.001Z', 3],
      ['2026-01-03T10:00:00.001Z', '2026-01-05T10:00:00.001Z', 2],
    ]);
    expect((await committedRows()).map((r) => r.v)).toEqual([1, 2, 3, 4, 5]);
    const [u1, u2] = await Promise.all(
      [1, 2].map((u) => onlineRecord(t.platform.online, 'spend', encodeEntityKey([u]), ['v'])),
    );
    expect([u1?.values.v, u2?.values.v]).toEqual([5, 4]);
  });

  it('an incremental run with nothing new leaves the offline store as it was', async () => {
    const before = await readOfflineManifest(t.platform.objects, 'spend', 1);
    const job = await materialize({ incremental: true });
    expect(job.result).toMatchObject({ mode: 'incremental', rows: 0, onlineWritten: 0 });
    expect(await readOfflineManifest(t.platform.objects, 'spend', 1)).toEqual(before);
  });

  it('a backfill replaces exactly its range: the late row comes in, nothing is duplicated', async () => {
    const job = await materialize({ start: '2026-01-02T00:00:00Z', end: '2026-01-04T00:00:00Z' });
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect(job.result).toMatchObject({ mode: 'range', rows: 3 });
    // The first part is cut around [01-02, 01-04); the incremental part is untouched.
    const m = await readOfflineManifest(t.platform.objects, 'spend', 1);
    expect(m?.parts?.map((p) => [p.start, p.end, p.rows])).toEqual([
      [null, '2026-01-03T10:00:00.001Z', 1],
      ['2026-01-03T10:00:00.001Z', '2026-01-05T10:00:00.001Z', 2],
      ['2026-01-02T00:00:00.000Z', '2026-01-04T00:00:00.000Z', 3],
    ]);
    expect(m?.rows).toBe(6);
    expect((await committedRows()).map((r) => `${r.ts}=${r.v}`)).toEqual([
      '2026-01-01 10:00=1',
      '2026-01-02 10:00=2',
      '2026-01-02 12:00=99',
      '2026-01-03 10:00=3',
      '2026-01-04 10:00=4',
      '2026-01-05 10:00=5',
    ]);
    // The same backfill again changes nothing but the file names.
    await materialize({ start: '2026-01-02T00:00:00Z', end: '2026-01-04T00:00:00Z' });
    expect((await committedRows()).length).toBe(6);
    // Online: the backfilled rows are older than what is stored, so they do not replace it.
    const u2 = await onlineRecord(t.platform.online, 'spend', encodeEntityKey([2]), ['v']);
    expect(u2?.values.v).toBe(4);
  });

  it('a full refresh replaces every part', async () => {
    const job = await materialize({});
    expect(job.result).toMatchObject({ mode: 'full', rows: 6 });
    expect((await readOfflineManifest(t.platform.objects, 'spend', 1))?.files).toHaveLength(1);
  });

  it('serves the view metadata: schema, committed size, freshness against the schedule, last run', async () => {
    const md = await t.client.getViewMetadata('spend');
    const nextNewYear = `${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`;
    expect(md).toMatchObject({
      kind: 'feature-view',
      name: 'spend',
      version: 1,
      entities: ['user'],
      online: true,
      offline: { rows: 6, files: 1 },
      freshness: {
        lastEventTime: '2026-01-05T10:00:00.000Z',
        schedule: '0 0 1 1 *',
        nextRunAt: nextNewYear,
        stale: false,
      },
      lastRun: { status: 'succeeded', attempts: 1, error: null },
      consumers: { featureServices: [], exampleSets: [], models: [], deployments: [] },
    });
    expect(md.schema.map((c) => `${c.name}:${c.type}:${c.role}`)).toEqual([
      'user_id:int64:key',
      'ts:timestamp:timestamp',
      'v:float64:feature',
    ]);
    expect(md.offline?.bytes).toBeGreaterThan(0);
    expect([365, 366].map((d) => d * 86_400)).toContain(md.freshness.updateFrequencySeconds);
    expect(md.freshness.lagSeconds).toBeGreaterThan(0);
    await expect(t.client.getViewMetadata('nope')).rejects.toMatchObject({ problem: { status: 404 } });
    await expect(t.client.getViewMetadata('spend', { version: 0 })).rejects.toMatchObject({ problem: { status: 400 } });
  });

  it('rejects incremental with a range, and a range that ends before it starts', async () => {
    await expect(
      t.client.materialize({ view: 'spend', incremental: true, start: '2026-01-01T00:00:00Z' }),
    ).rejects.toMatchObject({
      problem: { status: 400, errors: [{ pointer: '/incremental' }] },
    });
    const job = await materialize({ start: '2026-01-05T00:00:00Z', end: '2026-01-01T00:00:00Z' });
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job.error).toMatch(/start 2026-01-05T00:00:00Z is not before end/);
  });
});

describe('schedules', () => {
  it('enqueues one incremental run per fire time, never two, and runs it', async () => {
    const nextNewYear = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1, 0, 5));
    await arrive('c', [[3, '2026-01-06 10:00:00', 6]]);
    const [job] = await t.controlPlane.scheduler.tick(nextNewYear);
    expect(job).toMatchObject({
      kind: 'materialize',
      subject: 'spend',
      maxAttempts: 3,
      params: { view: 'spend', incremental: true, scheduledFor: `${nextNewYear.getUTCFullYear()}-01-01T00:00:00.000Z` },
    });
    // A second tick (another replica, or the next poll) makes no second job for that fire time.
    expect(await t.controlPlane.scheduler.tick(nextNewYear)).toEqual([]);
    const done = (await jobOutcome(t.client, job.id)) as Job & { result: MaterializationResult };
    expect(done.result).toMatchObject({ mode: 'incremental', rows: 1 });
    expect(await t.controlPlane.scheduler.tick(new Date(nextNewYear.getTime() + 3_600_000))).toEqual([]);
    const history = (await t.client.listJobs({ subject: 'spend', kind: 'materialize' })).items;
    expect(history.filter((j) => (j.params as { scheduledFor?: string }).scheduledFor)).toHaveLength(1);
  });

  it('rejects a schedule that is not a cron expression, naming the field', async () => {
    await expect(t.client.applyFeatureView({ ...view, name: 'bad_cron', schedule: 'every day' })).rejects.toMatchObject(
      {
        problem: { status: 422, errors: [{ pointer: '/schedule' }] },
      },
    );
  });
});

describe('errors that name what broke', () => {
  it('schema drift in the lake fails the run at once, naming the column, and keeps the commit', async () => {
    const before = await readOfflineManifest(t.platform.objects, 'spend', 1);
    await arrive('c', [[3, '2026-01-07 10:00:00', 7]], 'VARCHAR');
    fs.rmSync(path.join(lake, 'events', 'a.parquet'));
    fs.rmSync(path.join(lake, 'events', 'b.parquet'));
    const job = await materialize({ incremental: true });
    // A definition or data problem fails the same way again: no retries despite maxAttempts 3.
    expect(job).toMatchObject({ status: 'failed', attempts: 1, maxAttempts: 3 });
    expect(job.error).toMatch(
      /feature view 'spend' no longer matches its definition: column 'v' is declared float64 but the SQL returns VARCHAR/,
    );
    expect((job.result as { problem: { errors: { pointer: string }[] } }).problem.errors[0].pointer).toBe(
      '/features/0/type',
    );
    expect(await readOfflineManifest(t.platform.objects, 'spend', 1)).toEqual(before);
  });

  it('an unreadable lake file fails the run naming the view, its sources and the file', async () => {
    fs.writeFileSync(path.join(lake, 'events', 'c.parquet'), 'not parquet at all');
    const job = await materialize({ incremental: true });
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job.error).toMatch(/spend/);
    expect(job.error).toMatch(/c\.parquet/);
  });

  it('a data source whose files are gone fails naming the source', async () => {
    fs.rmSync(path.join(lake, 'events'), { recursive: true });
    const job = await materialize({ incremental: true });
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job.error).toMatch(/data source 'events'/);
  });
});
