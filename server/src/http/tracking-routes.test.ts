/**
 * Run tracking through the control plane's HTTP API and kernel-lib: a training recorded by
 * `Plinth.train` (parameters, metrics by step, model file artifact, example-set lineage),
 * searching and paging, and the bad cases (4xx naming the field, nothing half-written).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, EXAMPLE_SET_KEY, loadModelFile, type Plinth } from '@plinth/kernel-lib';
import type { Run } from '@plinth/schema';
import { http, startTestPlatform, type TestPlatform } from '../test-support/platform';

/** Two noisy classes, deterministic. */
function table(n: number, seed: number, exampleSet?: { name: string; version: number }) {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rand() * 4 - 2;
    b[i] = rand() * 4 - 2;
    y[i] = a[i] + 0.5 * b[i] + (rand() - 0.5) > 0 ? 1 : 0;
  }
  const t = tableFromArrays({ a, b, y });
  if (exampleSet) t.schema.metadata.set(EXAMPLE_SET_KEY, JSON.stringify(exampleSet));
  return t;
}

describe('run tracking', () => {
  let tp: TestPlatform;
  let p: Plinth;
  beforeAll(async () => {
    tp = await startTestPlatform();
    p = connect({ url: tp.url });
  }, 120_000);
  afterAll(async () => tp?.close());

  it('Plinth.train records the run: parameters, metrics by step, the model file, source and environment', async () => {
    const r = await p.train({
      data: table(2000, 1),
      validation: table(500, 2),
      label: 'y',
      features: ['a', 'b'],
      model: 'gbt',
      params: { numIterations: 25, numLeaves: 7 },
      experiment: 'ctr',
      runName: 'gbt small',
      tags: { team: 'growth' },
      display: false,
    });
    const run = await tp.client.getRun(r.run.id);
    expect(run).toMatchObject({ experiment: 'ctr', name: 'gbt small', status: 'finished', tags: { team: 'growth' } });
    expect(run.params).toMatchObject({ model: 'gbt', task: 'binary', label: 'y', numIterations: '25', numLeaves: '7' });
    expect(run.params.features).toBe('["a","b"]');
    expect(run.metrics['validation.auc'].value).toBeCloseTo(r.metrics.validation!.auc!, 12);
    expect(run.metrics['validation.auc'].step).toBe(25);
    const loss = await tp.client.getMetricHistory(run.id, 'validation.loss');
    expect(loss.points.map((q) => q.step)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(loss.points.map((q) => q.value)).toEqual(r.history!.map((h) => h.validLoss));
    expect(run.source?.host).toBeTruthy();
    expect(run.environment).toMatchObject({ node: process.version });
    expect(Date.parse(run.endTime!)).toBeGreaterThanOrEqual(Date.parse(run.startTime));
    // The model file artifact is stored content-addressed and reloads as the same model.
    const [artifact] = run.artifacts;
    expect(artifact.path).toBe('model/model.plinth.json');
    const bytes = await tp.client.getArtifact(artifact.sha256);
    expect(bytes.length).toBe(artifact.bytes);
    const file = JSON.parse(new TextDecoder().decode(bytes)) as { model: unknown; metadata?: Record<string, string> };
    expect(file.model).toEqual(r.model);
    expect(file.metadata?.run).toBe(run.id);
    expect(typeof loadModelFile).toBe('function');
  });

  it('a training that fails leaves a failed run with the error', async () => {
    await expect(
      p.train({
        data: table(100, 3),
        label: 'nope',
        features: ['a', 'b'],
        experiment: 'ctr',
        runName: 'broken',
        display: false,
      }),
    ).rejects.toThrow(/nope/);
    const { items } = await p.searchRuns({ experiments: ['ctr'], filter: "name = 'broken'" });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ status: 'failed' });
    expect(items[0].tags.error).toMatch(/nope/);
  });

  it('searches by metric and parameter, ordered, page by page; compares runs side by side', async () => {
    const made: Run[] = [];
    for (const C of [0.01, 0.1, 1, 10]) {
      const r = await p.train({
        data: table(1000, 4),
        validation: table(300, 5),
        label: 'y',
        features: ['a', 'b'],
        params: { C },
        experiment: 'sweep',
        runName: `C=${C}`,
        display: false,
      });
      made.push(r.run);
    }
    const all = await p.searchRuns({ experiments: ['sweep'], orderBy: ['metrics.validation.logLoss'] });
    expect(all.items).toHaveLength(4);
    const losses = all.items.map((r) => r.metrics['validation.logLoss'].value);
    expect(losses).toEqual([...losses].sort((x, y) => x - y));
    const some = await p.searchRuns({ experiments: ['sweep'], filter: 'params.C >= 1' });
    expect(some.items.map((r) => r.name).sort()).toEqual(['C=1', 'C=10']);
    const page1 = await p.searchRuns({ experiments: ['sweep'], orderBy: ['params.C'], maxResults: 3 });
    expect(page1.items.map((r) => r.name)).toEqual(['C=0.01', 'C=0.1', 'C=1']);
    const page2 = await p.searchRuns({
      experiments: ['sweep'],
      orderBy: ['params.C'],
      maxResults: 3,
      pageToken: page1.nextPageToken,
    });
    expect(page2.items.map((r) => r.name)).toEqual(['C=10']);
    expect(page2.nextPageToken).toBeUndefined();
    const rows = await p.compareRuns([made[0].id, made[3].id]);
    expect(rows.find((row) => row.field === 'params.C')).toEqual({ field: 'params.C', 'C=0.01': '0.01', 'C=10': '10' });
    expect(rows.find((row) => row.field === 'metrics.validation.auc')).toBeDefined();
  });

  it('the CLI lists, filters and compares runs; a bad filter exits non-zero naming the place', async () => {
    const bin = path.resolve(__dirname, '../../bin/plinth.js');
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [bin, ...args, '--control-plane', tp.url]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const found = await cli([
      'runs',
      'search',
      '--experiment',
      'sweep',
      'params.C < 1',
      '--order',
      'params.C DESC',
      '--metric',
      'validation.auc',
    ]);
    expect(found.code).toBe(0);
    const lines = found.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+started\s+status\s+run\s+validation.auc$/);
    expect(lines.slice(1).map((l) => /sweep\/(\S+)/.exec(l)?.[1])).toEqual(['C=0.1', 'C=0.01']);
    const ids = lines.slice(1).map((l) => l.split(/\s+/)[0]);
    const compared = await cli(['runs', 'compare', ...ids]);
    expect(compared.code).toBe(0);
    expect(compared.stdout).toMatch(/params\.C\s+0\.1\s+0\.01/);
    const shown = await cli(['runs', 'show', ids[0]]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: ids[0], params: { C: '0.1' } });
    const bad = await cli(['runs', 'search', 'metrics.auc > 0.5 OR metrics.auc < 0.1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/OR is not supported: run one search per alternative at character 19/);
  });

  it('bad input: 4xx naming the field, and nothing of a rejected batch is stored', async () => {
    const created = await http(tp.url, 'POST', '/api/v1/runs', { experiment: 'bad', params: { lr: '0.1' } });
    expect(created.status).toBe(201);
    const id = (created.body as Run).id;
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/api/v1/runs', { experiment: 'Bad Name' }, 400, '/experiment'],
      ['POST', '/api/v1/runs', { experiment: 'x', exampleSet: { name: 'nope', version: 1 } }, 422, '/exampleSet'],
      ['POST', `/api/v1/runs/${id}/log`, { metrics: [{ key: 'auc', value: 'high' }] }, 400, '/metrics/0/value'],
      [
        'POST',
        `/api/v1/runs/${id}/log`,
        { params: { lr: '0.2' }, metrics: [{ key: 'auc', value: 1 }] },
        409,
        '/params/lr',
      ],
      [
        'POST',
        `/api/v1/runs/${id}/log`,
        { artifacts: [{ path: 'm.onnx', sha256: 'f'.repeat(64), bytes: 3 }] },
        422,
        '/artifacts/0/sha256',
      ],
      ['POST', '/api/v1/runs/search', { filter: 'metrics.auc >> 1' }, 400, '/filter'],
      ['POST', '/api/v1/runs/search', { orderBy: ['start_time', 'colour'] }, 400, '/orderBy/1'],
      ['POST', '/api/v1/runs/search', { pageToken: 'garbage' }, 400, '/pageToken'],
      ['PATCH', `/api/v1/runs/${id}`, { status: 'done' }, 400, '/status'],
    ];
    for (const [method, route, body, status, pointer] of cases) {
      const res = await http(tp.url, method, route, body);
      expect(res.status, `${method} ${route} ${JSON.stringify(body)}`).toBe(status);
      expect(res.pointers, `${method} ${route}`).toContain(pointer);
    }
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await http(tp.url, 'GET', `/api/v1/runs/${unknown}`)).status).toBe(404);
    expect((await http(tp.url, 'POST', `/api/v1/runs/${unknown}/log`, { tags: { a: 'b' } })).status).toBe(404);
    expect((await http(tp.url, 'GET', `/api/v1/runs/${id}/metrics/auc`)).status).toBe(404);
    const run = await tp.client.getRun(id);
    expect(run.params).toEqual({ lr: '0.1' });
    expect(run.metrics).toEqual({});
    expect(run.artifacts).toEqual([]);
    expect((await http(tp.url, 'DELETE', `/api/v1/runs/${id}`)).status).toBe(204);
    expect((await http(tp.url, 'GET', `/api/v1/runs/${id}`)).status).toBe(404);
    expect((await http(tp.url, 'DELETE', `/api/v1/runs/${id}`)).status).toBe(404);
  });

  it('records the example set a table was loaded from', async () => {
    // An example set version must exist for a run to name it: a table tagged with a missing one is refused.
    await expect(
      p.train({
        data: table(300, 6, { name: 'missing_set', version: 1 }),
        label: 'y',
        features: ['a'],
        display: false,
      }),
    ).rejects.toThrow(/example set missing_set@1 does not exist/);
  });
});
