/**
 * The shared object store and lake on S3, end to end against a real S3-compatible server
 * (moto): a hive-partitioned Parquet lake under s3://, the object store on s3://, apply,
 * materialize, build an example set, and read it back in the kernel library.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemError, type ExampleSet, type FeatureView, type LabelView } from '@plinth/schema';
import { readParquetAsArrow } from '@plinth/kernel-lib';
import { literal } from '../offline/duckdb';
import { encodeEntityKey } from '@plinth/kernel-lib';
import { S3ObjectStore } from '../stores/object/s3-store';
import { readOfflineManifest } from './offline-manifest';
import { jobOutcome, startTestPlatform, tempDir, type TestPlatform, onlineRecord } from '../test-support/platform';
import { writeParquet } from '../test-support/lake';
import { startS3, type RunningS3 } from '../test-support/s3';

/** Scores in three daily partitions; labels in one file. */
const SCORES: [number, string, number][] = [
  [1, '2026-01-01 00:00:00', 1.0],
  [2, '2026-01-01 06:00:00', 10.0],
  [1, '2026-01-03 00:00:00', 2.0],
  [1, '2026-01-05 00:00:00', 3.0],
];
const LABELS: { user: number; ts: string; score: number | null; day: string | null }[] = [
  { user: 1, ts: '2026-01-02 00:00:00', score: 1.0, day: '2026-01-01' },
  { user: 1, ts: '2026-01-04 00:00:00', score: 2.0, day: '2026-01-03' },
  { user: 1, ts: '2026-01-06 00:00:00', score: 3.0, day: '2026-01-05' },
  { user: 2, ts: '2026-01-02 00:00:00', score: 10.0, day: '2026-01-01' },
  { user: 3, ts: '2026-01-02 00:00:00', score: null, day: null },
];

const scoreView: FeatureView = {
  name: 'score_fv',
  entities: ['user'],
  sources: ['scores'],
  // `day` comes from the hive folder names, not from the files.
  sql: 'SELECT user_id, ts, score, CAST(day AS VARCHAR) AS day FROM scores',
  timestampColumn: 'ts',
  features: [
    { name: 'score', type: 'float64' },
    { name: 'day', type: 'string' },
  ],
};
const labelView: LabelView = {
  name: 'y_lv',
  entities: ['user'],
  sources: ['labels'],
  sql: 'SELECT user_id, ts, y FROM labels',
  timestampColumn: 'ts',
  labels: [{ name: 'y', type: 'int32' }],
};

let s3: RunningS3;
let t: TestPlatform;
let labelsFile: string;
const lakeUri = (rel: string) => `s3://${s3.bucket}/lake/${rel}`;
const savedEnv: Record<string, string | undefined> = {};

async function upload(key: string, body: Buffer | string): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
}

/** Writes one day's scores to a local Parquet file and uploads it as a hive partition. */
async function uploadScoresDay(day: string, rows: [number, string, number][]): Promise<void> {
  const file = path.join(tempDir('s3-lake'), 'part-0.parquet');
  const values = rows.map(([u, ts, s]) => `(${u}, TIMESTAMP ${literal(ts)}, ${s})`).join(', ');
  await writeParquet(
    file,
    `SELECT u::BIGINT AS user_id, ts, s::DOUBLE AS score FROM (VALUES ${values}) AS t(u, ts, s)`,
  );
  await upload(`lake/scores/day=${day}/part-0.parquet`, fs.readFileSync(file));
}

