import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  validate,
  type DatasetStatistics,
  type FeatureView,
  type LabelView,
  type MaterializationResult,
  type ProblemDetails,
  type Quality,
  type QualityReport,
  type QualityResult,
  type QualityRule,
} from '@plinth/schema';
import { OfflineEngine } from '../offline/duckdb';
import { LocalObjectStore } from '../stores/object/local-store';
import { encodeEntityKey } from '@plinth/kernel-lib';
import { checkQuality, qualityPrefix } from './quality';
import { writeStatistics } from './statistics';
import {
  http,
  jobOutcome,
  materializeAll,
  startTestPlatform,
  tempDir,
  type TestPlatform,
  onlineRecord,
} from '../test-support/platform';
import { writeParquet } from '../test-support/lake';

/**
 * A hand-made table whose quality is known value by value:
 *
 *   user_id  ts          amount  status
 *   1        2026-01-01  10.0    'ok'
 *   2        2026-01-02  20.0    'ok'
 *   3        2026-01-03  NULL    'bad'
 *   4        2026-01-04  NaN     'ok'
 *   5        2026-01-05  30.0    NULL
 *   6        2026-01-06  -5.0    'ok'
 */
const TABLE_SQL = `
SELECT user_id::BIGINT AS user_id, TIMESTAMP '2026-01-01' + (user_id - 1) * INTERVAL 1 DAY AS ts,
       amount::DOUBLE AS amount, status
FROM (VALUES (1, 10.0, 'ok'), (2, 20.0, 'ok'), (3, NULL, 'bad'), (4, 'nan'::DOUBLE, 'ok'),
             (5, 30.0, NULL), (6, -5.0, 'ok')) AS t(user_id, amount, status)`;

const NEWEST = Date.parse('2026-01-06T00:00:00Z');

