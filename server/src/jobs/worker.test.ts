/**
 * `plinth serve --no-jobs` plus a separate `plinth worker` process: jobs wait in the queue
 * until a worker leases them over the control plane's API, and the worker's results (offline
 * data, online rows, example-set versions) land where the control plane reads them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { remoteQueue } from './remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../test-support/net';
import { PlinthClient } from '@plinth/schema';
import { jobOutcome, sharedDemoLake, tempDir } from '../test-support/platform';
import { demoEntities, demoFeatureViews, demoLabelViews, demoSources } from '../cli/demo-definitions';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const bin = path.join(repoRoot, 'server', 'bin', 'plinth.js');

const children: ChildProcess[] = [];
function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; log: () => string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PLINTH_')));
  const child = spawn(process.execPath, [bin, ...args], { env: { ...clean, ...env, PLINTH_LOG_LEVEL: 'info' } });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  children.push(child);
  return { child, log: () => out };
}

describe('plinth worker', () => {
  let client: PlinthClient;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const port = await freePort();
    env = { PLINTH_DATA_DIR: tempDir('worker'), PLINTH_LAKE_DIR: await sharedDemoLake(), PLINTH_PORT: String(port) };
    const serve = start(['serve', '--no-jobs'], env);
    client = new PlinthClient({ baseUrl: `http://127.0.0.1:${port}` });
    // Generous: a cold start on a busy CI machine can take tens of seconds.
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        await client.health();
        break;
      } catch {
        if (serve.child.exitCode !== null || Date.now() > deadline)
          throw new Error(`serve did not start: ${serve.log()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await client.applyDefinitions({
      entities: demoEntities,
      dataSources: demoSources,
      featureViews: demoFeatureViews,
      labelViews: demoLabelViews,
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(
      children
        .filter((c) => c.exitCode === null)
        .map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))),
    );
  });

  it('runs the jobs the control plane leaves queued', async () => {
    const job = await client.materialize({ view: 'user_features' });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await client.getJob(job.id)).status).toBe('queued');

    const worker = start(['worker', '--concurrency', '2'], env);
    const done = await jobOutcome(client, job.id);
    expect(done.status, worker.log()).toBe('succeeded');
    expect(done.leaseOwner).toContain(`:${worker.child.pid}:`);
    expect((done.result as { rows: number }).rows).toBeGreaterThan(0);
    expect((await client.getJobLogs(job.id)).lines.join('\n')).toMatch(/committed offline/);

    // The worker wrote the online store the control plane reads.
    const online = await client.getOnlineFeatures({ features: ['user_features:user_ctr'], entities: { user_id: [1] } });
    expect(online.rows[0].statuses['user_features:user_ctr']).toBe('present');

    // Example sets: the worker registers the new version through the API.
    for (const v of ['product_features', 'clicks'])
      expect((await jobOutcome(client, (await client.materialize({ view: v })).id)).status).toBe('succeeded');
    const es = await jobOutcome(
      client,
      (
        await client.buildExampleSet({
          name: 'by_worker',
          labelView: 'clicks',
          features: ['user_features', 'product_features'],
        })
      ).id,
    );
    expect(es.status, JSON.stringify(es)).toBe('succeeded');
    const manifest = await client.getExampleSet('by_worker');
    expect(manifest.version).toBe(1);
    expect(manifest.rows).toBeGreaterThan(1000);
    expect(manifest.featureViews.map((v) => v.name)).toEqual(['user_features', 'product_features']);
  }, 120_000);

  it('rejects malformed worker calls with problems naming the field', async () => {
    await expect(
      client.request('POST', 'api/v1/jobs/lease', { owner: '', kinds: ['materialize'] }),
    ).rejects.toMatchObject({ problem: { status: 400, errors: [{ pointer: '/owner' }] } });
    const job = (await client.listJobs()).items[0];
    await expect(client.request('PATCH', `api/v1/jobs/${job.id}`, { progress: 2 })).rejects.toMatchObject({
      problem: { status: 400, errors: [{ pointer: '/progress' }] },
    });
    await expect(client.request('PATCH', `api/v1/jobs/${job.id}`, { colour: 'red' })).rejects.toMatchObject({
      problem: { errors: [{ pointer: '/colour' }] },
    });
    await expect(client.request('POST', 'api/v1/example-sets/x/versions', { name: 'x' })).rejects.toMatchObject({
      problem: { status: 400 },
    });
    expect((await client.getJob(job.id)).progress).toBe(job.progress);
    // Lease renewal over the API: a finished job's lease is gone; bad owners and unknown jobs are named.
    const queue = remoteQueue(client);
    expect(await queue.renew(job.id, job.leaseOwner ?? 'w', 60)).toBe(false);
    await expect(client.request('POST', `api/v1/jobs/${job.id}/lease`, { owner: 3 })).rejects.toMatchObject({
      problem: { status: 400, errors: [{ pointer: '/owner' }] },
    });
    await expect(
      client.request('POST', 'api/v1/jobs/00000000-0000-0000-0000-000000000000/lease', { owner: 'w' }),
    ).rejects.toMatchObject({ problem: { status: 404 } });
  });
});