const setEnv = (vars: Record<string, string>) => {
  for (const [k, v] of Object.entries(vars)) {
    if (!(k in savedEnv)) savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
};

beforeAll(async () => {
  s3 = await startS3('plinth-e2e');
  const byDay = new Map<string, [number, string, number][]>();
  for (const r of SCORES) byDay.set(r[1].slice(0, 10), [...(byDay.get(r[1].slice(0, 10)) ?? []), r]);
  for (const [day, rows] of byDay) await uploadScoresDay(day, rows);
  // Not table data: a marker, and a Spark-style in-progress folder that is not even Parquet.
  await upload('lake/scores/_SUCCESS', 'done');
  await upload('lake/scores/_temporary/0/part-9.parquet', 'not parquet');

  labelsFile = path.join(tempDir('s3-lake'), 'labels.parquet');
  await writeParquet(
    labelsFile,
    `SELECT u::BIGINT AS user_id, ts, 1::INTEGER AS y FROM (VALUES ${LABELS.map((l) => `(${l.user}, TIMESTAMP ${literal(l.ts)})`).join(', ')}) AS t(u, ts)`,
  );
  await upload('lake/labels/labels.parquet', fs.readFileSync(labelsFile));

  t = await startTestPlatform({
    lakeDir: tempDir('unused-lake'),
    objectStore: `s3://${s3.bucket}/plinth`,
    s3Endpoint: s3.endpoint,
  });
  await t.client.applyEntity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
  await t.client.applyDataSource({
    name: 'scores',
    path: lakeUri('scores/'),
    format: 'parquet',
    partitioning: { column: 'day', granularity: 'day' },
  });
  // One object rather than a folder.
  await t.client.applyDataSource({ name: 'labels', path: lakeUri('labels/labels.parquet'), format: 'parquet' });
  await t.client.applyFeatureView(scoreView);
  await t.client.applyLabelView(labelView);
});
afterAll(async () => {
  await t?.close();
  await s3?.stop();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const materialize = async (view: string) => {
  const job = await jobOutcome(t.client, (await t.client.materialize({ view })).id);
  expect(job.status, job.error ?? '').toBe('succeeded');
  return job;
};

describe('object store and lake on S3', () => {
  it('materializes s3:// sources (hive partitions included) into the S3 object store', async () => {
    expect(t.platform.objects).toBeInstanceOf(S3ObjectStore);
    const job = await materialize('score_fv');
    expect(job.result).toMatchObject({ rows: SCORES.length });
    await materialize('y_lv');

    const m = await readOfflineManifest(t.platform.objects, 'score_fv', 1);
    expect(m?.rows).toBe(SCORES.length);
    // The committed files are S3 objects under the store's prefix, nothing on local disk.
    const keys = await t.platform.objects.list('');
    for (const f of m!.files) expect(keys).toContain(f);
    expect(t.platform.objects.uri(m!.files[0])).toMatch(new RegExp(`^s3://${s3.bucket}/plinth/`));
    expect(fs.existsSync(path.join(t.config.dataDir, 'objects'))).toBe(false);
    // DuckDB read local copies, kept in the data directory's cache: the scores folder staged
    // as a table, the single labels object as one cached file.
    expect(fs.readdirSync(path.join(t.config.dataDir, 'cache', 'lake')).length).toBe(1);
    expect(fs.existsSync(path.join(t.config.dataDir, 'cache', 'objects'))).toBe(true);

    const online = await onlineRecord(t.platform.online, 'score_fv', encodeEntityKey([1]), ['score', 'day']);
    expect(online?.values).toEqual({ score: 3, day: '2026-01-05' });
  });

  it('builds an example set on S3 that the kernel library reads back', async () => {
    const job = await jobOutcome(
      t.client,
      (await t.client.buildExampleSet({ name: 'on_s3', labelView: 'y_lv', features: ['score_fv'] })).id,
    );
    expect(job.status, job.error ?? '').toBe('succeeded');
    const es = job.result as ExampleSet;
    expect(es.rows).toBe(LABELS.length);
    expect(es.location.uri).toMatch(new RegExp(`^s3://${s3.bucket}/plinth/`));
    for (const f of es.location.files) expect(f).toMatch(new RegExp(`^s3://${s3.bucket}/plinth/.+\\.parquet$`));

    // The notebook side: the same settings as the server, from the environment.
    setEnv({ PLINTH_S3_ENDPOINT: s3.endpoint, PLINTH_CACHE_DIR: tempDir('kernel-cache') });
    const table = await readParquetAsArrow(es.location.files, es);
    expect(table.numRows).toBe(LABELS.length);
    const rows = table.toArray().map((r) => r.toJSON() as Record<string, unknown>);
    const at = (ts: unknown) => new Date(Number(ts)).toISOString().slice(0, 19).replace('T', ' ');
    const got = new Map(rows.map((r) => [`${r.user_id}@${at(r.ts)}`, r]));
    for (const l of LABELS) {
      const r = got.get(`${l.user}@${l.ts}`);
      expect(r, `${l.user}@${l.ts}`).toBeDefined();
      expect(r?.score_fv__score ?? null, `${l.user}@${l.ts}`).toBe(l.score);
      expect(r?.score_fv__day ?? null, `${l.user}@${l.ts}`).toBe(l.day);
      expect(r?.y).toBe(1);
    }
    expect(table.schema.fields.find((f) => f.name === 'score_fv__score')?.metadata.get('plinth.role')).toBe('feature');
  });

  it('sees a new partition on the next run (the staged copy follows the lake)', async () => {
    await uploadScoresDay('2026-01-07', [[2, '2026-01-07 00:00:00', 20.0]]);
    const job = await materialize('score_fv');
    expect(job.result).toMatchObject({ rows: SCORES.length + 1 });
    const online = await onlineRecord(t.platform.online, 'score_fv', encodeEntityKey([2]), ['score', 'day']);
    expect(online?.values).toEqual({ score: 20, day: '2026-01-07' });
  });

  it('names the data source and the URI when an s3:// source cannot be read', async () => {
    const problem = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ProblemError);
      return (e as ProblemError).message;
    };
    const viewOn = (source: string): FeatureView => ({ ...scoreView, name: `fv_${source}`, sources: [source] });

    // A prefix with nothing under it.
    await t.client.applyDataSource({ name: 'nothing', path: lakeUri('no/such/prefix/'), format: 'parquet' });
    const nothing = await problem(t.client.applyFeatureView({ ...viewOn('nothing'), sql: 'SELECT * FROM nothing' }));
    expect(nothing).toContain("data source 'nothing'");
    expect(nothing).toContain(lakeUri('no/such/prefix/'));

    // Objects, but none of the source's format.
    await t.client.applyDataSource({ name: 'wrong_format', path: lakeUri('scores'), format: 'csv' });
    const csv = await problem(
      t.client.applyFeatureView({ ...viewOn('wrong_format'), sql: 'SELECT * FROM wrong_format' }),
    );
    expect(csv).toContain("data source 'wrong_format'");
    expect(csv).toMatch(/no \.csv files under s3:\/\/plinth-e2e\/lake\/scores/);

    // A bucket that does not exist.
    await t.client.applyDataSource({ name: 'no_bucket', path: 's3://no-such-bucket/lake/x', format: 'parquet' });
    const bucket = await problem(t.client.applyFeatureView({ ...viewOn('no_bucket'), sql: 'SELECT * FROM no_bucket' }));
    expect(bucket).toContain("data source 'no_bucket'");
    expect(bucket).toContain("bucket 'no-such-bucket' does not exist");

    // Readable at apply time, gone by materialization: the job fails naming source and URI.
    await upload('lake/vanishing/part-0.parquet', fs.readFileSync(labelsFile));
    await t.client.applyDataSource({ name: 'vanishing', path: lakeUri('vanishing'), format: 'parquet' });
    await t.client.applyLabelView({
      ...labelView,
      name: 'vanishing_lv',
      sources: ['vanishing'],
      sql: 'SELECT user_id, ts, y FROM vanishing',
    });
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'lake/vanishing/part-0.parquet' }));
    const job = await jobOutcome(t.client, (await t.client.materialize({ view: 'vanishing_lv' })).id);
    expect(job.status).toBe('failed');
    expect(job.error).toContain("data source 'vanishing'");
    expect(job.error).toContain(lakeUri('vanishing'));
  });
});
