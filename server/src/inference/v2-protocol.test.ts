import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CONTENT_TYPE, type PredictResponse } from '@plinth/schema';
import { http, type TestPlatform } from '../test-support/platform';
import { startCtrFixture } from '../test-support/ctr-fixture';
import { testPython } from '../test-support/s3';

/**
 * The Open Inference Protocol v2, driven by Triton's own Python client (tritonclient[http]):
 * binary tensors (its default) and JSON, metadata, readiness, versions, and its errors. The
 * probabilities must equal the JSON predict route's for the same entities.
 */
let t: TestPlatform;
let inferUrl: string;
let instances: { user_id: number; product_id: number }[];

beforeAll(async () => {
  const f = await startCtrFixture({}, 12);
  ({ t, instances } = f);
  inferUrl = t.infer!.url;
  const v = await f.publish(1.0);
  await f.p.deploy('ctr', { model: 'ctr', version: v.version });
});
afterAll(async () => {
  await t?.close();
});

interface Inferred {
  probability: number[];
  dtype: string;
  shape: number[];
  response: { model_name: string; model_version: string; parameters: { variant: string; prediction_ids: string } };
}
type Failed = { error: number; message: string };

async function runClient(): Promise<Record<string, unknown>> {
  const job = {
    url: inferUrl.replace('http://', ''),
    model: 'ctr',
    version: '1',
    keys: { user_id: instances.map((i) => i.user_id), product_id: instances.map((i) => i.product_id) },
  };
  const child = promisify(execFile)(testPython(), [path.join(__dirname, '..', 'test-support', 'v2_client.py')], {
    timeout: 60_000,
  });
  child.child.stdin!.end(JSON.stringify(job));
  return JSON.parse((await child).stdout) as Record<string, unknown>;
}

