/**
 * Batch inference with the object store on S3 (a real S3-compatible server, moto): the example
 * set's parts are read through the local cache, and the entity-list snapshot, the parts, their
 * markers and the manifest are written to the bucket; a re-run of the same job skips them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchInferenceResult, ExampleSet } from '@plinth/schema';
import { connect, pipelineSpec, splitByTime, train, type Plinth } from '@plinth/kernel-lib';
import { materializeAll, startTestPlatform, tempDir, type TestPlatform } from '../test-support/platform';
import { queryRows } from '../test-support/lake';
import { startS3, type RunningS3 } from '../test-support/s3';
import { literal } from '../offline/duckdb';
import { localFile } from '../stores/object/local-cache';
import { jobHandlers } from '../jobs/handlers';
import { BATCH_PREFIX, pinBatchRequest } from './batch-inference';

let s3: RunningS3;
let t: TestPlatform;
let plinth: Plinth;
let es: ExampleSet;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  s3 = await startS3('plinth-batch');
  // The notebook side (loadExampleSet, loadPipeline) reads s3:// with the kernel library's client.
  for (const [k, v] of Object.entries({ PLINTH_S3_ENDPOINT: s3.endpoint, PLINTH_CACHE_DIR: tempDir('kernel-cache') })) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  t = await startTestPlatform({ applyDemo: true, objectStore: `s3://${s3.bucket}/plinth`, s3Endpoint: s3.endpoint });
  plinth = connect({ url: t.url });
  await plinth.apply({ dataSources: [{ name: 'users', path: 'users/users.parquet', format: 'parquet' }] });
  await materializeAll(t.client, ['user_features', 'clicks']);
  es = await plinth.buildExampleSet({ name: 'users_train', labelView: 'clicks', features: ['user_features'] });
  const table = await plinth.loadExampleSet(es.name);
  const { train: tr, test } = splitByTime(table, 0.8);
  const result = train({ data: tr, validation: test, display: false });
  await plinth.publish('engagement', pipelineSpec('engagement', result), result, {
    exampleSet: es,
    referenceData: test,
  });
}, 240_000);

afterAll(async () => {
  await t?.close();
  await s3?.stop();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** Every row of a result, read from the bucket through the server's cache. */
async function readResult(r: BatchInferenceResult): Promise<Record<string, unknown>[]> {
  const files = await Promise.all(r.parts.map((p) => localFile(t.platform.objects, p.key)));
  return queryRows(`SELECT * FROM read_parquet([${files.map(literal).join(', ')}])`);
}

describe('batch inference on S3', () => {
  it('scores an example set stored in the bucket', async () => {
    const r = await plinth.batchPredict({
      model: 'engagement',
      source: { exampleSet: { name: 'users_train' } },
      output: 's3_es',
      chunkRows: 5000,
    });
    expect(r.manifest).toBe(`s3://${s3.bucket}/plinth/${BATCH_PREFIX}/s3_es/${r.jobId}/_manifest.json`);
    expect(r.files.every((f) => f.startsWith(`s3://${s3.bucket}/plinth/${BATCH_PREFIX}/s3_es/`))).toBe(true);
    expect(r.rows).toBe(es.rows);
    expect(await t.platform.objects.exists(`${BATCH_PREFIX}/s3_es/${r.jobId}/_manifest.json`)).toBe(true);
    expect(await readResult(r)).toHaveLength(es.rows);
  });

  it('scores an entity list into the bucket, and a re-run of the job rewrites nothing', async () => {
    const req = await pinBatchRequest(t.platform, {
      model: 'engagement',
      source: { entities: { dataSource: 'users' } },
      output: 's3_users',
      chunkRows: 100,
    });
    const handler = jobHandlers(t.platform)['batch-inference'];
    const ctx = { jobId: 's3-job', log: async () => undefined, progress: async () => undefined };
    const r = (await handler(req, ctx)) as BatchInferenceResult;
    const prefix = `${BATCH_PREFIX}/s3_users/s3-job`;
    const keys = await t.platform.objects.list(prefix);
    expect(keys).toContain(`${prefix}/_input.parquet`);
    expect(keys).toContain(`${prefix}/_manifest.json`);
    const rows = await readResult(r);
    expect(rows).toHaveLength(r.rows);
    expect(new Set(rows.map((x) => x.user_id)).size).toBe(r.rows);
    const local = await plinth.loadPipeline('engagement');
    const expected = await local.predict(rows.map((x) => ({ user_id: Number(x.user_id) })));
    rows.forEach((row, i) =>
      expect(Math.abs((row.probability as number) - (expected[i].outputs.probability as number))).toBeLessThan(1e-7),
    );

    // Remove the manifest only: the re-run finds every part committed and just commits again.
    const stamps = await Promise.all(r.parts.map(async (p) => (await t.platform.objects.stat!(p.key))!.version));
    await t.platform.objects.delete(`${prefix}/_manifest.json`);
    const lines: string[] = [];
    const again = (await handler(req, {
      ...ctx,
      log: async (l: string) => void lines.push(l),
    })) as BatchInferenceResult;
    expect(lines.filter((l) => l.includes('committed by an earlier attempt'))).toHaveLength(r.parts.length);
    expect(await Promise.all(r.parts.map(async (p) => (await t.platform.objects.stat!(p.key))!.version))).toEqual(
      stamps,
    );
    expect({ ...again, committedAt: '' }).toEqual({ ...r, committedAt: '' });
  });
});
