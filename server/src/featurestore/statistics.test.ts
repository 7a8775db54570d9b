import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type Ajv2020Type from 'ajv/dist/2020';
import {
  schemas,
  type ColumnStatistics,
  type DatasetStatistics,
  type FeatureView,
  type LabelView,
  type MaterializationResult,
} from '@plinth/schema';
import { OfflineEngine } from '../offline/duckdb';
import { computeStatistics, statisticsPrefix } from './statistics';
import { readOfflineManifest } from './offline-manifest';
import {
  http,
  jobOutcome,
  materializeAll,
  startTestPlatform,
  tempDir,
  type TestPlatform,
} from '../test-support/platform';

/**
 * A hand-made lake whose statistics are known cell by cell:
 *
 *   user_id  ts   x      c  s     b      n
 *   1        t1   1.0    5  'a'   true   10
 *   2        t2   2.0    5  'b'   false  NULL
 *   3        t3   NULL   5  'a'   true   30
 *   4        t4   NaN    5  NULL  NULL   40
 *   5        t5   4.0    5  'a'   true   50
 *   6        t6   9.0    5  'c'   false  NULL
 */
const LAKE_SQL = `
SELECT user_id::BIGINT AS user_id, TIMESTAMP '2026-01-01' + (user_id - 1) * INTERVAL 1 DAY AS ts,
       x::DOUBLE AS x, 5.0::DOUBLE AS c, s, b, n::INTEGER AS n
FROM (VALUES (1, 1.0, 'a', true, 10), (2, 2.0, 'b', false, NULL), (3, NULL, 'a', true, 30),
             (4, 'nan'::DOUBLE, NULL, NULL, 40), (5, 4.0, 'a', true, 50), (6, 9.0, 'c', false, NULL))
     AS t(user_id, x, s, b, n)`;

const statsView: FeatureView = {
  name: 'stats_fv',
  entities: ['user'],
  sources: ['stats_src'],
  sql: 'SELECT user_id, ts, x, c, s, b, n FROM stats_src',
  timestampColumn: 'ts',
  features: [
    { name: 'x', type: 'float64' },
    { name: 'c', type: 'float64' },
    { name: 's', type: 'string' },
    { name: 'b', type: 'bool' },
    { name: 'n', type: 'int32' },
  ],
};

const labelView: LabelView = {
  name: 'stats_lv',
  entities: ['user'],
  sources: ['stats_src'],
  sql: 'SELECT user_id, ts, b AS y FROM stats_src',
  timestampColumn: 'ts',
  labels: [{ name: 'y', type: 'bool' }],
};

// The documents are checked against statistics.json with the schema package's own ajv (8; the
// root node_modules has an older one).
const schemaRequire = createRequire(createRequire(__filename).resolve('@plinth/schema/package.json'));
const Ajv2020 = (schemaRequire('ajv/dist/2020') as { default: typeof Ajv2020Type }).default;
const addFormats = (schemaRequire('ajv-formats') as { default: (a: Ajv2020Type) => void }).default;
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
for (const s of Object.values(schemas)) ajv.addSchema(s as object);
const validStatistics = ajv.getSchema('https://plinth.dev/schemas/statistics.json')!;

function expectValid(doc: unknown): void {
  if (!validStatistics(doc)) expect.fail(JSON.stringify(validStatistics.errors));
}

