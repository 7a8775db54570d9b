import crypto from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { PlinthClient, problem, ProblemError, type PredictResponse } from '@plinth/schema';
import { assembleInputs, onlineRefs, outputRows, readOnlineFeatures, type OnlineResultRow } from '@plinth/kernel-lib';
import type { ObjectStore, OnlineStore } from '../stores/types';
import { installProblemHandlers, installTokenAuth } from '../http/problems';
import { VERSION } from '../version';
import { ModelCache, type LoadedModel } from './model-cache';

export interface InferenceOptions {
  controlPlaneUrl: string;
  token?: string;
  online: OnlineStore;
  objects: ObjectStore;
  log: Logger;
  pollMs?: number;
  maxInstances?: number;
}

type Instance = Record<string, unknown>;

/**
 * Predicts for a batch of instances: online features are read straight from the online
 * store by each view's join keys, request-time features come from the instance, and a
 * missing value falls back to the input's declared default (cold start), flagged.
 */
export async function predict(m: LoadedModel, online: OnlineStore, instances: Instance[]): Promise<PredictResponse> {
  const refs = onlineRefs(m.inputs);
  const rows: OnlineResultRow[] = refs.length
    ? (await readOnlineFeatures(online, m.views, refs, instances)).rows
    : instances.map(() => ({ values: {}, statuses: {} }));
  // The same assembly the notebook's LocalPipeline uses: identical inputs, identical outputs.
  const { columns: tensors, statuses, errors } = assembleInputs(m.inputs, rows, instances);
  if (errors.length)
    throw new ProblemError(problem(400, 'Invalid instances', 'some request-time features have the wrong type', errors));
  // Every output, strings (labels, item ids) and [N, k] lists (probabilities, top-k) included.
  const outputs = outputRows(await m.session.runTyped(tensors));
  return {
    deployment: m.deployment.name,
    model: m.model.name,
    version: m.model.version,
    predictions: instances.map((_, i) => ({
      predictionId: crypto.randomUUID(),
      outputs: outputs[i],
      featureStatuses: statuses[i],
    })),
  };
}

/** The inference tier: stateless, follows deployments, reads features itself. */
export async function createInferenceServer(
  opts: InferenceOptions,
): Promise<{ app: FastifyInstance; cache: ModelCache; close(): Promise<void> }> {
  const log = opts.log;
  const client = new PlinthClient({ baseUrl: opts.controlPlaneUrl, token: opts.token });
  const cache = new ModelCache(client, opts.objects, log.child({ component: 'models' }));
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, bodyLimit: 8 * 1024 * 1024 });
  installProblemHandlers(app);
  installTokenAuth(app, opts.token, ['/v1/health', '/v2/health/live', '/v2/health/ready']);
  const maxInstances = opts.maxInstances ?? 1000;

  const quiet = { logLevel: 'warn' as const };
  app.get('/v1/health', quiet, async () => ({
    status: 'ok',
    version: VERSION,
    role: 'inference',
    models: cache.list().map((m) => ({ deployment: m.deployment.name, model: m.model.name, version: m.model.version })),
    controlPlaneError: cache.lastError,
  }));
  app.get('/v2/health/live', quiet, async () => ({ live: true }));
  app.get('/v2/health/ready', quiet, async (_req, reply) =>
    reply.code(cache.lastRefresh ? 200 : 503).send({ ready: !!cache.lastRefresh }),
  );

  app.post<{ Params: { name: string } }>('/v1/predict/:name', async (req) => {
    let m = cache.get(req.params.name);
    if (!m) {
      // A deployment made a moment ago: look once before saying no.
      await cache.refresh();
      m = cache.get(req.params.name);
    }
    if (!m)
      throw new ProblemError(problem(404, 'Unknown deployment', `no deployment named '${req.params.name}' is loaded`));
    const body = req.body as { instances?: unknown } | undefined;
    const instances = body?.instances;
    if (!Array.isArray(instances) || instances.length === 0) {
      throw new ProblemError(
        problem(400, 'Invalid request', 'instances must be a non-empty list', [
          { pointer: '/instances', detail: 'must be a non-empty array of objects' },
        ]),
      );
    }
    if (instances.length > maxInstances) {
      throw new ProblemError(
        problem(413, 'Request too large', `at most ${maxInstances} instances per request`, [
          { pointer: '/instances', detail: `has ${instances.length} items` },
        ]),
      );
    }
    const bad = instances.findIndex((x) => !x || typeof x !== 'object' || Array.isArray(x));
    if (bad >= 0)
      throw new ProblemError(
        problem(400, 'Invalid request', `instances[${bad}] is not an object`, [
          { pointer: `/instances/${bad}`, detail: 'must be an object' },
        ]),
      );
    return predict(m, opts.online, instances as Instance[]);
  });

  cache.start(opts.pollMs ?? 2000);
  return {
    app,
    cache,
    async close() {
      cache.stop();
      await app.close();
    },
  };
}
