/**
 * Batch inference on the demo lake with real stores (PGlite, LMDB, local object store): train
 * and publish models, score an example set and an entity list into Parquet, compare every row
 * with the kernel library's run of the same graph, push to the online store and read it back,
 * resume a job that died part-way, refuse bad requests before anything is written, and drive
 * it all from the real CLI.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROBLEM_CONTENT_TYPE,
  type BatchInferenceRequest,
  type BatchInferenceResult,
  type ExampleSet,
  type FeatureView,
} from '@plinth/schema';
import {
  connect,
  pipelineColumns,
  pipelineSpec,
  splitByTime,
  train,
  type LocalPipeline,
  type Plinth,
} from '@plinth/kernel-lib';
import {
  http,
  jobOutcome,
  materializeAll,
  sharedDemoLake,
  startTestPlatform,
  type HttpAnswer,
  type TestPlatform,
} from '../test-support/platform';
import { queryRows, writeParquet } from '../test-support/lake';
import { literal } from '../offline/duckdb';
import { jobHandlers } from '../jobs/handlers';
import { remoteMeta } from '../jobs/remote';
import type { JobContext } from '../featurestore/materialize';
import { BATCH_PREFIX, pinBatchRequest } from './batch-inference';

let t: TestPlatform;
let plinth: Plinth;
let clicksTrain: ExampleSet;
let userCount: number;

/** A push-only view for precomputed engagement scores: the lake SQL only declares its columns. */
const scoresView: FeatureView = {
  name: 'engagement_scores',
  entities: ['user'],
  sources: ['users'],
  sql: "SELECT user_id, TIMESTAMPTZ '2020-01-01 00:00:00+00' AS scored_at, 0.0::DOUBLE AS probability FROM users WHERE false",
  timestampColumn: 'scored_at',
  features: [{ name: 'probability', type: 'float64' }],
  online: true,
};

async function trainAndPublish(
  name: string,
  es: ExampleSet,
  opts: { requestFeatures?: string[]; defaults?: Record<string, number> } = {},
): Promise<void> {
  const table = await plinth.loadExampleSet(es.name, es.version);
  const { train: tr, test } = splitByTime(table, 0.8);
  const result = train({ data: tr, validation: test, display: false });
  await plinth.publish(name, pipelineSpec(name, result, opts), result, { exampleSet: es, referenceData: test });
}

/** Every row of a result, in part order then row order. */
async function readResult(r: BatchInferenceResult): Promise<Record<string, unknown>[]> {
  const files = r.files.map((f) => literal(fileURLToPath(f))).join(', ');
  return queryRows(
    `SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet([${files}], filename = true, file_row_number = true)
     ORDER BY filename, file_row_number`,
  );
}

const post = (body: unknown) => http(t.url, 'POST', '/api/v1/batch-predictions', body);

beforeAll(async () => {
  const lake = await sharedDemoLake();
  // A campaign list with a request-time column: clicks the CRM knows of, for every tenth user.
  await writeParquet(
    path.join(lake, 'vip', 'vip.parquet'),
    `SELECT user_id, (user_id % 7)::DOUBLE AS user_features__user_clicks
     FROM read_parquet(${literal(path.join(lake, 'users', 'users.parquet'))}) WHERE user_id % 10 = 0`,
  );
  await writeParquet(path.join(lake, 'vip', 'names.parquet'), "SELECT 'u' || range AS user_id FROM range(3)");
  await writeParquet(
    path.join(lake, 'vip', 'texts.parquet'),
    "SELECT range AS user_id, 'many' AS user_features__user_clicks FROM range(3)",
  );
  t = await startTestPlatform({ applyDemo: true });
  plinth = connect({ url: t.url });
  await plinth.apply({
    dataSources: [
      { name: 'users', path: 'users/users.parquet', format: 'parquet' },
      { name: 'vip', path: 'vip/vip.parquet', format: 'parquet' },
      { name: 'user_names', path: 'vip/names.parquet', format: 'parquet' },
      { name: 'user_texts', path: 'vip/texts.parquet', format: 'parquet' },
    ],
    featureViews: [scoresView],
  });
  await materializeAll(t.client, ['user_features', 'product_features', 'clicks']);
  clicksTrain = await plinth.buildExampleSet({
    name: 'clicks_train',
    labelView: 'clicks',
    features: ['user_features', 'product_features'],
  });
  const usersTrain = await plinth.buildExampleSet({
    name: 'users_train',
    labelView: 'clicks',
    features: ['user_features'],
  });
  await trainAndPublish('ctr', clicksTrain);
  // Reads user features online; clicks come with the request (the CRM's), else the default 3.
  await trainAndPublish('engagement', usersTrain, {
    requestFeatures: ['user_features__user_clicks'],
    defaults: { user_features__user_clicks: 3 },
  });
  userCount = Number(
    (
      await queryRows(
        `SELECT count(DISTINCT user_id) AS n FROM read_parquet(${literal(path.join(lake, 'users', 'users.parquet'))})`,
      )
    )[0].n,
  );
}, 240_000);