describe('checkQuality over a result table (DuckDB)', () => {
  let engine: OfflineEngine;
  let objects: LocalObjectStore;
  const ctx = () => ({
    view: 'q',
    version: 1,
    jobId: 'job-now',
    timestampColumn: 'ts',
    objects,
    now: new Date(NEWEST + 3600_000),
  });
  const check = async (rules: QualityRule[], policy?: Quality['policy']): Promise<QualityReport> =>
    checkQuality(engine, 'result', { rules, ...(policy ? { policy } : {}) }, ctx());
  const only = async (rule: QualityRule): Promise<QualityResult> => (await check([rule])).results[0];

  beforeAll(async () => {
    engine = await OfflineEngine.create({ threads: 1 });
    await engine.run(`CREATE TEMP TABLE result AS ${TABLE_SQL}`);
    objects = new LocalObjectStore(tempDir('quality-objects'));
  });
  afterAll(() => engine?.close());

  it('notNull: share of values that are neither NULL nor NaN', async () => {
    const pass = await only({ kind: 'notNull', column: 'amount', minShare: 0.6 });
    expect(pass).toMatchObject({ rule: 0, kind: 'notNull', column: 'amount', outcome: 'pass', observed: 4 / 6 });
    expect(pass.detail).toBe('4 of 6 values present (2 missing)');
    expect(await only({ kind: 'notNull', column: 'amount', minShare: 0.7 })).toMatchObject({
      outcome: 'fail',
      observed: 4 / 6,
      expected: 'share of present values >= 0.7',
    });
    // The default share is 1; status has one NULL; user_id none.
    expect(await only({ kind: 'notNull', column: 'status' })).toMatchObject({ outcome: 'fail', observed: 5 / 6 });
    expect(await only({ kind: 'notNull', column: 'user_id' })).toMatchObject({ outcome: 'pass', observed: 1 });
  });

  it('range: every present value within bounds, missing values left out', async () => {
    expect(await only({ kind: 'range', column: 'amount', min: -5, max: 30 })).toMatchObject({
      outcome: 'pass',
      observed: 0,
      expected: 'every present value [-5, 30]',
    });
    const fail = await only({ kind: 'range', column: 'amount', min: 0 });
    expect(fail).toMatchObject({ outcome: 'fail', observed: 1, expected: 'every present value >= 0' });
    expect(fail.detail).toBe('1 value out of range; present values span [-5, 30]');
    expect(await only({ kind: 'range', column: 'amount', max: 15 })).toMatchObject({ outcome: 'fail', observed: 2 });
  });

  it('allowedValues: present values in the list (strings and numbers)', async () => {
    expect(await only({ kind: 'allowedValues', column: 'status', values: ['ok', 'bad'] })).toMatchObject({
      outcome: 'pass',
      observed: 0,
    });
    const fail = await only({ kind: 'allowedValues', column: 'status', values: ['ok'] });
    expect(fail).toMatchObject({ outcome: 'fail', observed: 1, expected: 'every present value in ["ok"]' });
    expect(fail.detail).toBe('1 value not allowed: bad (1)');
    expect(await only({ kind: 'allowedValues', column: 'user_id', values: [1, 2, 3, 4, 5, '6'] })).toMatchObject({
      outcome: 'pass',
      observed: 0,
    });
    expect(await only({ kind: 'allowedValues', column: 'user_id', values: [1, 2, 3] })).toMatchObject({
      outcome: 'fail',
      observed: 3,
    });
  });

  it('rowCount: rows of the run within bounds', async () => {
    expect(await only({ kind: 'rowCount', min: 6, max: 6 })).toMatchObject({ outcome: 'pass', observed: 6 });
    expect(await only({ kind: 'rowCount', max: 5 })).toMatchObject({
      outcome: 'fail',
      observed: 6,
      expected: 'row count <= 5',
    });
    expect(await only({ kind: 'rowCount', min: 7 })).toMatchObject({ outcome: 'fail', observed: 6 });
  });

  it('freshness: age of the newest event time at the run time', async () => {
    expect(await only({ kind: 'freshness', maxAgeSeconds: 3600 })).toMatchObject({ outcome: 'pass', observed: 3600 });
    const fail = await only({ kind: 'freshness', maxAgeSeconds: 3599 });
    expect(fail).toMatchObject({ outcome: 'fail', observed: 3600 });
    expect(fail.detail).toContain('newest event 2026-01-06T00:00:00.000Z');
  });

  it('change: skipped without a previous run, else the relative change of rows or a mean', async () => {
    const rows: QualityRule = { kind: 'change', metric: 'rowCount', maxRelativeChange: 0.5 };
    const mean: QualityRule = { kind: 'change', metric: 'mean', column: 'amount', maxRelativeChange: 0.1 };
    const first = await check([rows, mean]);
    expect(first.results.map((r) => [r.outcome, r.observed])).toEqual([
      ['skipped', null],
      ['skipped', null],
    ]);
    expect(first.passed).toBe(true);
    // A previous run with 4 rows and an amount mean of 12.5 (this run: 6 rows, mean 13.75).
    const previous: DatasetStatistics = {
      view: 'q',
      version: 1,
      jobId: 'job-before',
      computedAt: '2026-01-06T00:00:00.000Z',
      rows: 4,
      bytes: 1,
      lastEventTime: null,
      totalMissingPercent: 0,
      columns: [
        {
          name: 'amount',
          type: 'float64',
          role: 'feature',
          missing: 0,
          missingPercent: 0,
          distinctApprox: 4,
          mean: 12.5,
        },
      ],
    };
    await writeStatistics(objects, previous);
    const second = await check(
      [
        rows,
        { ...rows, maxRelativeChange: 0.4 },
        { ...mean, maxRelativeChange: 0.2 },
        { ...mean, maxRelativeChange: 0.05 },
      ],
      'strict',
    );
    expect(second.results.map((r) => r.outcome)).toEqual(['pass', 'fail', 'pass', 'fail']);
    expect(second.results[0].observed).toBe(0.5); // |6 - 4| / 4
    expect(second.results[1].detail).toBe('row count 4 -> 6 against run job-before (2026-01-06T00:00:00.000Z)');
    expect(second.results[3].observed).toBeCloseTo(0.1, 12); // |13.75 - 12.5| / 12.5
    expect(second).toMatchObject({ policy: 'strict', passed: false, blocked: true, rows: 6, jobId: 'job-now' });
    expect(validate('quality-report', second)).toMatchObject({ ok: true });
  });
});

/** `n` rows of users 1..n (amount = 10 * user_id, status 'ok'), day n newest; `bad` puts 500 into user 1's amount. */
const growSql = (n: number, bad = false) => `
SELECT i::BIGINT AS user_id, TIMESTAMP '2026-01-01' + (i - 1) * INTERVAL 1 DAY AS ts,
       (CASE WHEN ${bad} AND i = ${n} THEN 500 ELSE 10 * i END)::DOUBLE AS amount, 'ok' AS status
FROM range(1, ${n + 1}) AS r(i)`;

const view = (name: string, source: string, quality?: Quality): FeatureView => ({
  name,
  entities: ['user'],
  sources: [source],
  sql: `SELECT user_id, ts, amount, status FROM ${source}`,
  timestampColumn: 'ts',
  features: [
    { name: 'amount', type: 'float64' },
    { name: 'status', type: 'string' },
  ],
  ...(quality ? { quality } : {}),
});

