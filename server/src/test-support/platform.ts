/**
 * A real Plinth platform for integration tests: PGlite, LMDB and a local object store (or S3,
 * see test-support/s3.ts) in a temp data directory, the control plane on 127.0.0.1:<free port>, optionally the demo
 * definitions and an in-process inference tier. Nothing is mocked (DESIGN.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { afterAll } from 'vitest';
import { PlinthClient, type Job } from '@plinth/schema';
import { loadConfig, type PlinthConfig } from '../config';
import { closeObjectStore, openObjectStore, openPlatform, type Platform } from '../platform';
import { createControlPlane, type ControlPlane } from '../http/control-plane';
import { createInferenceServer, type InferenceOptions, type InferenceServer } from '../inference/server';
import type { ModelCache } from '../inference/model-cache';
import { openOnlineStore, type OnlineStore } from '@plinth/kernel-lib';
import { generateDemoLake } from '../demo/generate';
import { yesterday } from '../cli/demo-data';
import { demoEntities, demoFeatureViews, demoLabelViews, demoSources } from '../cli/demo-definitions';

export interface TestPlatformOptions {
  /** Lake root; default: the tiny demo lake shared by this test file. */
  lakeDir?: string;
  /** Apply the demo entities, sources and views (default false). */
  applyDemo?: boolean;
  /** Start the inference tier in this process too (default false). */
  inference?: boolean;
  /** How often the inference tier polls for deployment changes besides notifications (default 100 ms). */
  pollMs?: number;
  /** More inference tier options (batching, prediction log, timeouts). */
  inferenceOptions?: Partial<InferenceOptions>;
  /** Require `Authorization: Bearer <token>` on every route but health. */
  token?: string;
  /** A postgres:// URL: keep metadata in PostgreSQL instead of PGlite. */
  metadataUrl?: string;
  /** Object store location, e.g. s3://bucket/prefix (default: <data dir>/objects). */
  objectStore?: string;
  /** S3-compatible server for the object store and s3:// lake sources, e.g. from startS3(). */
  s3Endpoint?: string;
  /** Online store, e.g. redis://127.0.0.1:<port> from startRedis() (default: LMDB in the data dir). */
  onlineStore?: string;
}

export interface TestInference {
  url: string;
  app: FastifyInstance;
  cache: ModelCache;
  server: InferenceServer;
  close(): Promise<void>;
}

export interface TestPlatform {
  config: PlinthConfig;
  platform: Platform;
  controlPlane: ControlPlane;
  /** Control plane base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  client: PlinthClient;
  infer?: TestInference;
  close(): Promise<void>;
}

/** Quiet unless PLINTH_TEST_LOG=debug (or another level) is set. */
export const testLogger = (): Logger => pino({ level: process.env.PLINTH_TEST_LOG ?? 'silent' });

const tempDirs: string[] = [];
const removeTempDirs = () => tempDirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));

// Registered while the importing test file is collected, so it is a file-level hook; hooks
// run in stack order, so this runs after the file's own afterAll has closed its platforms.
afterAll(removeTempDirs);

/** A temp directory removed after the test file that asked for it. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `plinth-test-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

let demoLake: Promise<string> | undefined;

/**
 * The tiny demo lake, generated once per test file. It ends yesterday so feature TTLs
 * (60 days) have not expired when the online store is read today.
 */
export function sharedDemoLake(): Promise<string> {
  demoLake ??= (async () => {
    const lakeDir = path.join(tempDir('lake'), 'lake');
    await generateDemoLake({ lakeDir, size: 'tiny', seed: 42, days: 30, endDate: yesterday() });
    return lakeDir;
  })();
  return demoLake;
}

const portOf = (app: FastifyInstance) => (app.server.address() as AddressInfo).port;

