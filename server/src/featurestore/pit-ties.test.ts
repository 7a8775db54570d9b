/**
 * Adversarial point-in-time cases: equal event times (ties go to the row created last, by the
 * view's createdTimestampColumn or else by commit order), late-arriving rows, and the
 * manifest's time range.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExampleSet, FeatureView } from '@plinth/schema';
import { literal } from '../offline/duckdb';
import { jobOutcome, startTestPlatform, tempDir, type TestPlatform } from '../test-support/platform';
import { queryRows, writeParquet } from '../test-support/lake';
import { readOfflineManifest } from './offline-manifest';

const T = '2026-03-01 12:00:00';
const LABEL_TS = '2026-03-01 13:00:00';

let lake: string;
let t: TestPlatform;

const createdView: FeatureView = {
  name: 'tie_created',
  entities: ['user'],
  sources: ['corrections'],
  sql: 'SELECT user_id, ts, created, v FROM corrections',
  timestampColumn: 'ts',
  createdTimestampColumn: 'created',
  features: [{ name: 'v', type: 'float64' }],
};
const fileOrderView: FeatureView = {
  name: 'tie_files',
  entities: ['user'],
  sources: ['revisions'],
  sql: 'SELECT user_id, ts, v FROM revisions',
  timestampColumn: 'ts',
  features: [{ name: 'v', type: 'float64' }],
};

async function writeRevisions(rows: [number, string, number][]) {
  const values = rows.map(([u, ts, v]) => `(${u}, TIMESTAMP ${literal(ts)}, ${v})`).join(', ');
  await writeParquet(
    path.join(lake, 'revisions', 'revisions.parquet'),
    `SELECT u::BIGINT AS user_id, ts, v::DOUBLE AS v FROM (VALUES ${values}) AS t(u, ts, v)`,
  );
}

async function run(job: Promise<{ id: string }>) {
  const done = await jobOutcome(t.client, (await job).id);
  expect(done.status, done.error ?? '').toBe('succeeded');
  return done;
}

async function exampleValues(features: string[]): Promise<{ es: ExampleSet; rows: Record<string, unknown>[] }> {
  const job = await run(t.client.buildExampleSet({ name: 'ties', labelView: 'clicked', features }));
  const es = job.result as ExampleSet;
  const files = es.location.files.map((f) => literal(fileURLToPath(f))).join(', ');
  return { es, rows: await queryRows(`SELECT * FROM read_parquet([${files}]) ORDER BY user_id`) };
}

beforeAll(async () => {
  lake = path.join(tempDir('ties'), 'lake');
  // Two rows for user 1 at the same event time: the correction (created later) must win,
  // whichever order the rows are stored in.
  await writeParquet(
    path.join(lake, 'corrections', 'c.parquet'),
    `SELECT * FROM (VALUES (1::BIGINT, TIMESTAMP '${T}', TIMESTAMP '2026-03-02 09:00:00', 2.0::DOUBLE),
                           (1::BIGINT, TIMESTAMP '${T}', TIMESTAMP '2026-03-01 12:00:00', 1.0::DOUBLE))
     AS t(user_id, ts, created, v)`,
  );
  await writeRevisions([[1, T, 5]]);
  await writeParquet(
    path.join(lake, 'labels', 'l.parquet'),
    `SELECT * FROM (VALUES (1::BIGINT, TIMESTAMP '${LABEL_TS}', 1), (2::BIGINT, TIMESTAMP '${LABEL_TS}', 0)) AS t(user_id, ts, y)`,
  );
  t = await startTestPlatform({ lakeDir: lake });
  await t.client.applyEntity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
  for (const name of ['corrections', 'revisions', 'labels'])
    await t.client.applyDataSource({ name, path: name, format: 'parquet' });
  await t.client.applyFeatureView(createdView);
  await t.client.applyFeatureView(fileOrderView);
  await t.client.applyLabelView({
    name: 'clicked',
    entities: ['user'],
    sources: ['labels'],
    sql: 'SELECT user_id, ts, y FROM labels',
    timestampColumn: 'ts',
    labels: [{ name: 'y', type: 'int32' }],
  });
  await run(t.client.materialize({ view: 'clicked' }));
});
afterAll(async () => {
  await t?.close();
});

describe('point-in-time ties and late rows', () => {
  it('takes the row created last when event times are equal (createdTimestampColumn)', async () => {
    await run(t.client.materialize({ view: 'tie_created' }));
    const { rows } = await exampleValues(['tie_created']);
    expect(rows.map((r) => r.tie_created__v)).toEqual([2, null]);
  });

  it('replaces a re-run range (corrections win, nothing duplicated) and sees late-arriving rows', async () => {
    const range = { start: '2026-02-01T00:00:00Z', end: '2026-04-01T00:00:00Z' };
    await run(t.client.materialize({ view: 'tie_files', ...range }));
    expect((await exampleValues(['tie_files'])).rows.map((r) => r.tie_files__v)).toEqual([5, null]);

    // A correction for user 1 at the same event time, and a late row for user 2 whose event
    // time (before the label) is what counts, not when it arrived.
    await writeRevisions([
      [1, T, 6],
      [2, '2026-03-01 12:30:00', 7],
    ]);
    const second = await run(t.client.materialize({ view: 'tie_files', ...range }));
    // The second backfill of the same range replaces the first one's part instead of adding to it.
    expect((second.result as { files: string[] }).files).toHaveLength(1);
    expect((await readOfflineManifest(t.platform.objects, 'tie_files', 1))?.rows).toBe(2);
    const { es, rows } = await exampleValues(['tie_files']);
    expect(rows.map((r) => r.tie_files__v)).toEqual([6, 7]);
    expect(es.timeRange).toEqual({ start: '2026-03-01T13:00:00.000Z', end: '2026-03-01T13:00:00.000Z' });
  });

  it('refuses a createdTimestampColumn the SQL does not return', async () => {
    await expect(
      t.client.applyFeatureView({ ...createdView, name: 'bad_created', createdTimestampColumn: 'inserted_at' }),
    ).rejects.toMatchObject({ problem: { status: 422, errors: [{ pointer: '/createdTimestampColumn' }] } });
  });
});
