import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExampleSet, FeatureView, LabelView } from '@plinth/schema';
import { OfflineEngine, literal } from '../offline/duckdb';
import { encodeEntityKey } from '@plinth/kernel-lib';
import { readOfflineManifest } from './offline-manifest';
import { jobOutcome, startTestPlatform, tempDir, type TestPlatform, onlineRecord } from '../test-support/platform';
import { writeParquet } from '../test-support/lake';

/**
 * A hand-made lake where the right answer is known row by row. User 1 has scores at
 * t1 < t2 < t3; user 2 one score; user 3 none. Labels fall before, on and between them.
 */
const t1 = '2026-01-01 00:00:00';
const t2 = '2026-01-03 00:00:00';
const t3 = '2026-01-05 00:00:00';
const TTL_DAYS = 5;

type Row = (number | string)[];

const FEATURES: Row[] = [
  [1, t1, 1.0],
  [1, t2, 2.0],
  [1, t3, 3.0],
  [2, t1, 10.0],
];

/** Label rows and the score each must see: the latest with ts <= label ts within the TTL. */
const LABELS: { user: number; ts: string; expected: number | null; why: string }[] = [
  { user: 1, ts: '2025-12-31 12:00:00', expected: null, why: 'before any feature' },
  { user: 1, ts: t1, expected: 1.0, why: 'at t1 exactly (<= is inclusive)' },
  { user: 1, ts: '2026-01-02 00:00:00', expected: 1.0, why: 'between t1 and t2' },
  { user: 1, ts: '2026-01-04 23:59:59', expected: 2.0, why: 'just before t3: never the later value' },
  { user: 1, ts: '2026-01-06 00:00:00', expected: 3.0, why: 'after t3' },
  { user: 1, ts: '2026-01-10 00:00:00', expected: 3.0, why: 't3 + 5 days: the TTL boundary is inclusive' },
  { user: 1, ts: '2026-01-10 00:00:01', expected: null, why: 'one second past the TTL' },
  { user: 2, ts: '2026-01-02 00:00:00', expected: 10.0, why: 'other user, own value' },
  { user: 2, ts: '2026-01-20 00:00:00', expected: null, why: 'expired by TTL' },
  { user: 3, ts: '2026-01-04 00:00:00', expected: null, why: 'entity without features' },
];

const valuesSql = (rows: Row[], cols: string) =>
  `SELECT * FROM (VALUES ${rows.map((r) => `(${r.map((v) => (typeof v === 'string' ? `TIMESTAMP ${literal(v)}` : v)).join(', ')})`).join(', ')}) AS t(${cols})`;

const writeScores = (lake: string, rows: Row[]) =>
  writeParquet(
    path.join(lake, 'scores', 'scores.parquet'),
    `SELECT user_id::BIGINT AS user_id, ts, score::DOUBLE AS score FROM (${valuesSql(rows, 'user_id, ts, score')})`,
  );

const writeTexts = (lake: string, values: string[]) =>
  writeParquet(
    path.join(lake, 'texts', 'texts.parquet'),
    `SELECT (i + 1)::BIGINT AS user_id, TIMESTAMP '2026-01-01' + i * INTERVAL 1 HOUR AS ts, s FROM (SELECT unnest(range(${values.length})) AS i, unnest([${values.map(literal).join(', ')}]) AS s)`,
  );

const scoreView: FeatureView = {
  name: 'score_fv',
  entities: ['user'],
  sources: ['scores'],
  sql: 'SELECT user_id, ts, score FROM scores',
  timestampColumn: 'ts',
  features: [{ name: 'score', type: 'float64' }],
  ttlSeconds: TTL_DAYS * 86_400,
};

// Parses fine (DESCRIBE works) but the cast fails on a row that is not a number.
const castView: FeatureView = {
  name: 'cast_fv',
  entities: ['user'],
  sources: ['texts'],
  sql: 'SELECT user_id, ts, s::DOUBLE AS num FROM texts',
  timestampColumn: 'ts',
  features: [{ name: 'num', type: 'float64' }],
};

