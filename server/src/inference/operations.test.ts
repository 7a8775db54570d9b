import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { PredictResponse } from '@plinth/schema';
import { openOnlineStore } from '@plinth/kernel-lib';
import { closeObjectStore, openObjectStore } from '../platform';
import { literal, OfflineEngine } from '../offline/duckdb';
import { http, type TestPlatform } from '../test-support/platform';
import { startCtrFixture } from '../test-support/ctr-fixture';
import { createInferenceServer, type InferenceOptions, type InferenceServer } from './server';

/**
 * Operating the inference tier: graceful drain, the prediction log's bound and drop counter,
 * request timeouts, and `plinth infer --workers 2` as a real multi-process server (shared
 * port, metrics summed over the workers, SIGTERM drains and exits).
 */
let t: TestPlatform;
let instances: { user_id: number; product_id: number }[];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const f = await startCtrFixture({}, 40);
  ({ t, instances } = f);
  const v = await f.publish(1.0);
  await f.p.deploy('ctr', { model: 'ctr', version: v.version });
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await t?.close();
});

/** Another inference server in this process on the same stores, with its own options. */
async function extraServer(opts: Partial<InferenceOptions>): Promise<{ srv: InferenceServer; url: string }> {
  const online = await openOnlineStore(t.config.onlineStore, { readOnly: true });
  const objects = openObjectStore(t.config);
  const srv = await createInferenceServer({
    controlPlaneUrl: t.url,
    online,
    objects,
    log: pino({ level: 'silent' }),
    pollMs: 100,
    ...opts,
  });
  await srv.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = srv.app.server.address() as { port: number };
  await srv.cache.refresh();
  let closed = false;
  const close = async () => {
    if (!closed) await srv.close();
    closed = true;
    await online.close();
    closeObjectStore(objects);
  };
  closers.push(close);
  return { srv, url: `http://127.0.0.1:${addr.port}` };
}

describe('operations', () => {
  it('drains on shutdown: requests in flight are answered and logged', async () => {
    // Requests wait 100 ms to be batched, so they are surely in flight when close() starts.
    const { srv, url } = await extraServer({ batch: { maxWaitMs: 100 }, predictionLog: { flushMs: 60_000 } });
    const written = () => srv.metrics.logWritten.get().then((m) => m.values[0]?.value ?? 0);
    // close() starts only once every request has been received: an accepted connection whose
    // request is not yet parsed is, rightly, answered 503 by a closing server.
    let received = 0;
    srv.app.server.on('request', () => received++);
    const sent = instances.map((x) =>
      http(url, 'POST', '/v1/predict/ctr', { instances: [x] }, { connection: 'close' }),
    );
    while (received < instances.length) await new Promise((r) => setTimeout(r, 5));
    await srv.close();
    const answers = await Promise.all(sent);
    expect(answers.map((a) => a.status)).toEqual(instances.map(() => 200));
    // Everything answered was written out by close(), nothing dropped.
    expect(await written()).toBe(instances.length);
    expect((await srv.metrics.logDropped.get()).values[0]?.value ?? 0).toBe(0);
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
  });

  it('drops and counts predictions beyond the log bound, never failing the request', async () => {
    const { url } = await extraServer({ predictionLog: { maxPendingRows: 3, flushMs: 60_000 } });
    const r = await http(url, 'POST', '/v1/predict/ctr', { instances: instances.slice(0, 5) });
    expect(r.status).toBe(200);
    expect((r.body as PredictResponse).predictions).toHaveLength(5);
    const text = (await http(url, 'GET', '/metrics')).body as string;
    expect(text).toMatch(/plinth_prediction_log_dropped_total 5\b/);
    expect(text).toMatch(/plinth_prediction_log_pending_rows 0\b/);
  });

  it('counts as dropped what the log failed to write, and writes again once it can', async () => {
    const { srv, url } = await extraServer({ predictionLog: { flushMs: 60_000 } });
    const counter = async (c: { get(): Promise<{ values: { value: number }[] }> }) =>
      (await c.get()).values[0]?.value ?? 0;
    // The writer thread's scratch directory turns into a file: its Parquet files cannot be written.
    const scratch = (srv.predictionLog as unknown as { tmpDir: string }).tmpDir;
    fs.rmSync(scratch, { recursive: true });
    fs.writeFileSync(scratch, '');
    expect((await http(url, 'POST', '/v1/predict/ctr', { instances: instances.slice(0, 3) })).status).toBe(200);
    await srv.predictionLog!.flush();
    expect(await counter(srv.metrics.logDropped)).toBe(3);
    expect(await counter(srv.metrics.logWritten)).toBe(0);
    expect(await counter(srv.metrics.logPending)).toBe(0);

    fs.rmSync(scratch);
    fs.mkdirSync(scratch);
    expect((await http(url, 'POST', '/v1/predict/ctr', { instances: instances.slice(0, 2) })).status).toBe(200);
    await srv.predictionLog!.flush();
    expect(await counter(srv.metrics.logWritten)).toBe(2);
    expect(await counter(srv.metrics.logDropped)).toBe(3);
  });

  it('answers 503 when a prediction misses its time limit, and keeps serving', async () => {
    const { url } = await extraServer({ timeoutMs: 5, batch: { maxWaitMs: 200 }, predictionLog: false });
    const r = await http(url, 'POST', '/v1/predict/ctr', { instances: instances.slice(0, 1) });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ title: 'Prediction timed out' });
    expect((await http(url, 'GET', '/v2/health/live')).status).toBe(200);
  });

  it('refuses bodies over the size limit with a 413', async () => {
    const { url } = await extraServer({ bodyLimit: 1024, predictionLog: false });
    const big = { instances: Array.from({ length: 100 }, (_, i) => ({ user_id: i, product_id: i })) };
    const r = await http(url, 'POST', '/v1/predict/ctr', big);
    expect(r.status).toBe(413);
    expect((await http(url, 'POST', '/v1/predict/ctr', { instances: instances.slice(0, 1) })).status).toBe(200);
  });
});

