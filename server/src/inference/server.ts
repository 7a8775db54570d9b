import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { PlinthClient, problem, ProblemError, type PredictResponse } from '@plinth/schema';
import type { ObjectStore, OnlineStore } from '../stores/types';
import { installProblemHandlers, installTokenAuth } from '../http/problems';
import { VERSION } from '../version';
import type { BatchOptions, BatchSlice } from './batcher';
import { clusterMetricsText } from './cluster';
import { InferenceMetrics } from './metrics';
import { ModelCache } from './model-cache';
import { PredictionLog, type PredictionLogOptions } from './prediction-log';
import { Predictor } from './predictor';
import type { Instance } from './score';
import { installV2Routes } from './v2-protocol';

export interface InferenceOptions {
  controlPlaneUrl: string;
  token?: string;
  online: OnlineStore;
  objects: ObjectStore;
  log: Logger;
  /** Fallback poll of the deployments, besides the control plane's notifications (default 5,000 ms). */
  pollMs?: number;
  maxInstances?: number;
  batch?: BatchOptions;
  /** A prediction not answered within this time gets a 503 (default 2,000 ms). */
  timeoutMs?: number;
  /** Largest request body (default 8 MiB). */
  bodyLimit?: number;
  /** false: no prediction log (default: written to the object store). */
  predictionLog?: PredictionLogOptions | false;
  /** A worker of `plinth infer`: /metrics answers with the sum over all workers (cluster.ts). */
  clusterWorker?: boolean;
}

export interface InferenceServer {
  app: FastifyInstance;
  cache: ModelCache;
  metrics: InferenceMetrics;
  predictionLog: PredictionLog | null;
  /** Graceful: stops taking requests, answers those in flight, writes the prediction log. */
  close(): Promise<void>;
}

/** The inference tier: stateless, follows deployments, reads features itself. */
export async function createInferenceServer(opts: InferenceOptions): Promise<InferenceServer> {
  const log = opts.log;
  const client = new PlinthClient({ baseUrl: opts.controlPlaneUrl, token: opts.token });
  const metrics = new InferenceMetrics();
  const cache = new ModelCache(
    client,
    opts.objects,
    opts.online,
    metrics,
    log.child({ component: 'models' }),
    opts.batch,
  );
  const predictionLog =
    opts.predictionLog === false
      ? null
      : new PredictionLog(opts.objects, metrics, log.child({ component: 'prediction-log' }), opts.predictionLog);
  const metricsText = opts.clusterWorker ? clusterMetricsText(metrics.registry) : () => metrics.registry.metrics();
  const predictor = new Predictor(metrics, predictionLog, log, opts.timeoutMs ?? 2000);
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024,
    // A client that stalls mid-request must not hold a connection forever.
    requestTimeout: 30_000,
  });
  installProblemHandlers(app);
  const open = ['/v1/health', '/v2/health/live', '/v2/health/ready', '/metrics'];
  installTokenAuth(app, opts.token, open);
  const maxInstances = opts.maxInstances ?? 1000;
  // Per-request log lines would cost more than the prediction: only warnings and errors.
  const hot = { logLevel: 'warn' as const };
  let closing = false;

  app.get('/v1/health', hot, async () => ({
    status: 'ok',
    version: VERSION,
    role: 'inference',
    // Which worker process answered (with --workers, the port is shared).
    pid: process.pid,
    models: cache.list().map((s) => ({
      deployment: s.deployment.name,
      model: s.primary.model.name,
      version: s.primary.model.version,
      ...(s.canary ? { canary: { version: s.canary.model.model.version, share: s.canary.share } } : {}),
      ...(s.shadow ? { shadow: { version: s.shadow.model.version } } : {}),
    })),
    controlPlaneError: cache.lastError,
  }));
  // Liveness: the process answers. Readiness: it has read the deployments and is not draining.
  app.get('/v2/health/live', hot, async () => ({ live: true }));
  app.get('/v2/health/ready', hot, async (_req, reply) => {
    const ready = !!cache.lastRefresh && !closing;
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get('/metrics', hot, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metricsText()));

  app.post<{ Params: { name: string } }>('/v1/predict/:name', hot, async (req, reply) => {
    const s = await cache.require(req.params.name);
    const body = req.body as { instances?: unknown; experiment?: unknown } | undefined;
    const instances = checkInstances(body?.instances, maxInstances);
    if (body?.experiment !== undefined && typeof body.experiment !== 'string')
      throw new ProblemError(
        problem(400, 'Invalid request', 'experiment must be a string', [
          { pointer: '/experiment', detail: 'must be a string' },
        ]),
      );
    const experiment = body?.experiment as string | undefined;
    const p = await predictor.predict(s, instances, { experiment, protocol: 'json' });
    return reply.type('application/json; charset=utf-8').send(
      predictResponseJson(
        {
          deployment: s.deployment.name,
          model: p.model.model.name,
          version: p.model.model.version,
          variant: p.variant,
          ...(experiment ? { experiment } : {}),
        },
        p.ids,
        p.slice,
      ),
    );
  });

  // The deploy-time check of the control plane, run where the version will serve.
  app.post('/v1/admin/verify', async (req) => {
    const body = req.body as { model?: unknown; version?: unknown } | undefined;
    if (typeof body?.model !== 'string' || !Number.isInteger(body.version))
      throw new ProblemError(
        problem(400, 'Invalid request', 'model (a name) and version (an integer) are required', [
          { pointer: typeof body?.model !== 'string' ? '/model' : '/version', detail: 'is required' },
        ]),
      );
    try {
      return await cache.verify(body.model, body.version as number);
    } catch (e) {
      if (e instanceof ProblemError) throw e;
      throw new ProblemError(
        problem(409, 'Version failed to load', `${body.model}@${String(body.version)}: ${(e as Error).message}`),
      );
    }
  });

  installV2Routes(app, cache, predictor, maxInstances, hot);

  cache.start(opts.pollMs ?? 5000);
  let closed: Promise<void> | undefined;
  return {
    app,
    cache,
    metrics,
    predictionLog,
    close() {
      // Idempotent: SIGTERM and a test teardown may both close.
      closed ??= (async () => {
        closing = true;
        cache.stop();
        // Fastify stops accepting and waits for the requests in flight; then the batches and the log.
        await app.close();
        await cache.drained();
        await predictionLog?.close();
      })();
      return closed;
    },
  };
}

