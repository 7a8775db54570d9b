/**
 * The model repository end to end: a notebook (a real tslab kernel, started headless by
 * jupyter_client as JupyterLab starts it) trains two models on example sets built from the demo
 * lake, publishes them, moves aliases through the gate (one move refused), and loads
 * 'ctr@production'; the control plane then loads the same version and must predict identically,
 * as must kernel-lib in this process. Then lifecycle rules (archive, delete, deployments), lineage
 * and the bad cases (feature service mismatch, missing or corrupted artifacts, gate refusals).
 * Needs the build (vitest's global setup) and the venv with JupyterLab and tslab (npm run test:all).
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePipelineDocument, connect, numericColumns, type Plinth } from '@plinth/kernel-lib';
import { PROBLEM_CONTENT_TYPE, type Evaluation, type ModelVersion, type Pipeline } from '@plinth/schema';
import { artifactKey } from '../repository/artifacts';
import { runTslabCell } from '../../../kernel-lib/src/pipeline/test-support/tslab';
import { http, jobOutcome, materializeAll, startTestPlatform, type TestPlatform } from '../test-support/platform';

const repo = path.resolve(__dirname, '../../..');

const FEATURES = ['user_features__user_ctr', 'product_features__product_ctr', 'product_features__price'];

/** The notebook: train, publish twice, gate the production alias, load it, predict on the holdout. */
const notebook = (url: string) => `
import * as plinth from '@plinth/kernel-lib';
const p = plinth.connect({ url: ${JSON.stringify(url)} });
const train = await p.loadExampleSet('ctr_train');
const holdout = await p.loadExampleSet('ctr_holdout');
const features = ${JSON.stringify(FEATURES)};
const good = await p.train({ data: train, validation: holdout, label: 'clicked', features, model: 'gbt',
  params: { numIterations: 30, numLeaves: 15 }, experiment: 'ctr', runName: 'gbt' });
const weak = await p.train({ data: train, label: 'clicked', features: ['product_features__price'],
  model: 'logisticRegression', experiment: 'ctr', runName: 'price only' });
const card = '# CTR\\n\\nPredicts P(click) of an impression. Trained on 3 weeks of demo clicks.';
const v1 = await p.publish('ctr', plinth.pipelineSpec('ctr', good), good,
  { referenceData: holdout, team: 'growth', owner: 'ds@example.com', modelCard: card, description: 'gbt on three features' });
const v2 = await p.publish('ctr', plinth.pipelineSpec('ctr', weak), weak, { referenceData: holdout, team: 'growth' });
await p.setAliasPolicy('ctr', 'production', { metric: 'auc', exampleSet: { name: 'ctr_holdout' }, maxRegression: 0.001 });
const first = await p.setAlias('ctr', 'production', v1.version, { reason: 'first model' });
let refused = '';
try {
  await p.setAlias('ctr', 'production', v2.version, { reason: 'cheaper model' });
} catch (e) {
  refused = (e as Error).message;
}
await p.setAlias('ctr', 'staging', v2.version, { reason: 'shadow the cheap model' });
await p.aliasHistory('ctr');
const prod = await p.loadPipeline('ctr@production');
const rows = holdout.slice(0, 300);
const inputs = Object.fromEntries(prod.spec.inputs.map((i) =>
  [i.name, Array.from(plinth.numericColumns(rows, [i.name])[0], (v) => (Number.isNaN(v) ? null : v))]));
const out = await prod.run(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.map((x) => x ?? NaN)])));
console.log('RESULT ' + JSON.stringify({
  v1: v1.version, v2: v2.version, prodVersion: prod.version?.version, run: good.run.id, gate: first.evaluation ?? null,
  refused, inputs, probability: Array.from(out.probability as ArrayLike<number>),
}));
`;

interface NotebookResult {
  v1: number;
  v2: number;
  prodVersion: number;
  run: string;
  gate: Evaluation | null;
  refused: string;
  inputs: Record<string, (number | null)[]>;
  probability: number[];
}

let tp: TestPlatform;
let p: Plinth;
let nb: NotebookResult;

const call = (method: string, route: string, body?: unknown) => http(tp.url, method, route, body);

function expectProblem(r: Awaited<ReturnType<typeof call>>, status: number, text?: RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.contentType).toContain(PROBLEM_CONTENT_TYPE);
  if (text) expect(JSON.stringify(r.body)).toMatch(text);
}