describe('data quality in materialization (control plane, PGlite, LMDB)', () => {
  let lake: string;
  let t: TestPlatform;
  const writeGrow = (n: number, bad = false) =>
    writeParquet(path.join(lake, 'q_grow', 'part.parquet'), growSql(n, bad));
  const manifestFile = (v: string) => t.platform.objects.localPath(`offline/${v}/v1/_manifest.json`)!;
  const onlineAmount = async (v: string, user: number) =>
    onlineRecord(t.platform.online, v, encodeEntityKey([user]), ['amount']);

  beforeAll(async () => {
    lake = path.join(tempDir('quality'), 'lake');
    await writeParquet(path.join(lake, 'q_src', 'part.parquet'), TABLE_SQL);
    await writeGrow(6);
    t = await startTestPlatform({ lakeDir: lake });
    await t.client.applyEntity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
    await t.client.applyDataSource({ name: 'q_src', path: 'q_src', format: 'parquet' });
    await t.client.applyDataSource({ name: 'q_grow', path: 'q_grow', format: 'parquet' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('strict: a failing run is failed, commits nothing, pushes nothing, and its report is kept and served', async () => {
    await t.client.applyFeatureView(
      view('q_strict', 'q_grow', {
        policy: 'strict',
        rules: [
          { kind: 'range', column: 'amount', min: 0, max: 200, name: 'amount_sane' },
          { kind: 'change', metric: 'rowCount', maxRelativeChange: 0.5 },
          { kind: 'notNull', column: 'status' },
        ],
      }),
    );
    const [first] = await materializeAll(t.client, ['q_strict']);
    const firstQuality = (first.result as MaterializationResult).quality!;
    expect(firstQuality).toMatchObject({ passed: true, blocked: false, policy: 'strict' });
    expect(firstQuality.results.map((r) => r.outcome)).toEqual(['pass', 'skipped', 'pass']);
    const manifestBefore = fs.readFileSync(manifestFile('q_strict'));
    expect(await onlineAmount('q_strict', 6)).toMatchObject({ values: { amount: 60 } });

    // Twice the rows (change +100%) and user 12's amount at 500 (range).
    await writeGrow(12, true);
    const job = await jobOutcome(t.client, (await t.client.materialize({ view: 'q_strict' })).id);
    expect(job.status).toBe('failed');
    expect(job.error).toContain("Data quality check failed: feature view 'q_strict' version 1 failed 2 of 3");
    expect(job.error).toContain("#0 'amount_sane' range(amount): 1 value out of range");
    expect(job.error).toContain('#1 change: row count 6 -> 12');
    const prob = (job.result as { problem: ProblemDetails }).problem;
    expect(prob).toMatchObject({ status: 422, title: 'Data quality check failed' });
    expect(prob.errors!.map((e) => e.pointer)).toEqual(['/quality/rules/0', '/quality/rules/1']);

    // Nothing committed offline or online; no statistics for the failed run.
    expect(fs.readFileSync(manifestFile('q_strict')).equals(manifestBefore)).toBe(true);
    expect(await onlineAmount('q_strict', 6)).toMatchObject({ values: { amount: 60 } });
    expect(await onlineAmount('q_strict', 12)).toBeNull();
    expect(await t.client.listStatistics('q_strict')).toMatchObject({ items: [{ jobId: first.id }] });

    // The failed run's report is stored and served as the newest.
    const stored = await t.platform.objects.get(`${qualityPrefix('q_strict', 1)}${job.id}.json`);
    const served = await t.client.getQualityReport('q_strict');
    expect(JSON.parse(stored.toString('utf8'))).toEqual(served);
    expect(served).toMatchObject({ view: 'q_strict', jobId: job.id, passed: false, blocked: true, rows: 12 });
    expect(served.results.map((r) => [r.outcome, r.observed])).toEqual([
      ['fail', 1],
      ['fail', 1],
      ['pass', 1],
    ]);
    expect(validate('quality-report', served)).toMatchObject({ ok: true });
    const { items } = await t.client.listQualityReports('q_strict');
    expect(items.map((r) => r.jobId)).toEqual([job.id, first.id]);
    const history = await http(t.url, 'GET', '/api/v1/feature-views/q_strict/quality?history=true');
    expect(history.status).toBe(200);
  });

  it('warn: the run succeeds and commits, the report shows the failures', async () => {
    await t.client.applyFeatureView(
      view('q_warn', 'q_src', {
        rules: [
          { kind: 'notNull', column: 'amount', minShare: 0.7 },
          { kind: 'allowedValues', column: 'status', values: ['ok', 'bad'] },
          { kind: 'rowCount', max: 5 },
        ],
      }),
    );
    const [job] = await materializeAll(t.client, ['q_warn']);
    const result = job.result as MaterializationResult;
    expect(result.rows).toBe(6);
    expect(result.quality).toMatchObject({ policy: 'warn', passed: false, blocked: false });
    expect(result.quality!.results.map((r) => [r.outcome, r.observed])).toEqual([
      ['fail', 4 / 6],
      ['pass', 0],
      ['fail', 6],
    ]);
    expect(fs.existsSync(manifestFile('q_warn'))).toBe(true);
    expect(await onlineAmount('q_warn', 6)).toMatchObject({ values: { amount: -5 } });
    const { lines } = await t.client.getJobLogs(job.id);
    expect(lines).toContain('data quality (warn): #2 rowCount: 6 rows (expected row count <= 5)');
    expect(await t.client.getQualityReport('q_warn')).toEqual(result.quality);
  });

  it('label views carry rules too; views without reports answer 404', async () => {
    const lv: LabelView = {
      name: 'q_lv',
      entities: ['user'],
      sources: ['q_src'],
      sql: 'SELECT user_id, ts, status AS y FROM q_src',
      timestampColumn: 'ts',
      labels: [{ name: 'y', type: 'string' }],
      quality: { policy: 'strict', rules: [{ kind: 'allowedValues', column: 'y', values: ['ok'] }] },
    };
    await t.client.applyLabelView(lv);
    const job = await jobOutcome(t.client, (await t.client.materialize({ view: 'q_lv' })).id);
    expect(job.status).toBe('failed');
    expect(job.error).toContain("label view 'q_lv' version 1 failed 1 of 1");
    expect(fs.existsSync(manifestFile('q_lv'))).toBe(false);
    const r = await t.client.getQualityReport('q_lv', { kind: 'label-view' });
    expect(r).toMatchObject({ kind: 'label-view', blocked: true, results: [{ outcome: 'fail', observed: 1 }] });

    await t.client.applyFeatureView(view('q_plain', 'q_src'));
    await materializeAll(t.client, ['q_plain']);
    const none = await http(t.url, 'GET', '/api/v1/feature-views/q_plain/quality');
    expect(none.status).toBe(404);
    expect(none.contentType).toContain('application/problem+json');
    expect((await http(t.url, 'GET', '/api/v1/feature-views/q_plain/quality?history=maybe')).pointers).toEqual([
      '/history',
    ]);
    const openapi = (await http(t.url, 'GET', '/api/v1/openapi.json')).body as { paths: Record<string, unknown> };
    expect(openapi.paths).toHaveProperty(['/api/v1/label-views/{name}/quality']);
  });

  it('rejects rules the SQL cannot satisfy at apply time (422 with pointers)', async () => {
    const rules: QualityRule[] = [
      { kind: 'notNull', column: 'nope' },
      { kind: 'range', column: 'status', min: 0 },
      { kind: 'change', metric: 'mean', maxRelativeChange: 0.1 },
      { kind: 'allowedValues', column: 'status', values: ['ok'] },
      { kind: 'change', metric: 'rowCount', maxRelativeChange: 0.1 },
    ];
    const doc = {
      ...view('q_bad', 'q_src', { rules }),
      sql: 'SELECT user_id, ts, amount, status, 1 AS extra FROM q_src',
    };
    const r = await http(t.url, 'PUT', '/api/v1/feature-views/q_bad', doc);
    expect(r.status).toBe(422);
    expect(r.pointers).toEqual(['/quality/rules/0/column', '/quality/rules/1/column', '/quality/rules/2/column']);
    const details = (r.body as ProblemDetails).errors!.map((e) => e.detail);
    expect(details).toEqual([
      "column 'nope' is not returned by the SQL",
      "range needs a numeric column; 'status' has type VARCHAR",
      "is required when metric is 'mean'",
    ]);
    // A column the SQL returns but the view does not keep is not materialized either.
    const extra = await http(t.url, 'PUT', '/api/v1/feature-views/q_bad', {
      ...doc,
      quality: { rules: [{ kind: 'notNull', column: 'extra' }] },
    });
    expect(extra.status).toBe(422);
    expect(extra.pointers).toEqual(['/quality/rules/0/column']);
    await expect(t.client.getFeatureView('q_bad')).rejects.toMatchObject({ status: 404 });
  });
});