const labelView: LabelView = {
  name: 'y_lv',
  entities: ['user'],
  sources: ['labels'],
  sql: 'SELECT user_id, ts, y FROM labels',
  timestampColumn: 'ts',
  labels: [{ name: 'y', type: 'int32' }],
};

let lake: string;
let t: TestPlatform;

beforeAll(async () => {
  lake = path.join(tempDir('pit'), 'lake');
  await writeScores(lake, FEATURES);
  await writeParquet(
    path.join(lake, 'labels', 'labels.parquet'),
    `SELECT user_id::BIGINT AS user_id, ts, 1::INTEGER AS y FROM (${valuesSql(
      LABELS.map((l) => [l.user, l.ts]),
      'user_id, ts',
    )})`,
  );
  await writeTexts(lake, ['1.5', '2.5']);
  t = await startTestPlatform({ lakeDir: lake });
  await t.client.applyEntity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
  for (const name of ['scores', 'labels', 'texts'])
    await t.client.applyDataSource({ name, path: name, format: 'parquet' });
  await t.client.applyFeatureView(scoreView);
  await t.client.applyFeatureView(castView);
  await t.client.applyLabelView(labelView);
});
afterAll(async () => {
  await t?.close();
});

async function materialize(view: string) {
  return jobOutcome(t.client, (await t.client.materialize({ view })).id);
}

const onlineScore = async (user: number) =>
  onlineRecord(t.platform.online, 'score_fv', encodeEntityKey([user]), ['score']);

describe('point-in-time example sets', () => {
  it('joins each label with the latest feature at or before it, within the TTL', async () => {
    for (const v of ['score_fv', 'y_lv']) expect((await materialize(v)).status).toBe('succeeded');
    const job = await jobOutcome(
      t.client,
      (await t.client.buildExampleSet({ name: 'pit', labelView: 'y_lv', features: ['score_fv'] })).id,
    );
    expect(job.status, job.error ?? '').toBe('succeeded');
    const es = job.result as ExampleSet;
    expect(es.rows).toBe(LABELS.length);
    expect(es.featureViews).toEqual([{ name: 'score_fv', version: 1 }]);

    const engine = await OfflineEngine.create({ threads: 1 });
    try {
      const files = es.location.files.map((f) => literal(fileURLToPath(f))).join(', ');
      const rows = await engine.rows(
        `SELECT user_id, strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts, score_fv__score AS score FROM read_parquet([${files}])`,
      );
      const got = new Map(rows.map((r) => [`${r.user_id}@${r.ts}`, r.score as number | null]));
      for (const l of LABELS)
        expect(got.get(`${l.user}@${l.ts}`), `user ${l.user} at ${l.ts}: ${l.why}`).toBe(l.expected);
    } finally {
      engine.close();
    }
  });
});