afterAll(async () => {
  await t?.close();
});

describe('batch inference', () => {
  it('scores every row of an example set exactly as the pipeline session does', async () => {
    const r = await plinth.batchPredict({
      model: 'ctr',
      source: { exampleSet: { name: 'clicks_train' } },
      output: 'ctr_all',
      chunkRows: 4000,
    });
    expect(r).toMatchObject({ model: 'ctr', version: 1, output: 'ctr_all', rows: clicksTrain.rows });
    expect(r.source).toEqual({ exampleSet: { name: 'clicks_train', version: clicksTrain.version } });
    expect(r.parts).toHaveLength(Math.ceil(clicksTrain.rows / 4000));
    expect(r.parts.map((p) => p.key)).toEqual(
      r.parts.map((_, i) => `${BATCH_PREFIX}/ctr_all/${r.jobId}/part-0000${i}.parquet`),
    );
    expect(r.columns.map((c) => c.name)).toEqual([
      'user_id',
      'product_id',
      'ts',
      'model',
      'version',
      'scored_at',
      'probability',
    ]);
    // The manifest in the store is the job's result.
    const manifest = JSON.parse(fs.readFileSync(fileURLToPath(r.manifest), 'utf8')) as BatchInferenceResult;
    expect(manifest).toEqual(r);

    const rows = await readResult(r);
    const table = await plinth.loadExampleSet('clicks_train');
    const local: LocalPipeline = await plinth.loadPipeline('ctr', 1);
    const expected = (await local.runTyped(pipelineColumns(table, local.spec.inputs))).probability.data;
    expect(rows).toHaveLength(table.numRows);
    const users = table.getChild('user_id')!;
    const products = table.getChild('product_id')!;
    const ts = table.getChild('ts')!;
    rows.forEach((row, i) => {
      expect(row.user_id).toBe(users.get(i));
      expect(row.product_id).toBe(products.get(i));
      expect((row.ts as Date).getTime()).toBe(Number(ts.get(i)));
      expect(row.model).toBe('ctr');
      expect(row.version).toBe(1);
      expect(Math.abs((row.probability as number) - (expected[i] as number)), `row ${i}`).toBeLessThan(1e-7);
    });
  });

  it('scores an entity list from online features like predict, and pushes the scores online', async () => {
    const r = await plinth.batchPredict({
      model: 'engagement@1',
      source: { entities: { dataSource: 'users' } },
      output: 'campaign',
      chunkRows: 100,
      pushToOnline: { view: 'engagement_scores' },
    });
    expect(r.rows).toBe(userCount);
    expect(r.parts).toHaveLength(Math.ceil(userCount / 100));
    expect(r.pushedToOnline).toMatchObject({
      view: 'engagement_scores',
      features: ['probability'],
      written: userCount,
    });
    const rows = await readResult(r);
    expect(rows.map((x) => x.user_id)).toEqual([...rows.map((x) => x.user_id)].sort((a, b) => Number(a) - Number(b)));
    expect(new Set(rows.map((x) => x.user_id)).size).toBe(userCount);

    const local = await plinth.loadPipeline('engagement@1');
    const instances = rows.map((x) => ({ user_id: Number(x.user_id) }));
    const expected = await local.predict(instances);
    rows.forEach((row, i) =>
      expect(Math.abs((row.probability as number) - (expected[i].outputs.probability as number))).toBeLessThan(1e-7),
    );

    // Precomputed: any client reading the view online gets the batch's numbers.
    const online = await t.client.getOnlineFeatures({
      features: ['engagement_scores:probability'],
      entities: { user_id: instances.map((x) => x.user_id) },
    });
    online.rows.forEach((o, i) => {
      expect(o.statuses['engagement_scores:probability']).toBe('present');
      expect(o.values['engagement_scores:probability']).toBeCloseTo(rows[i].probability as number, 6);
    });
  });

  it('takes request-time inputs from entity-table columns of the same name', async () => {
    const r = await plinth.batchPredict({
      model: 'engagement',
      source: { entities: { dataSource: 'vip' } },
      output: 'vip',
    });
    const rows = await readResult(r);
    const vip = await queryRows(
      `SELECT user_id, user_features__user_clicks AS c FROM read_parquet(${literal(path.join(t.config.lakeDir, 'vip', 'vip.parquet'))}) ORDER BY user_id`,
    );
    expect(rows.map((x) => x.user_id)).toEqual(vip.map((x) => x.user_id));
    const local = await plinth.loadPipeline('engagement');
    const withClicks = await local.predict(
      vip.map((x) => ({ user_id: Number(x.user_id), user_features__user_clicks: x.c as number })),
    );
    const withDefault = await local.predict(vip.map((x) => ({ user_id: Number(x.user_id) })));
    rows.forEach((row, i) =>
      expect(Math.abs((row.probability as number) - (withClicks[i].outputs.probability as number))).toBeLessThan(1e-7),
    );
    expect(
      rows.some(
        (row, i) => Math.abs((row.probability as number) - (withDefault[i].outputs.probability as number)) > 1e-6,
      ),
    ).toBe(true);
  });

  it('resumes a job that died part-way: committed parts are skipped, not rewritten, and no row is doubled', async () => {
    const req = await pinBatchRequest(t.platform, {
      model: 'engagement',
      source: { entities: { dataSource: 'users' } },
      output: 'resumed',
      chunkRows: 100,
    });
    const handler = jobHandlers(t.platform)['batch-inference'];
    const logs: string[] = [];
    const jobId = 'job-resume-1';
    let progressCalls = 0;
    const dying: JobContext = {
      jobId,
      log: async (l) => void logs.push(l),
      // The worker dies right after the first chunk is committed (staging reports first).
      progress: async () => {
        if (++progressCalls === 2) throw new Error('worker killed');
      },
    };
    await expect(handler(req, dying)).rejects.toThrow('worker killed');
    const prefix = `${BATCH_PREFIX}/resumed/${jobId}`;
    expect(await t.platform.objects.list(prefix)).toEqual([
      `${prefix}/_input.parquet`,
      `${prefix}/part-00000.json`,
      `${prefix}/part-00000.parquet`,
    ]);
    const first = t.platform.objects.localPath(`${prefix}/part-00000.parquet`)!;
    const before = fs.statSync(first);

    const r = (await handler(req, {
      jobId,
      log: async (l) => void logs.push(l),
      progress: async () => undefined,
    })) as BatchInferenceResult;
    const after = fs.statSync(first);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(logs).toContain(`chunk 1/${Math.ceil(userCount / 100)}: committed by an earlier attempt, skipped`);
    expect(r.rows).toBe(userCount);
    const rows = await readResult(r);
    expect(rows).toHaveLength(userCount);
    expect(new Set(rows.map((x) => x.user_id)).size).toBe(userCount);
    // A third run (the job re-leased after it had committed) returns the committed result.
    const again = await handler(req, { jobId, log: async () => undefined, progress: async () => undefined });
    expect(again).toEqual(r);
  });

  it('runs in a worker, reading the pinned versions through the control plane API', async () => {
    const env = { ...t.platform, meta: remoteMeta(t.client) };
    const handler = jobHandlers(env)['batch-inference'];
    const ctx = (jobId: string): JobContext => ({ jobId, log: async () => undefined, progress: async () => undefined });
    for (const source of [{ exampleSet: { name: 'users_train' } }, { entities: { dataSource: 'users' } }]) {
      const req = await pinBatchRequest(t.platform, { model: 'engagement', source, output: 'by_worker' });
      if (source.exampleSet) expect(req.source).toEqual({ exampleSet: { name: 'users_train', version: 1 } });
      const r = (await handler(req, ctx(`worker-${Object.keys(source)[0]}`))) as BatchInferenceResult;
      expect(r.rows).toBe(source.exampleSet ? (await t.client.getExampleSet('users_train')).rows : userCount);
      expect((await readResult(r)).length).toBe(r.rows);
    }
    // A version that disappeared after the job was queued fails the job with a problem naming it.
    await expect(
      handler(
        { model: 'engagement', version: 7, source: { entities: { dataSource: 'users' } }, output: 'x' },
        ctx('w'),
      ),
    ).rejects.toMatchObject({ problem: { status: 404, errors: [{ pointer: '/version' }] } });
  });
});