beforeAll(async () => {
  tp = await startTestPlatform({ applyDemo: true, inference: true });
  p = connect({ url: tp.url });
  await materializeAll(tp.client, ['user_features', 'product_features', 'clicks']);
  // Train on the first three weeks of labels, hold out the last week.
  const cut = new Date(Date.now() - 8 * 86_400_000).toISOString();
  for (const [name, range] of [
    ['ctr_train', { end: cut }],
    ['ctr_holdout', { start: cut }],
  ] as const) {
    const job = await jobOutcome(
      tp.client,
      (
        await tp.client.buildExampleSet({
          name,
          labelView: 'clicks',
          features: ['user_features:user_ctr', 'product_features:product_ctr', 'product_features:price'],
          ...range,
        })
      ).id,
    );
    expect(job.status, job.error ?? '').toBe('succeeded');
  }
}, 240_000);
afterAll(async () => tp?.close());

describe('model repository from a notebook', () => {
  it('publishes from a tslab notebook, gates the production alias, and the control plane predicts identically', async () => {
    const events = await runTslabCell(notebook(tp.url), repo);
    expect(events.filter((e) => e.type === 'error').map((e) => e.text)).toEqual([]);
    const out = events.map((e) => (e.type === 'stream' ? e.text : '')).join('');
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, out.slice(-2000)).toBeDefined();
    nb = JSON.parse(line!.slice('RESULT '.length)) as NotebookResult;
    expect([nb.v1, nb.v2]).toEqual([1, 2]);
    expect(nb.prodVersion).toBe(1);

    // The gate compared v1 with nothing (first move) and refused v2 (worse AUC on the holdout).
    expect(nb.gate).toMatchObject({ passed: true, baseline: null, metric: 'auc', candidate: { version: 1 } });
    expect(nb.refused).toMatch(/may not take alias 'production'.*auc .* is worse than version 1's/);
    const history = await tp.client.getAliasHistory('ctr');
    expect(history.items.map((e) => [e.alias, e.action, e.fromVersion, e.toVersion])).toEqual([
      ['production', 'set', null, 1],
      ['production', 'refused', 1, 2],
      ['staging', 'set', null, 2],
    ]);
    expect(history.items.map((e) => e.reason)).toEqual([
      'first model',
      expect.stringMatching(/^cheaper model \[gate: auc/),
      'shadow the cheap model',
    ]);
    const evaluations = (await tp.client.listModelEvaluations('ctr')).items;
    const refusal = evaluations.find((e) => e.candidate.version === 2)!;
    expect(refusal).toMatchObject({ passed: false, baseline: { version: 1 }, exampleSet: { name: 'ctr_holdout' } });
    expect(refusal.candidate.metrics.auc).toBeLessThan(refusal.baseline!.metrics.auc - 0.001);
    expect(history.items[1].evaluationId).toBe(refusal.id);
    expect((await tp.client.getModelVersion('ctr', 'production')).version).toBe(1);

    // The same version loaded by the control plane, and by kernel-lib here: identical numbers.
    const server = await tp.client.predictWithModelVersion('ctr', 'production', { inputs: nb.inputs });
    expect(server.version).toBe(1);
    expect(server.outputs.probability).toEqual(nb.probability);
    const local = await p.loadPipeline('ctr', 1);
    const cols = Object.fromEntries(Object.entries(nb.inputs).map(([k, v]) => [k, v.map((x) => x ?? NaN)]));
    expect(Array.from((await local.run(cols)).probability as ArrayLike<number>)).toEqual(nb.probability);
    expect(nb.probability.length).toBe(300);
  }, 600_000);

  it('keeps the metadata teams need on the version', async () => {
    const v = await tp.client.getModelVersion('ctr', 1);
    const es = await tp.client.getExampleSet('ctr_train');
    expect(v).toMatchObject({
      name: 'ctr',
      version: 1,
      status: 'ready',
      aliases: ['production'],
      team: 'growth',
      owner: 'ds@example.com',
      description: 'gbt on three features',
      run: { id: nb.run, experiment: 'ctr' },
      exampleSet: { name: 'ctr_train', version: es.version },
      exampleStore: { uri: es.location.uri },
      trainingConfig: { model: 'gbt', label: 'clicked' },
    });
    expect(v.modelId).toMatch(/^[0-9a-f-]{36}$/);
    expect(v.transformerId).toMatch(/^[0-9a-f]{64}$/);
    expect(v.modelCard).toMatch(/^# CTR/);
    expect(v.environment).toMatchObject({ node: process.version });
    expect(v.featureViews?.map((f) => f.name).sort()).toEqual(['product_features', 'user_features']);
    expect(Object.keys(v.metrics ?? {})).toContain('validation.auc');
    expect(v.referenceExamples?.outputs.probability.length).toBe(32);
    expect((await tp.client.getModelVersion('ctr', 'staging')).version).toBe(2);
    expect((await tp.client.getModelVersion('ctr', 'latest')).version).toBe(2);
    expectProblem(await call('GET', '/api/v1/models/ctr/versions/canary'), 404, /has no alias 'canary'/);
    expectProblem(await call('GET', '/api/v1/models/ctr/versions/9'), 404, /has no version 9/);
  });

  it('traces a version from lake sources to its deployments', async () => {
    await tp.client.deploy('ctr_live', { model: 'ctr', alias: 'production' });
    const l = await p.modelLineage('ctr@production');
    expect(l.model).toEqual({ name: 'ctr', version: 1 });
    expect(l.sources.map((s) => s.name).sort()).toEqual(expect.arrayContaining(['impressions']));
    expect(l.featureViews.map((f) => f.name).sort()).toEqual(['product_features', 'user_features']);
    expect(l.labelView).toBe('clicks');
    expect(l.exampleSet).toMatchObject({ name: 'ctr_train' });
    expect(l.run).toMatchObject({ id: nb.run, experiment: 'ctr', status: 'finished' });
    expect(l.aliases).toEqual(['production']);
    expect(l.deployments).toEqual([
      { deployment: 'ctr_live', endpoint: expect.stringMatching(/\/v1\/predict\/ctr_live$/) },
    ]);
    const d = await tp.client.getDeployment('ctr_live');
    expect(d).toMatchObject({ model: 'ctr', version: 1, alias: 'production' });
  });

  it('never archives or deletes what an alias or a deployment uses', async () => {
    expectProblem(await call('POST', '/api/v1/models/ctr/versions/1/archive', {}), 409, /alias 'production'/);
    expectProblem(await call('DELETE', '/api/v1/models/ctr/versions/2'), 409, /alias 'staging'/);
    await p.client.removeModelAlias('ctr', 'production', 'serving pinned by the deployment');
    // The deployment still serves v1: deleting or archiving it stays refused, naming the deployment.
    expectProblem(await call('DELETE', '/api/v1/models/ctr/versions/1'), 409, /deployment 'ctr_live'/);
    expectProblem(await call('POST', '/api/v1/models/ctr/versions/1/archive', {}), 409, /deployment 'ctr_live'/);
    await p.client.removeModelAlias('ctr', 'staging', 'cheap model rejected');
    const archived = await p.archiveVersion('ctr', 2, 'worse than v1');
    expect(archived).toMatchObject({ status: 'archived', archived: { by: 'local', reason: 'worse than v1' } });
    // Archived: still loadable by number, but no alias or deployment may take it.
    expect((await p.loadPipeline('ctr@2')).version?.version).toBe(2);
    expectProblem(
      await call('PUT', '/api/v1/models/ctr/aliases/staging', { version: 2, reason: 'again' }),
      409,
      /archived/,
    );
    expectProblem(await call('PUT', '/api/v1/deployments/ctr_cheap', { model: 'ctr', version: 2 }), 409, /archived/);
    await tp.client.unarchiveModelVersion('ctr', 2);
    await tp.client.deleteModelVersion('ctr', 2);
    expectProblem(await call('GET', '/api/v1/models/ctr/versions/2'), 404, /deleted/);
    expect((await tp.client.listModelVersions('ctr')).items.map((v) => v.version)).toEqual([1]);
    // Version numbers are never reused, and the deployment kept serving v1 throughout.
    expect((await tp.client.getDeployment('ctr_live')).version).toBe(1);
    const history = (await tp.client.getAliasHistory('ctr', 'staging')).items;
    expect(history.map((e) => e.action)).toEqual(['set', 'removed']);
  });

  it('refuses bad publishes and alias moves, leaving nothing half-done', async () => {
    const v1 = await tp.client.getModelVersion('ctr', 1);
    const before = (await tp.client.listModelVersions('ctr')).items.length;
    const body = { pipeline: v1.pipeline, artifact: v1.artifact };
    await tp.client.applyDefinitions({
      featureServices: [{ name: 'ctr_service', features: ['user_features:user_ctr', 'product_features:product_ctr'] }],
    });
    const fs1 = await tp.client.getFeatureService('ctr_service');
    const mismatch = await call('POST', '/api/v1/models/ctr/versions', {
      ...body,
      featureService: { name: 'ctr_service', version: fs1.version },
    });
    expectProblem(mismatch, 422, /reads product_features:price, which feature service 'ctr_service' does not serve/);
    expect(mismatch.pointers).toContain('/pipeline/inputs/2/source');
    const missing = crypto.createHash('sha256').update('never uploaded').digest('hex');
    const r = await call('POST', '/api/v1/models/ctr/versions', { ...body, manifest: { sha256: missing, bytes: 10 } });
    expectProblem(r, 422, /has not been uploaded/);
    expect(r.pointers).toEqual(['/manifest/sha256']);
    expectProblem(
      await call('POST', '/api/v1/models/ctr/versions', { ...body, run: { id: 'no-such-run' } }),
      422,
      /run 'no-such-run' does not exist/,
    );
    expect((await tp.client.listModelVersions('ctr')).items.length).toBe(before);

    expectProblem(await call('PUT', '/api/v1/models/ctr/aliases/latest', { version: 1, reason: 'x' }), 400, /alias/);
    expectProblem(await call('PUT', '/api/v1/models/ctr/aliases/prod', { version: 1 }), 400, /reason/);
    expectProblem(await call('PUT', '/api/v1/models/ctr/aliases/prod', { version: 7, reason: 'x' }), 404);
    expectProblem(
      await call('PUT', '/api/v1/models/ctr/aliases/production/policy', {
        metric: 'auc',
        exampleSet: { name: 'nope' },
      }),
      422,
      /example set nope does not exist/,
    );
    expectProblem(await call('PUT', '/api/v1/models/ctr/aliases/production/policy', { metric: 'speed' }), 400);
    expectProblem(
      await call('POST', '/api/v1/models/ctr/versions/1/predict', { inputs: { nope: [1] } }),
      400,
      /is not an input of ctr@1/,
    );
  });

  it('the CLI shows versions, history and lineage, moves aliases, and exits non-zero on refusals', async () => {
    const bin = path.resolve(__dirname, '../../bin/plinth.js');
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [bin, ...args, '--control-plane', tp.url]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const versions = await cli(['models', 'versions', 'ctr']);
    expect(versions.code, versions.stderr).toBe(0);
    expect(versions.stdout).toMatch(
      /^version\s+status\s+created\s+by\s+aliases\s+deployments\s+run\n1\s+ready\s.*ctr_live/,
    );
    const moved = await cli([
      'models',
      'alias',
      'ctr',
      'canary',
      '1',
      '--reason',
      'canary on v1',
      '--holdout',
      'ctr_holdout',
    ]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /ctr@canary -> version 1\ngate: auc 0\.\d+ vs \(no incumbent\) on ctr_holdout@1 \(\d+ rows\): passed/,
    );
    const history = await cli(['models', 'history', 'ctr', '--alias', 'canary']);
    expect(history.stdout).toMatch(/canary\s+set\s+-\s+1\s+local\s+canary on v1/);
    const lineage = await cli(['models', 'lineage', 'ctr@canary']);
    expect(lineage.stdout).toMatch(
      /feature view\s+product_features@1[\s\S]*example set\s+ctr_train@1[\s\S]*deployment\s+ctr_live/,
    );
    const refused = await cli(['models', 'alias', 'ctr', 'canary', '99', '--reason', 'x']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/model ctr has no version 99/);
    const deleted = await cli(['models', 'delete', 'ctr', '1']);
    expect(deleted.code).not.toBe(0);
    expect(deleted.stderr).toMatch(/alias 'canary' and deployment 'ctr_live' use it/);
  });

  it('serves request-time string features and a post-processor the same on the server and in kernel-lib', async () => {
    // country arrives with the request; the threshold post-processor names the decision.
    const pipeline: Pipeline = {
      name: 'signup',
      inputs: [
        { name: 'age', source: { kind: 'request' }, type: 'float64', default: 35 },
        { name: 'country', source: { kind: 'request' }, type: 'string', categories: ['de', 'fr', 'us'], default: 'us' },
      ],
      transformer: [],
      model: {
        kind: 'logisticRegression',
        featureNames: ['age', 'country'],
        coefficients: [-0.05, 0.9],
        intercept: 0.4,
      },
      postprocessor: { kind: 'threshold', threshold: 0.5, labels: ['skip', 'email'] },
      outputs: [
        { name: 'probability', type: 'float32' },
        { name: 'decision', type: 'string' },
      ],
    };
    const { onnx, manifest } = compilePipelineDocument(pipeline);
    const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await tp.client.putArtifact(sha(onnx), onnx);
    await tp.client.putArtifact(sha(manifestBytes), manifestBytes);
    const artifact = { sha256: sha(onnx), bytes: onnx.length, format: 'onnx' as const };
    // A manifest of another graph is refused.
    const other = Buffer.from(JSON.stringify({ ...manifest, onnx: { ...manifest.onnx, sha256: 'f'.repeat(64) } }));
    await tp.client.putArtifact(sha(other), other);
    const wrong = await call('POST', '/api/v1/models/signup/versions', {
      pipeline,
      artifact,
      manifest: { sha256: sha(other), bytes: other.length },
    });
    expectProblem(wrong, 422, /describes graph f{64}, not the artifact/);
    // So is a document the compiler rejects, named by pointer under /pipeline.
    const bad = await call('POST', '/api/v1/models/signup/versions', {
      pipeline: { ...pipeline, postprocessor: { kind: 'topK', k: 2 } },
      artifact,
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect(JSON.stringify(bad.body)).toMatch(/\/pipeline\/(postprocessor|outputs)/);
    await tp.client.publishModelVersion('signup', {
      pipeline,
      artifact,
      manifest: { sha256: sha(manifestBytes), bytes: manifestBytes.length },
    });
    await tp.client.moveModelAlias('signup', 'production', { version: 1, reason: 'first' });
    const inputs = { age: [20, 70, null, 41], country: ['fr', 'de', 'xx', null] };
    const server = await tp.client.predictWithModelVersion('signup', 'production', { inputs });
    // kernel-lib's predict assembles instances as the inference tier does (defaults for missing values).
    const local = await (
      await p.loadPipeline('signup@production')
    ).predict(inputs.age.map((age, i) => ({ age, country: inputs.country[i] })));
    expect(server.outputs.decision).toEqual(local.map((r) => r.outputs.decision));
    expect(server.outputs.probability).toEqual(local.map((r) => r.outputs.probability));
    expect(local[2].featureStatuses).toEqual({ age: 'default', country: 'request' });
    expect(server.outputs.probability[2]).not.toBeNull();
    expect(new Set(server.outputs.decision)).toEqual(new Set(['skip', 'email']));
    expectProblem(
      await call('POST', '/api/v1/models/signup/versions/production/predict', { inputs: { age: [1], country: [3] } }),
      400,
      /must be a string/,
    );
  });

  it('refuses to load a corrupted artifact, on the server and in kernel-lib', async () => {
    const v1: ModelVersion = await tp.client.getModelVersion('ctr', 1);
    const file = tp.platform.objects.localPath(artifactKey(v1.artifact.sha256))!;
    const good = fs.readFileSync(file);
    fs.writeFileSync(file, Buffer.concat([good, Buffer.from('x')]));
    try {
      expectProblem(
        await call('POST', '/api/v1/models/ctr/versions/1/predict', { inputs: nb.inputs }),
        409,
        /Artifact corrupted/,
      );
      await expect(p.loadPipeline('ctr@1')).rejects.toThrow(/corrupted/);
    } finally {
      fs.writeFileSync(file, good);
    }
    const again = await tp.client.predictWithModelVersion('ctr', 1, { inputs: nb.inputs });
    expect(again.outputs.probability).toEqual(nb.probability);
    expect(numericColumns).toBeTypeOf('function');
  });
});

describe('publishing from a run', () => {
  it("publishes the run's model file with the run's lineage, predicting exactly as the notebook's version", async () => {
    const v = await p.publishRun('ctr', nb.run, { description: 'republished from the gbt run' });
    // v2 was deleted: its number is not reused.
    expect(v.version).toBe(3);
    const v1 = await tp.client.getModelVersion('ctr', 1);
    expect(v).toMatchObject({ run: { id: nb.run }, exampleSet: v1.exampleSet, transformerId: v1.transformerId });
    expect(v.pipeline.inputs).toEqual(v1.pipeline.inputs);
    expect(v.metrics?.['validation.auc']).toBe(v1.metrics?.['validation.auc']);
    const out = await tp.client.predictWithModelVersion('ctr', 3, { inputs: nb.inputs });
    expect(out.outputs.probability).toEqual(nb.probability);
    await expect(p.publishRun('ctr', '00000000-0000-4000-8000-000000000000')).rejects.toThrow(/does not exist/);

    const bin = path.resolve(__dirname, '../../bin/plinth.js');
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [bin, ...args, '--control-plane', tp.url]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const published = await cli(['models', 'publish', 'ctr', '--run', nb.run, '--team', 'growth']);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toBe(`published ctr@4 from run ${nb.run}\n`);
    const card = await cli(['models', 'card', 'ctr@1']);
    expect(card.stdout).toMatch(/^# CTR/);
  });
});