describe('materialization', () => {
  it('commits the offline files in a manifest and keeps the newest value per entity online', async () => {
    const m = await readOfflineManifest(t.platform.objects, 'score_fv', 1);
    expect(m).toMatchObject({
      view: 'score_fv',
      version: 1,
      kind: 'feature-view',
      rows: FEATURES.length,
      lastEventTime: '2026-01-05T00:00:00.000Z',
    });
    expect(m?.files).toHaveLength(1);
    expect(fs.existsSync(t.platform.objects.localPath(m!.files[0]) as string)).toBe(true);

    expect(await onlineScore(1)).toEqual({ eventTs: Date.parse('2026-01-05T00:00:00Z'), values: { score: 3 } });
    expect(await onlineScore(2)).toEqual({ eventTs: Date.parse('2026-01-01T00:00:00Z'), values: { score: 10 } });
    expect(await onlineScore(3)).toBeNull();
    // Label views are not served online.
    expect(await onlineRecord(t.platform.online, 'y_lv', encodeEntityKey([1]), ['y'])).toBeNull();
  });

  it('serves expired values as null on online reads (TTL)', async () => {
    const r = await t.client.getOnlineFeatures({ features: ['score_fv:score'], entities: { user_id: [1, 3] } });
    // The lake's last score is from January 2026 and the TTL is 5 days.
    const expired = Date.now() > Date.parse('2026-01-10T00:00:00Z');
    expect(r.rows[0]).toEqual({
      values: { 'score_fv:score': expired ? null : 3 },
      statuses: { 'score_fv:score': expired ? 'expired' : 'present' },
    });
    expect(r.rows[1]).toEqual({ values: { 'score_fv:score': null }, statuses: { 'score_fv:score': 'not_found' } });
  });

  it('never replaces a newer online value with an older one (timestamp guard)', async () => {
    // The lake is rewritten with only user 1's oldest score and user 2 unchanged.
    await writeScores(lake, [FEATURES[0], FEATURES[3]]);
    const job = await materialize('score_fv');
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect(job.result).toMatchObject({ rows: 2, onlineSkippedOlder: 1, onlineWritten: 1 });
    expect(await onlineScore(1)).toEqual({ eventTs: Date.parse('2026-01-05T00:00:00Z'), values: { score: 3 } });
    // Offline is a full refresh: the manifest now names only the new run's file.
    const m = await readOfflineManifest(t.platform.objects, 'score_fv', 1);
    expect(m?.rows).toBe(2);
    expect(m?.files).toEqual((job.result as { files: string[] }).files);

    // A newer value does replace it.
    await writeScores(lake, [...FEATURES, [1, '2026-01-07 00:00:00', 4.0]]);
    const newer = await materialize('score_fv');
    expect(newer.result).toMatchObject({ rows: 5, onlineWritten: 2, onlineSkippedOlder: 0 });
    expect((await onlineScore(1))?.values).toEqual({ score: 4 });
  });

  it('fails a run whose SQL breaks on the data, keeping the committed manifest', async () => {
    expect((await materialize('cast_fv')).status).toBe('succeeded');
    const before = await readOfflineManifest(t.platform.objects, 'cast_fv', 1);
    expect(before?.rows).toBe(2);

    await writeTexts(lake, ['1.5', 'oops', '2.5']);
    const job = await materialize('cast_fv');
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/oops/);
    expect(await readOfflineManifest(t.platform.objects, 'cast_fv', 1)).toEqual(before);
    expect((await t.client.getJobLogs(job.id)).lines.at(-1)).toMatch(/^failed \(attempt 1 of 3\): .*oops/);
    // Online keeps what the good run wrote.
    const row = await onlineRecord(t.platform.online, 'cast_fv', encodeEntityKey([2]), ['num']);
    expect(row?.values).toEqual({ num: 2.5 });
  });

  it('fails a run whose lake files were deleted after apply, keeping the committed manifest', async () => {
    const before = await readOfflineManifest(t.platform.objects, 'score_fv', 1);
    fs.rmSync(path.join(lake, 'scores'), { recursive: true });
    const job = await materialize('score_fv');
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/data source 'scores'.*does not exist/);
    expect(await readOfflineManifest(t.platform.objects, 'score_fv', 1)).toEqual(before);
    // The example set still builds from the committed files.
    const es = await jobOutcome(
      t.client,
      (await t.client.buildExampleSet({ name: 'pit', labelView: 'y_lv', features: ['score_fv'] })).id,
    );
    expect(es.status, es.error ?? '').toBe('succeeded');
    expect((es.result as ExampleSet).version).toBe(2);
  });

  it('lists failed and succeeded jobs with their outcome', async () => {
    const { items } = await t.client.listJobs();
    const byStatus = (s: string) => items.filter((j) => j.status === s).length;
    expect(byStatus('failed')).toBe(2);
    expect(byStatus('succeeded')).toBeGreaterThanOrEqual(7);
    expect(items.every((j) => j.status === 'succeeded' || j.status === 'failed')).toBe(true);
  });
});