describe('batch inference: bad requests', () => {
  const expectProblem = (r: HttpAnswer, status: number, pointer: string) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.contentType).toContain(PROBLEM_CONTENT_TYPE);
    expect(r.pointers, JSON.stringify(r.body)).toContain(pointer);
  };
  const base: BatchInferenceRequest = { model: 'ctr', source: { exampleSet: { name: 'clicks_train' } }, output: 'bad' };

  it.each([
    ['no output', { model: 'ctr', source: { exampleSet: { name: 'clicks_train' } } }, 400, '/output'],
    ['an unknown model', { ...base, model: 'nope' }, 404, '/model'],
    ['an unknown version', { ...base, version: 99 }, 404, '/version'],
    ['an unknown alias', { ...base, alias: 'production' }, 404, '/alias'],
    ['a version and an alias', { ...base, version: 1, alias: 'production' }, 400, '/alias'],
    ['no source', { ...base, source: {} }, 400, '/source'],
    [
      'two sources',
      { ...base, source: { exampleSet: { name: 'clicks_train' }, entities: { dataSource: 'users' } } },
      400,
      '/source',
    ],
    ['an unknown example set', { ...base, source: { exampleSet: { name: 'nope' } } }, 422, '/source/exampleSet'],
    [
      'an unknown example set version',
      { ...base, source: { exampleSet: { name: 'clicks_train', version: 9 } } },
      422,
      '/source/exampleSet',
    ],
    [
      'an example set without the inputs',
      { ...base, model: 'ctr', source: { exampleSet: { name: 'users_train' } } },
      422,
      '/source/exampleSet',
    ],
    [
      'an unknown data source',
      { ...base, model: 'engagement', source: { entities: { dataSource: 'nope' } } },
      422,
      '/source/entities/dataSource',
    ],
    [
      'an entity table without a join key',
      { ...base, model: 'ctr', source: { entities: { dataSource: 'users' } } },
      422,
      '/source/entities/dataSource',
    ],
    [
      'an entity table whose join key has the wrong type',
      { ...base, model: 'engagement', source: { entities: { dataSource: 'user_names' } } },
      422,
      '/source/entities/dataSource',
    ],
    [
      'an entity table whose request-time column has the wrong type',
      { ...base, model: 'engagement', source: { entities: { dataSource: 'user_texts' } } },
      422,
      '/source/entities/dataSource',
    ],
    ['an unknown push view', { ...base, pushToOnline: { view: 'nope' } }, 422, '/pushToOnline/view'],
    [
      'a push view keyed by another entity',
      { ...base, pushToOnline: { view: 'engagement_scores' } },
      422,
      '/pushToOnline/view',
    ],
    [
      'a push view whose features are not outputs',
      {
        ...base,
        model: 'engagement',
        source: { entities: { dataSource: 'users' } },
        pushToOnline: { view: 'user_features' },
      },
      422,
      '/pushToOnline/view',
    ],
  ])('refuses %s, writing nothing', async (_what, body, status, pointer) => {
    expectProblem(await post(body), status, pointer);
    expect(await t.platform.objects.list(`${BATCH_PREFIX}/bad`)).toEqual([]);
    expect((await t.client.listJobs({ kind: 'batch-inference', subject: 'bad' })).items).toEqual([]);
  });

  it('fails a queued job whose pinned version is gone at once (no retry), writing nothing', async () => {
    const queued = await t.platform.meta.enqueueJob(
      'batch-inference',
      { model: 'engagement', version: 42, source: { entities: { dataSource: 'users' } }, output: 'bad' },
      { subject: 'gone', maxAttempts: 3 },
    );
    t.controlPlane.runner.kick();
    const job = await jobOutcome(t.client, queued.id);
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job.error).toContain('/version: model engagement has no version 42');
    expect(await t.platform.objects.list(`${BATCH_PREFIX}/bad`)).toEqual([]);
  });

  it('refuses an archived version', async () => {
    await t.client.archiveModelVersion('ctr', 1, 'superseded');
    try {
      expectProblem(await post({ ...base, version: 1 }), 409, '/version');
    } finally {
      await t.client.unarchiveModelVersion('ctr', 1);
    }
  });
});

describe('plinth batch-predict', () => {
  const bin = path.resolve(__dirname, '..', '..', 'bin', 'plinth.js');
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PLINTH_')));
      const child = spawn(process.execPath, [bin, ...args, '--control-plane', t.url], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('runs a job with a progress bar and prints the manifest', async () => {
    const r = await cli([
      'batch-predict',
      'engagement@1',
      '--entities',
      'users',
      '--output',
      'cli_run',
      '--chunk-rows',
      '150',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('batch-predict engagement@1');
    expect(r.stderr).toContain(`engagement@1: ${userCount} rows in ${Math.ceil(userCount / 150)} part(s)`);
    const manifest = r.stdout.trim();
    expect(manifest).toMatch(/^file:\/\/.*\/batch-predictions\/cli_run\/.*\/_manifest\.json$/);
    expect(fs.existsSync(fileURLToPath(manifest))).toBe(true);
  });

  it('exits non-zero naming the field when the request is bad', async () => {
    const r = await cli(['batch-predict', 'engagement', '--entities', 'nope', '--output', 'cli_bad']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/source/entities/dataSource');
    expect(r.stderr).toContain("data source 'nope' does not exist");
  });
});