export async function startTestPlatform(opts: TestPlatformOptions = {}): Promise<TestPlatform> {
  const dataDir = tempDir('data');
  const lakeDir = opts.lakeDir ?? (await sharedDemoLake());
  // An empty env: the developer's PLINTH_* variables must not leak into tests.
  const config = loadConfig(
    {
      dataDir,
      lakeDir,
      port: 0,
      inferPort: 0,
      token: opts.token,
      metadataUrl: opts.metadataUrl,
      objectStore: opts.objectStore,
      s3Endpoint: opts.s3Endpoint,
      onlineStore: opts.onlineStore,
      logLevel: 'silent',
    },
    {},
  );
  const log = testLogger();
  const platform = await openPlatform(config);
  const controlPlane = await createControlPlane(platform, log);
  await controlPlane.app.listen({ host: '127.0.0.1', port: 0 });
  // The URLs in the config were derived from port 0; the platform reads them from this object.
  config.port = portOf(controlPlane.app);
  config.controlPlaneUrl = `http://127.0.0.1:${config.port}`;
  const client = new PlinthClient({ baseUrl: config.controlPlaneUrl, token: opts.token });

  let infer: TestInference | undefined;
  let inferOnline: OnlineStore | undefined;
  let inferObjects: ReturnType<typeof openObjectStore> | undefined;
  const closeAll = async () => {
    await infer?.close();
    await inferOnline?.close();
    if (inferObjects) closeObjectStore(inferObjects);
    await controlPlane.close();
    await platform.close();
  };
  try {
    if (opts.applyDemo) {
      await client.applyDefinitions({
        entities: demoEntities,
        dataSources: demoSources,
        featureViews: demoFeatureViews,
        labelViews: demoLabelViews,
      });
    }
    if (opts.inference) {
      inferOnline = await openOnlineStore(config.onlineStore, { readOnly: true });
      inferObjects = openObjectStore(config);
      const srv = await createInferenceServer({
        controlPlaneUrl: config.controlPlaneUrl,
        token: opts.token,
        online: inferOnline,
        objects: inferObjects,
        log,
        pollMs: opts.pollMs ?? 100,
        ...opts.inferenceOptions,
      });
      await srv.app.listen({ host: '127.0.0.1', port: 0 });
      config.inferPort = portOf(srv.app);
      config.inferenceUrl = `http://127.0.0.1:${config.inferPort}`;
      infer = { url: config.inferenceUrl, app: srv.app, cache: srv.cache, server: srv, close: srv.close };
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return { config, platform, controlPlane, url: config.controlPlaneUrl, client, infer, close: closeAll };
}

/** Polls a job until it succeeds or fails and returns its final record (never throws on failure). */
export async function jobOutcome(client: PlinthClient, id: string, timeoutMs = 60_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.getJob(id);
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Materializes views one after another and returns the job results. */
export async function materializeAll(client: PlinthClient, views: string[]): Promise<Job[]> {
  const out: Job[] = [];
  for (const view of views) {
    const job = await jobOutcome(client, (await client.materialize({ view })).id);
    if (job.status !== 'succeeded') throw new Error(`materializing ${view} failed: ${job.error}`);
    out.push(job);
  }
  return out;
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: unknown;
  /** `errors[].pointer` of a problem answer. */
  pointers: string[];
}

/**
 * One raw HTTP call, for bad-input tests the typed client cannot express. `body` is sent
 * as JSON unless it is a string or a Buffer (sent as is, with the given content type).
 */
export async function http(
  baseUrl: string,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const raw = typeof body === 'string' || Buffer.isBuffer(body);
  const h: Record<string, string> = {
    ...(body !== undefined && !raw ? { 'content-type': 'application/json' } : {}),
    ...headers,
  };
  const res = await fetch(baseUrl.replace(/\/$/, '') + route, {
    method,
    headers: h,
    body: body === undefined ? undefined : raw ? (body as string | Buffer) : JSON.stringify(body),
  });
  const contentType = res.headers.get('content-type') ?? '';
  const text = await res.text();
  let parsed: unknown = text;
  if (contentType.includes('json') && text) parsed = JSON.parse(text);
  const errors = (parsed as { errors?: { pointer: string }[] } | null)?.errors;
  return {
    status: res.status,
    contentType,
    body: parsed,
    pointers: Array.isArray(errors) ? errors.map((e) => e.pointer) : [],
  };
}

/** One entity's online row as `{ eventTs, values: { feature: value } }` (null when absent), for assertions. */
export async function onlineRecord(
  online: OnlineStore,
  view: string,
  entityKey: string,
  features: string[],
): Promise<{ eventTs: number; values: Record<string, unknown> } | null> {
  const [row] = await online.read(view, [entityKey], features);
  return row && { eventTs: row.eventTs, values: Object.fromEntries(features.map((f, i) => [f, row.values[i]])) };
}