const col = (s: DatasetStatistics, name: string): ColumnStatistics => {
  const c = s.columns.find((c) => c.name === name);
  if (!c) expect.fail(`no column ${name}`);
  return c;
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

let lake: string;
let t: TestPlatform;

beforeAll(async () => {
  lake = path.join(tempDir('stats'), 'lake');
  const engine = await OfflineEngine.create({ threads: 1 });
  try {
    await engine.copyToParquet(LAKE_SQL, path.join(lake, 'stats_src', 'part.parquet'));
  } finally {
    engine.close();
  }
  t = await startTestPlatform({ lakeDir: lake });
  await t.client.applyEntity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
  await t.client.applyDataSource({ name: 'stats_src', path: 'stats_src', format: 'parquet' });
  await t.client.applyFeatureView(statsView);
  await t.client.applyLabelView(labelView);
});
afterAll(async () => {
  await t?.close();
});

describe('statistics of a materialization (hand-made lake)', () => {
  let job: MaterializationResult;
  let s: DatasetStatistics;

  beforeAll(async () => {
    const [j] = await materializeAll(t.client, ['stats_fv']);
    job = j.result as MaterializationResult;
    s = await t.client.getStatistics('stats_fv');
  });

  it('is valid, kept in the offline store, and equal to the job result', async () => {
    expectValid(s);
    expect(job.statistics).toEqual(s);
    const keys = await t.platform.objects.list(statisticsPrefix('stats_fv', 1));
    expect(keys).toEqual([`offline/stats_fv/v1/stats/${s.jobId}.json`]);
  });

  it('has the dataset metadata', async () => {
    expect(s).toMatchObject({ view: 'stats_fv', version: 1, rows: 6, lastEventTime: '2026-01-06T00:00:00.000Z' });
    expect(s.columns.map((c) => [c.name, c.type, c.role])).toEqual([
      ['user_id', 'int64', 'key'],
      ['ts', 'timestamp', 'timestamp'],
      ['x', 'float64', 'feature'],
      ['c', 'float64', 'feature'],
      ['s', 'string', 'feature'],
      ['b', 'bool', 'feature'],
      ['n', 'int32', 'feature'],
    ]);
    const manifest = await readOfflineManifest(t.platform.objects, 'stats_fv', 1);
    const file = t.platform.objects.localPath(manifest!.files[0])!;
    expect(s.bytes).toBe(fs.statSync(file).size);
    // 6 missing cells (x: NULL + NaN, s: 1, b: 1, n: 2) of 6 rows x 7 columns.
    expect(s.totalMissingPercent).toBeCloseTo((100 * 6) / 42, 10);
  });

  it('counts NaN as missing in a float column and leaves it out of the moments', () => {
    const x = col(s, 'x');
    expect(x).toMatchObject({ missing: 2, nonFinite: 1, distinctApprox: 4, min: 1, max: 9 });
    expect(x.missingPercent).toBeCloseTo(100 / 3, 10);
    expect(x.mean).toBeCloseTo(4, 12);
    expect(x.variance).toBeCloseTo(38 / 3, 12); // (9 + 4 + 0 + 25) / (4 - 1)
    expect(x.histogram!.edges).toHaveLength(11);
    expect(x.histogram!.edges[0]).toBe(1);
    expect(x.histogram!.edges[10]).toBe(9);
    expect(x.histogram!.edges[5]).toBeCloseTo(5, 12);
    // Bins of width 0.8 from 1: 1 -> 0, 2 -> 1, 4 -> 3, 9 (the max) -> the last.
    expect(x.histogram!.counts).toEqual([1, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect(x.topValues).toBeUndefined();
  });

  it('handles a constant column', () => {
    const c = col(s, 'c');
    expect(c).toMatchObject({
      missing: 0,
      missingPercent: 0,
      nonFinite: 0,
      distinctApprox: 1,
      mean: 5,
      min: 5,
      max: 5,
    });
    expect(c.variance).toBe(0);
    expect(c.histogram).toEqual({ edges: new Array(11).fill(5), counts: [6, 0, 0, 0, 0, 0, 0, 0, 0, 0] });
  });

  it('summarises an integer column with nulls', () => {
    const n = col(s, 'n');
    expect(n).toMatchObject({ missing: 2, distinctApprox: 4, min: 10, max: 50, mean: 32.5 });
    expect(n.nonFinite).toBeUndefined();
    expect(n.variance).toBeCloseTo(875 / 3, 10);
    expect(sum(n.histogram!.counts)).toBe(6 - 2);
    expect(n.histogram!.counts).toEqual([1, 0, 0, 0, 0, 1, 0, 1, 0, 1]);
  });

  it('gives top values of string and bool columns', () => {
    const str = col(s, 's');
    expect(str).toMatchObject({ missing: 1, distinctApprox: 3 });
    expect(str.missingPercent).toBeCloseTo(100 / 6, 10);
    expect(str.topValues).toEqual([
      { value: 'a', count: 3 },
      { value: 'b', count: 1 },
      { value: 'c', count: 1 },
    ]);
    expect(str.mean).toBeUndefined();
    expect(str.histogram).toBeUndefined();
    expect(col(s, 'b').topValues).toEqual([
      { value: 'true', count: 3 },
      { value: 'false', count: 2 },
    ]);
  });

  it('summarises keys and timestamps', () => {
    const k = col(s, 'user_id');
    expect(k).toMatchObject({ missing: 0, distinctApprox: 6, min: 1, max: 6, mean: 3.5, variance: 3.5 });
    // Bins of width 0.5 from 1: 1 -> 0, 2 -> 2, 3 -> 4, 4 -> 6, 5 -> 8, 6 (the max) -> the last.
    expect(k.histogram!.counts).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 1, 1]);
    expect(col(s, 'ts')).toMatchObject({
      missing: 0,
      distinctApprox: 6,
      min: '2026-01-01T00:00:00.000Z',
      max: '2026-01-06T00:00:00.000Z',
    });
    for (const c of s.columns) if (c.histogram) expect(sum(c.histogram.counts)).toBe(s.rows - c.missing);
  });

  it('serves label views too, with the label role', async () => {
    await materializeAll(t.client, ['stats_lv']);
    const l = await t.client.getStatistics('stats_lv', { kind: 'label-view' });
    expectValid(l);
    expect(l.columns.map((c) => c.role)).toEqual(['key', 'timestamp', 'label']);
    expect(col(l, 'y').topValues).toEqual([
      { value: 'true', count: 3 },
      { value: 'false', count: 2 },
    ]);
    // A label view is not a feature view.
    expect((await http(t.url, 'GET', '/api/v1/feature-views/stats_lv/statistics')).status).toBe(404);
  });
});

describe('computeStatistics edge cases', () => {
  let engine: OfflineEngine;
  beforeAll(async () => {
    engine = await OfflineEngine.create({ threads: 1 });
  });
  afterAll(() => engine.close());
  const meta = { view: 'v', version: 1, jobId: 'j', bytes: 0, lastEventTime: null };
  const columns = [
    { name: 'x', type: 'float64', role: 'feature' },
    { name: 'one', type: 'int64', role: 'feature' },
    { name: 's', type: 'string', role: 'feature' },
    { name: 'ts', type: 'timestamp', role: 'timestamp' },
  ] as const;

  it('treats +/-Infinity as missing and gives no variance for a single value', async () => {
    await engine.run(`CREATE TABLE inf AS SELECT * FROM (VALUES ('inf'::DOUBLE, NULL::BIGINT, NULL::VARCHAR, NULL::TIMESTAMP),
      ('-inf'::DOUBLE, 7, NULL, NULL), (2.5, NULL, NULL, NULL)) AS t(x, one, s, ts)`);
    const s = await computeStatistics(engine, 'inf', [...columns], meta);
    expectValid(s);
    expect(col(s, 'x')).toMatchObject({ missing: 2, nonFinite: 2, mean: 2.5, variance: null, min: 2.5, max: 2.5 });
    expect(col(s, 'one')).toMatchObject({ missing: 2, mean: 7, variance: null });
    // All missing: nothing to summarise.
    expect(col(s, 's')).toMatchObject({ missing: 3, missingPercent: 100, distinctApprox: 0, topValues: [] });
    expect(col(s, 'ts')).toMatchObject({ missing: 3, min: null, max: null });
    expect(s.totalMissingPercent).toBeCloseTo((100 * 10) / 12, 10);
  });

  it('answers an empty table with zeros and nulls', async () => {
    await engine.run('CREATE TABLE empty (x DOUBLE, one BIGINT, s VARCHAR, ts TIMESTAMP)');
    const s = await computeStatistics(engine, 'empty', [...columns], meta);
    expectValid(s);
    expect(s.rows).toBe(0);
    expect(s.totalMissingPercent).toBe(0);
    expect(col(s, 'x')).toMatchObject({ missing: 0, missingPercent: 0, mean: null, variance: null, min: null });
    expect(col(s, 'x').histogram).toBeUndefined();
    expect(col(s, 's').topValues).toEqual([]);
  });

  it('keeps at most 10 top values, most frequent first, ties by value', async () => {
    await engine.run(
      `CREATE TABLE many AS SELECT (CASE WHEN i < 5 THEN 'k' ELSE 'v' || lpad((i % 12)::VARCHAR, 2, '0') END) AS s FROM range(40) r(i)`,
    );
    const s = await computeStatistics(engine, 'many', [{ name: 's', type: 'string', role: 'feature' }], meta);
    const top = col(s, 's').topValues!;
    expect(top).toHaveLength(10);
    expect(top[0]).toEqual({ value: 'k', count: 5 });
    const rest = top.slice(1);
    expect(rest.map((v) => v.count)).toEqual([...rest.map((v) => v.count)].sort((a, b) => b - a));
    expect(col(s, 's').distinctApprox).toBeGreaterThanOrEqual(12);
  });
});

describe('statistics over the API (demo lake)', () => {
  let demo: TestPlatform;
  beforeAll(async () => {
    demo = await startTestPlatform({ applyDemo: true });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('keeps every run, newest first, and serves the newest', async () => {
    const [first] = await materializeAll(demo.client, ['user_features']);
    const second = await jobOutcome(demo.client, (await demo.client.materialize({ view: 'user_features' })).id);
    expect(second.status).toBe('succeeded');

    const { items } = await demo.client.listStatistics('user_features');
    expect(items.map((s) => s.jobId)).toEqual([second.id, first.id]);
    for (const s of items) expectValid(s);
    expect(items[0].computedAt >= items[1].computedAt).toBe(true);
    const latest = await demo.client.getStatistics('user_features');
    expect(latest).toEqual(items[0]);
    expect(latest).toEqual((second.result as MaterializationResult).statistics);
    expect(latest.rows).toBe((second.result as MaterializationResult).rows);
    expect(latest.rows).toBeGreaterThan(0);
    expect(latest.bytes).toBeGreaterThan(0);
    expect(latest.columns.map((c) => c.name)).toEqual([
      'user_id',
      'feature_ts',
      'user_impressions',
      'user_clicks',
      'user_ctr',
    ]);
    const ctr = col(latest, 'user_ctr');
    expect(ctr.min! as number).toBeGreaterThan(0);
    expect(ctr.max! as number).toBeLessThan(1);
    expect(sum(ctr.histogram!.counts)).toBe(latest.rows - ctr.missing);
    // ?version=1 is the same view version here.
    expect((await demo.client.listStatistics('user_features', { version: 1 })).items).toEqual(items);
  });

  it('answers 404 for unknown or never-materialized views and 400 for a bad query', async () => {
    const unknown = await http(demo.url, 'GET', '/api/v1/feature-views/nope/statistics');
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toContain('application/problem+json');
    const never = await http(demo.url, 'GET', '/api/v1/feature-views/product_features/statistics?history=true');
    expect(never.status).toBe(404);
    expect((never.body as { detail: string }).detail).toContain('never materialized');
    expect((await http(demo.url, 'GET', '/api/v1/label-views/nope/statistics')).status).toBe(404);
    expect((await http(demo.url, 'GET', '/api/v1/feature-views/user_features/statistics?version=9')).status).toBe(404);
    const badHistory = await http(demo.url, 'GET', '/api/v1/feature-views/user_features/statistics?history=yes');
    expect(badHistory.status).toBe(400);
    expect(badHistory.pointers).toEqual(['/history']);
  });
});