describe('Open Inference Protocol v2 with tritonclient', () => {
  it('answers health, metadata and infer, binary and JSON, equal to the JSON route', async () => {
    const r = await runClient();
    expect(r).toMatchObject({
      live: true,
      ready: true,
      modelReady: true,
      versionReady: true,
      unknownModelReady: false,
    });
    expect(r.server).toMatchObject({ name: 'plinth-inference', extensions: ['binary_tensor_data'] });
    expect(r.metadata).toMatchObject({
      name: 'ctr',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'user_id', datatype: 'INT64', shape: [-1] },
        { name: 'product_id', datatype: 'INT64', shape: [-1] },
      ],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1] }],
    });

    const json = (await http(inferUrl, 'POST', '/v1/predict/ctr', { instances })).body as PredictResponse;
    const expected = json.predictions.map((p) => p.outputs.probability as number);
    for (const key of ['binary', 'json', 'version']) {
      const got = r[key] as Inferred;
      expect(got.dtype, key).toBe('float32');
      expect(got.shape, key).toEqual([instances.length]);
      // Same graph, same features: float32 values identical.
      got.probability.forEach((v, i) => expect(Math.abs(v - expected[i]), `${key} ${i}`).toBeLessThan(1e-7));
      expect(got.response).toMatchObject({ model_name: 'ctr', model_version: '1', parameters: { variant: 'primary' } });
      expect(got.response.parameters.prediction_ids.split(',')).toHaveLength(instances.length);
    }

    const failed = (k: string) => r[k] as Failed;
    expect(failed('unknownModel').error).toBe('404');
    expect(failed('unknownModel').message).toMatch(/no deployment named 'no_such_model'/);
    expect(failed('unknownVersion').error).toBe('404');
    expect(failed('unknownVersion').message).toMatch(/version 999/);
    expect(failed('unknownInput').error).toBe('400');
    expect(failed('unknownInput').message).toMatch(/unknown input 'colour'/);
    expect(failed('missingKey').error).toBe('400');
    expect(failed('missingKey').message).toMatch(/input 'product_id' is missing/);
    expect(failed('unknownOutput').error).toBe('400');
    expect(failed('unknownOutput').message).toMatch(/unknown output "nope"/);
    expect(r.liveAfter).toBe(true);
  });

  it('names what is wrong in malformed requests with a 4xx, never a 5xx', async () => {
    const infer = (body: string | Buffer, headers: Record<string, string> = {}) =>
      http(inferUrl, 'POST', '/v2/models/ctr/infer', body, { 'content-type': 'application/json', ...headers });
    const tensor = (over: Record<string, unknown>) =>
      JSON.stringify({
        inputs: [
          { name: 'user_id', shape: [1], datatype: 'INT64', data: [instances[0].user_id] },
          { name: 'product_id', shape: [1], datatype: 'INT64', data: [instances[0].product_id], ...over },
        ],
      });
    const cases: [string, string | Buffer, Record<string, string>, number, RegExp][] = [
      ['unparseable JSON', '{"inputs": [', {}, 400, /not valid JSON/],
      ['no inputs', '{}', {}, 400, /inputs must be a non-empty list/],
      ['a shape that does not match the data', tensor({ shape: [2] }), {}, 400, /needs 2 values, got 1/],
      ['a 3-d shape', tensor({ shape: [1, 1, 1] }), {}, 400, /shape must be \[N\] or \[N, 1\]/],
      ['an unknown datatype', tensor({ datatype: 'COMPLEX' }), {}, 400, /unknown datatype .*COMPLEX/],
      ['rows that differ between inputs', tensor({ shape: [2], data: [1, 2] }), {}, 400, /has 2 rows, other inputs 1/],
      ['a string where a key is an integer', tensor({ datatype: 'BYTES', data: ['seven'] }), {}, 400, /product_id/],
      [
        'binary data past the body',
        tensor({ parameters: { binary_data_size: 800 }, data: undefined }),
        {},
        400,
        /runs past the body/,
      ],
      [
        'a header length beyond the body',
        '{}',
        { 'inference-header-content-length': '999' },
        400,
        /not within the body/,
      ],
    ];
    for (const [what, body, headers, status, re] of cases) {
      const r = await infer(body, headers);
      expect(r.status, what).toBe(status);
      expect(r.contentType, what).toContain(PROBLEM_CONTENT_TYPE);
      expect(JSON.stringify(r.body), what).toMatch(re);
    }
    expect((await http(inferUrl, 'GET', '/v2/models/nope')).status).toBe(404);
    expect((await http(inferUrl, 'GET', '/v2/models/ctr/versions/7')).status).toBe(404);
    expect((await http(inferUrl, 'GET', '/v2/models/ctr/versions/7/ready')).status).toBe(404);
    // And it still serves.
    const ok = await infer(tensor({}));
    expect(ok.status).toBe(200);
    expect((ok.body as { outputs: { name: string; data: number[] }[] }).outputs[0].data).toHaveLength(1);
  });

  it('takes the features themselves as tensors, skipping the online read', async () => {
    const mv = await t.client.getModelVersion('ctr', 1);
    const json = (await http(inferUrl, 'POST', '/v1/predict/ctr', { instances: instances.slice(0, 1) }))
      .body as PredictResponse;
    const ref = mv.referenceExamples as { inputs: Record<string, (number | null)[]> };
    const inputs = mv.pipeline.inputs.map((i) => ({
      name: i.name,
      shape: [1],
      datatype: 'FP64',
      data: [ref.inputs[i.name][0]],
    }));
    const r = await http(inferUrl, 'POST', '/v2/models/ctr/infer', { inputs });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const refOut = (mv.referenceExamples as { outputs: { probability: number[] } }).outputs.probability[0];
    const got = (r.body as { outputs: { data: number[] }[] }).outputs[0].data[0];
    expect(Math.abs(got - refOut)).toBeLessThan(1e-6);
    expect(json.predictions).toHaveLength(1);
  });
});