describe('plinth infer --workers 2', () => {
  it('serves from two processes on one port, sums their metrics, and drains on Ctrl-C with its log written', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const bin = path.resolve(__dirname, '..', '..', 'bin', 'plinth.js');
    const child = spawn(
      process.execPath,
      [
        bin,
        'infer',
        '--workers',
        '2',
        '--data-dir',
        t.config.dataDir,
        '--infer-port',
        String(port),
        '--host',
        '127.0.0.1',
        '--control-plane',
        t.url,
        '--log-level',
        'warn',
      ],
      // Its own process group, which Ctrl-C signals as a whole: primary, workers and log writers.
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let stderr = ''; // and stdout: the log
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const ids: string[] = [];
    const n = 40;
    try {
      const pids = new Set<number>();
      const deadline = Date.now() + 30_000;
      // Both workers up and serving ctr (connections are spread over the workers).
      while (pids.size < 2) {
        if (Date.now() > deadline) throw new Error(`workers did not come up: ${stderr}`);
        const h = await fetch(`${url}/v1/health`, { headers: { connection: 'close' } })
          .then((r) => r.json() as Promise<{ pid: number; models: unknown[] }>)
          .catch(() => null);
        if (h && h.models.length) pids.add(h.pid);
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(pids.has(child.pid!)).toBe(false);
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          fetch(`${url}/v1/predict/ctr`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', connection: 'close' },
            body: JSON.stringify({ instances: [instances[i % instances.length]] }),
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as PredictResponse })),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: n }, () => 200));
      ids.push(...answers.map((a) => a.body.predictions[0].predictionId));
      const text = await (await fetch(`${url}/metrics`)).text();
      const total = [...text.matchAll(/plinth_inference_requests_total\{[^}]*status="200"\} (\d+)/g)].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
      // Summed over both workers, whichever answered /metrics.
      expect(total, text + stderr).toBe(n);
    } finally {
      process.kill(-child.pid!, 'SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/"level":(50|60)/);
    // Every prediction answered was logged before the workers exited.
    const dir = path.join(t.config.dataDir, 'objects', 'prediction-log', 'ctr');
    const engine = await OfflineEngine.create({ threads: 1 });
    try {
      const [{ n: logged }] = await engine.rows(
        `SELECT count(*)::INTEGER AS n FROM read_parquet(${literal(`${dir}/*/*.parquet`)}, union_by_name = true) ` +
          `WHERE prediction_id IN (${ids.map(literal).join(', ')})`,
      );
      expect(logged).toBe(n);
    } finally {
      engine.close();
    }
  });

  it('exits non-zero, naming the problem, when its workers cannot start', async () => {
    const bin = path.resolve(__dirname, '..', '..', 'bin', 'plinth.js');
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-infer-'));
    const child = spawn(
      process.execPath,
      [bin, 'infer', '--workers', '2', '--data-dir', empty, '--infer-port', '0', '--control-plane', t.url],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    fs.rmSync(empty, { recursive: true, force: true });
    // No restart loop: the online store does not exist, and it says so.
    expect(code).toBe(1);
    expect(out).toMatch(/plinth: .*database/);
    expect(out).toMatch(/an inference worker failed to start; stopping/);
  });
});