/** The request's instances, checked: a non-empty list of objects, at most `max` of them. */
function checkInstances(instances: unknown, max: number): Instance[] {
  if (!Array.isArray(instances) || instances.length === 0)
    throw new ProblemError(
      problem(400, 'Invalid request', 'instances must be a non-empty list', [
        { pointer: '/instances', detail: 'must be a non-empty array of objects' },
      ]),
    );
  if (instances.length > max)
    throw new ProblemError(
      problem(413, 'Request too large', `at most ${max} instances per request`, [
        { pointer: '/instances', detail: `has ${instances.length} items` },
      ]),
    );
  const bad = instances.findIndex((x) => !x || typeof x !== 'object' || Array.isArray(x));
  if (bad >= 0)
    throw new ProblemError(
      problem(400, 'Invalid request', `instances[${bad}] is not an object`, [
        { pointer: `/instances/${bad}`, detail: 'must be an object' },
      ]),
    );
  return instances as Instance[];
}

/**
 * The predict route's answer (a PredictResponse) as JSON text. Each prediction lists a status
 * per input, often 50 of them: written from per-input fragments rather than through an object
 * per prediction, which cost more than the prediction itself.
 */
function predictResponseJson(head: Omit<PredictResponse, 'predictions'>, ids: string[], slice: BatchSlice): string {
  const names = Object.keys(slice.statuses);
  const keys = names.map((n, j) => `${j ? ',' : ''}${JSON.stringify(n)}:"`);
  const columns = names.map((n) => slice.statuses[n]);
  let out = `${JSON.stringify(head).slice(0, -1)},"predictions":[`;
  for (let i = 0; i < ids.length; i++) {
    let statuses = '';
    for (let j = 0; j < keys.length; j++) statuses += `${keys[j]}${columns[j][slice.offset + i]}"`;
    out +=
      `${i ? ',' : ''}{"predictionId":"${ids[i]}","outputs":${JSON.stringify(slice.outputs[i])},` +
      `"featureStatuses":{${statuses}}}`;
  }
  return `${out}]}`;
}
