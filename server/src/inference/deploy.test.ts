import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, ModelVersion, PredictResponse } from '@plinth/schema';
import { assembleInputs, onlineRefs, type Plinth } from '@plinth/kernel-lib';
import { http, type TestPlatform } from '../test-support/platform';
import { startCtrFixture } from '../test-support/ctr-fixture';
import { OfflineEngine, literal } from '../offline/duckdb';

/**
 * Deploying for real: the sanity test runs on the inference tier, stale or unmaterialized
 * features refuse a deploy, traffic switches when the control plane says so (notified, not
 * polled: the tier polls once a minute here), rollback, canary and shadow, the deployment
 * history, the prediction log in the offline store, and /metrics.
 */
let t: TestPlatform;
let p: Plinth;
let inferUrl: string;
let v1: ModelVersion;
let v2: ModelVersion;
let instances: { user_id: number; product_id: number }[];

const predict = async (name: string, body: unknown) => {
  const r = await http(inferUrl, 'POST', `/v1/predict/${name}`, body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as PredictResponse;
};

/** Waits until the tier serves `version` for `name` (and nothing else), returning how long it took. */
async function servedWithin(name: string, version: number, extra?: (m: Record<string, unknown>) => boolean) {
  const started = Date.now();
  for (;;) {
    const h = (await http(inferUrl, 'GET', '/v1/health')).body as { models: Record<string, unknown>[] };
    const m = h.models.find((x) => x.deployment === name);
    if (m && m.version === version && (!extra || extra(m))) return Date.now() - started;
    if (Date.now() - started > 10_000) throw new Error(`${name} not serving v${version}: ${JSON.stringify(h)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const dataDir = () => t.config.dataDir;

beforeAll(async () => {
  // pollMs of a minute: anything faster than that came through the control plane's notification.
  const f = await startCtrFixture({ pollMs: 60_000, inferenceOptions: { predictionLog: { flushMs: 60_000 } } });
  ({ t, p, instances } = f);
  inferUrl = t.infer!.url;
  v1 = await f.publish(1.0);
  v2 = await f.publish(0.001);
});
afterAll(async () => {
  await t?.close();
});

describe('deploy', () => {
  it('runs the sanity test on the inference tier and switches traffic by notification', async () => {
    const d = await t.client.deploy('ctr', { model: 'ctr', version: v1.version, reason: 'first release' });
    expect(d).toMatchObject({ name: 'ctr', model: 'ctr', version: 1, action: 'deploy', reason: 'first release' });
    expect(d.sanity).toMatchObject({ examples: 32, tier: inferUrl });
    expect(d.sanity!.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(d.freshness!.map((f) => f.view).sort()).toEqual(['product_features', 'user_features']);
    for (const f of d.freshness!) {
      expect(f.onlineEntities).toBeGreaterThan(0);
      expect(f.ageSeconds).toBeGreaterThan(0);
    }
    // Far below the one-minute poll: the tier was told.
    expect(await servedWithin('ctr', 1)).toBeLessThan(3000);
    const r = await predict('ctr', { instances: instances.slice(0, 3) });
    expect(r).toMatchObject({ deployment: 'ctr', version: 1, variant: 'primary' });

    await t.client.deploy('ctr', { model: 'ctr', version: v2.version });
    expect(await servedWithin('ctr', 2)).toBeLessThan(3000);
    const local = await (await p.loadPipeline('ctr', 2)).predict(instances);
    const served = await predict('ctr', { instances });
    served.predictions.forEach((x, i) =>
      expect(Math.abs((x.outputs.probability as number) - (local[i].outputs.probability as number))).toBeLessThan(1e-6),
    );
  });

  it('refuses a version whose reference examples do not replay, and keeps serving the old one', async () => {
    const mv = await t.client.getModelVersion('ctr', v1.version);
    const ref = structuredClone(mv.referenceExamples) as { outputs: Record<string, number[]> };
    ref.outputs.probability = ref.outputs.probability.map((x, i) => (i === 3 ? x + 0.01 : x));
    const bad = await t.client.publishModelVersion('ctr', {
      pipeline: mv.pipeline,
      artifact: mv.artifact,
      manifest: mv.manifest,
      exampleSet: mv.exampleSet,
      referenceExamples: ref as ModelVersion['referenceExamples'],
    });
    const r = await http(t.url, 'PUT', '/api/v1/deployments/ctr', { model: 'ctr', version: bad.version });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ title: 'Sanity test failed' });
    expect((r.body as { detail: string }).detail).toMatch(/1 mismatch\(es\) beyond tolerance: 'probability'\[3\]/);
    expect((await t.client.getDeployment('ctr')).version).toBe(2);
  });

  it('refuses features older than the limit, naming the view', async () => {
    const r = await http(t.url, 'PUT', '/api/v1/deployments/ctr', {
      model: 'ctr',
      version: v1.version,
      maxStalenessSeconds: 60,
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ title: 'Online features stale' });
    expect((r.body as { detail: string }).detail).toMatch(
      /feature view (user|product)_features@1: newest materialized event .* over the limit of 60 s/,
    );
  });

  it('answers bad deploy requests with a 4xx naming the field', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ model: 'ctr', version: 1, mode: 'canary' }, 400, /share/],
      [{ model: 'ctr', version: 1, share: 0.5 }, 400, /share/],
      [{ model: 'ctr', version: 1, mode: 'canary', share: 1.5 }, 400, /share/],
      [{ model: 'ctr', version: 99 }, 404, /99/],
      [{ model: 'ctr', version: 2, mode: 'canary', share: 0.2 }, 409, /already serves/],
      [{ model: 'nope', version: 1, mode: 'shadow' }, 404, /nope/],
    ];
    for (const [body, status, re] of cases) {
      const r = await http(t.url, 'PUT', '/api/v1/deployments/ctr', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(JSON.stringify(r.body), JSON.stringify(body)).toMatch(re);
    }
    expect(
      (await http(t.url, 'PUT', '/api/v1/deployments/fresh', { model: 'ctr', version: 1, mode: 'shadow' })).status,
    ).toBe(409);
  });
});

describe('rollback, canary, shadow, history', () => {
  it('rolls back to the version served before, in one call', async () => {
    const d = await t.client.rollbackDeployment('ctr', { reason: 'v2 underperforms' });
    expect(d).toMatchObject({ version: 1, action: 'rollback', reason: 'v2 underperforms' });
    await servedWithin('ctr', 1);
    expect((await predict('ctr', { instances: instances.slice(0, 1) })).version).toBe(1);
  });

  it('sends a canary its share of requests, then promotes it', async () => {
    await t.client.deploy('ctr', { model: 'ctr', version: v2.version, mode: 'canary', share: 0.3 });
    await servedWithin('ctr', 1, (m) => (m.canary as { version?: number } | undefined)?.version === 2);
    const versions = { primary: 0, canary: 0 };
    const local1 = await (await p.loadPipeline('ctr', 1)).predict(instances.slice(0, 1));
    const local2 = await (await p.loadPipeline('ctr', 2)).predict(instances.slice(0, 1));
    for (let i = 0; i < 300; i++) {
      const r = await predict('ctr', { instances: instances.slice(0, 1) });
      versions[r.variant as 'primary' | 'canary']++;
      // The variant that answered is the version that answered, with its own numbers.
      expect(r.version).toBe(r.variant === 'canary' ? 2 : 1);
      const want = (r.variant === 'canary' ? local2 : local1)[0].outputs.probability as number;
      expect(Math.abs((r.predictions[0].outputs.probability as number) - want)).toBeLessThan(1e-6);
    }
    // 300 draws at 30%: 90 expected, and [55, 125] holds with overwhelming probability.
    expect(versions.canary).toBeGreaterThan(55);
    expect(versions.canary).toBeLessThan(125);
    const promoted = await t.client.promoteCanary('ctr');
    expect(promoted).toMatchObject({ version: 2, action: 'promote' });
    expect(promoted.canary).toBeUndefined();
    await servedWithin('ctr', 2, (m) => m.canary === undefined);
  });

  it('runs a shadow on copies of requests, answering none, logging its outputs', async () => {
    await t.client.deploy('ctr', { model: 'ctr', version: v1.version, mode: 'shadow' });
    await servedWithin('ctr', 2, (m) => (m.shadow as { version?: number } | undefined)?.version === 1);
    const r = await predict('ctr', { instances: instances.slice(0, 5) });
    expect(r).toMatchObject({ version: 2, variant: 'primary' });
    await new Promise((res) => setTimeout(res, 200));
    await t.infer!.server.predictionLog!.flush();
    const rows = await readLog("variant = 'shadow'");
    expect(rows).toHaveLength(5);
    const local1 = await (await p.loadPipeline('ctr', 1)).predict(instances.slice(0, 5));
    for (const row of rows) {
      expect(row.version).toBe(1);
      const entity = JSON.parse(row.entity as string) as (typeof instances)[number];
      const i = instances.findIndex((x) => x.user_id === entity.user_id && x.product_id === entity.product_id);
      expect(i).toBeGreaterThanOrEqual(0);
      const out = JSON.parse(row.outputs as string) as { probability: number };
      expect(Math.abs(out.probability - (local1[i].outputs.probability as number))).toBeLessThan(1e-6);
    }
    const ended = await t.client.rollbackDeployment('ctr', { reason: 'shadow done' });
    expect(ended.shadow).toBeUndefined();
    expect(ended.version).toBe(2);
  });

  it('keeps every state in the history, newest first, with who and why', async () => {
    const { items } = await t.client.deploymentHistory('ctr');
    expect(
      items.map((h) => [
        h.deployment.action,
        h.deployment.version,
        h.deployment.canary?.version ?? null,
        h.deployment.shadow?.version ?? null,
      ]),
    ).toEqual([
      ['rollback', 2, null, null],
      ['shadow', 2, null, 1],
      ['promote', 2, null, null],
      ['canary', 1, 2, null],
      ['rollback', 1, null, null],
      ['deploy', 2, null, null],
      ['deploy', 1, null, null],
    ]);
    expect(items[0].live).toBe(true);
    expect(items.slice(1).every((h) => !h.live)).toBe(true);
    expect(items.at(-1)!.deployment.reason).toBe('first release');
    expect((await http(t.url, 'GET', '/api/v1/deployments/nope/history')).status).toBe(404);
    expect((await http(t.url, 'POST', '/api/v1/deployments/nope/rollback', {})).status).toBe(404);
  });
});

/** Rows of the prediction log of deployment ctr, oldest first. */
async function readLog(where = 'true'): Promise<Record<string, unknown>[]> {
  const dir = path.join(dataDir(), 'objects', 'prediction-log', 'ctr');
  if (!fs.existsSync(dir)) return [];
  const engine = await OfflineEngine.create({ threads: 1 });
  try {
    // union_by_name: versions with other inputs have other fields in `features`, as docs/deployments.md says.
    return await engine.rows(
      `SELECT * FROM read_parquet(${literal(`${dir}/*/*.parquet`)}, hive_partitioning = true, union_by_name = true) WHERE ${where} ORDER BY ts, prediction_id`,
    );
  } finally {
    engine.close();
  }
}

describe('prediction log and metrics', () => {
  it('logs every prediction with its id, version, entity, features and outputs', async () => {
    const before = (await readLog("variant = 'primary'")).length;
    const r = await predict('ctr', { instances: instances.slice(0, 7), experiment: 'exp_42' });
    expect(r.experiment).toBe('exp_42');
    await t.infer!.server.predictionLog!.flush();
    const rows = await readLog("variant = 'primary'");
    expect(rows.length).toBe(before + 7);
    const mine = rows.filter((x) => x.experiment === 'exp_42');
    const online = await p.client.getOnlineFeatures({
      features: onlineRefs(v2.pipeline.inputs).map((x) => `${x.view}:${x.feature}`),
      entities: { user_id: instances.map((x) => x.user_id), product_id: instances.map((x) => x.product_id) },
    });
    const fed = assembleInputs(v2.pipeline.inputs, online.rows, instances);
    expect(mine.map((x) => x.prediction_id).sort()).toEqual(r.predictions.map((x) => x.predictionId).sort());
    for (const row of mine) {
      const i = r.predictions.findIndex((x) => x.predictionId === row.prediction_id);
      expect(row).toMatchObject({ deployment: 'ctr', model: 'ctr', version: 2 });
      expect(JSON.parse(row.entity as string)).toEqual(instances[i]);
      expect(JSON.parse(row.outputs as string)).toEqual(r.predictions[i].outputs);
      // The features as the graph was fed them: the notebook's assembly of the same online rows.
      const features = row.features as Record<string, number | string | null>;
      expect(Object.keys(features).sort()).toEqual(v2.pipeline.inputs.map((x) => x.name).sort());
      for (const [name, column] of Object.entries(fed.columns)) {
        const want = column[i];
        expect(features[name], name).toEqual(typeof want === 'number' && Number.isNaN(want) ? null : want);
      }
      expect(row.latency_ms).toBeGreaterThan(0);
    }
  });

  it('batches concurrent requests and answers each with its own rows', async () => {
    const local = await (await p.loadPipeline('ctr', 2)).predict(instances);
    const answers = await Promise.all(instances.map((x) => predict('ctr', { instances: [x] })));
    answers.forEach((a, i) =>
      expect(
        Math.abs((a.predictions[0].outputs.probability as number) - (local[i].outputs.probability as number)),
      ).toBeLessThan(1e-6),
    );
    const text = (await http(inferUrl, 'GET', '/metrics')).body as string;
    const count = Number(/plinth_inference_batch_size_count\{model="ctr",version="2"\} (\d+)/.exec(text)?.[1]);
    const sum = Number(/plinth_inference_batch_size_sum\{model="ctr",version="2"\} (\d+)/.exec(text)?.[1]);
    // Some of the 60 concurrent single-instance requests shared a run.
    expect(sum / count).toBeGreaterThan(1);
    expect(text).toMatch(
      /plinth_inference_requests_total\{deployment="ctr",model="ctr",version="2",protocol="json",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /plinth_inference_request_duration_seconds_bucket\{le="0.01",deployment="ctr",model="ctr",version="2"\} \d+/,
    );
    expect(text).toMatch(/plinth_prediction_log_dropped_total 0/);
  });

  it('counts client errors per deployment and keeps serving', async () => {
    const bad = await http(inferUrl, 'POST', '/v1/predict/ctr', { instances: [{ user_id: 'x', product_id: 1 }] });
    expect(bad.status).toBe(400);
    const text = (await http(inferUrl, 'GET', '/metrics')).body as string;
    expect(text).toMatch(
      /plinth_inference_errors_total\{deployment="ctr",model="ctr",version="2",kind="client"\} [1-9]/,
    );
    expect((await predict('ctr', { instances: instances.slice(0, 1) })).version).toBe(2);
  });
});

describe('deployments listed with a watch', () => {
  it('answers a watch at once when the revision differs, and waits when it does not', async () => {
    const first = (await http(t.url, 'GET', '/api/v1/deployments?watch=&waitSeconds=5')).body as {
      revision: string;
      items: Deployment[];
    };
    expect(first.items.map((d) => d.name)).toContain('ctr');
    const started = Date.now();
    const same = (await http(t.url, 'GET', `/api/v1/deployments?watch=${first.revision}&waitSeconds=1`)).body as {
      revision: string;
    };
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(same.revision).toBe(first.revision);
  });
});
