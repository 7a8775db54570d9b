import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  assertValid,
  DEFINITION_SECTION_NAMES,
  buildOpenApi,
  problem,
  ProblemError,
  registryKinds,
  type RegistryPath,
} from '@plinth/schema';
import type { Platform } from '../platform';
import type { EnqueueOptions, RegistryRecord } from '../stores/types';
import type { DefinitionKind } from '../registry/registry';
import { VERSION } from '../version';
import { installProblemHandlers, installTokenAuth } from './problems';
import { JobRunner, type RetryPolicy } from '../jobs/runner';
import { registerViewMetadataRoutes } from './view-metadata-routes';
import { MaterializationScheduler } from '../jobs/scheduler';
import { localQueue } from '../jobs/queue';
import { jobHandlers } from '../jobs/handlers';
import { registerJobRoutes } from './job-routes';
import { registerCatalogRoutes } from './catalog-routes';
import { registerRunDocumentRoutes } from './run-document-routes';
import { findView } from '../featurestore/materialize';
import { parseVersion } from './params';
import { exampleSetFromRecord, resolveExampleSet, type StoredExampleSet } from '../featurestore/example-sets';
import { registerOnlineRoutes } from './online-routes';
import { registerTrackingRoutes } from './tracking-routes';
import { registerModelRoutes } from './model-routes';
import { ServingCatalog } from '../featurestore/serving-catalog';
import { OnlineExpirySweeper } from '../featurestore/online-expiry';
import { StreamConsumers } from '../featurestore/stream-consumers';
import { registerDeploymentRoutes } from './deployment-routes';
import { pinBatchRequest } from '../inference/batch-inference';

const publicRecord = <T>(r: RegistryRecord<T>) => ({
  name: r.name,
  version: r.version,
  spec: r.spec,
  createdAt: r.createdAt,
  createdBy: r.createdBy,
});

export interface ControlPlane {
  app: FastifyInstance;
  runner: JobRunner;
  scheduler: MaterializationScheduler;
  /** Removes online values past their view's TTL, hourly. */
  expiry: OnlineExpirySweeper;
  /** Consumers of the feature views' streams (Redis Streams, Kafka) into the online store. */
  streams: StreamConsumers;
  close(): Promise<void>;
}

/** The control plane: registry, jobs, example sets, online features, model repository, deployments. */
export async function createControlPlane(
  p: Platform,
  log: Logger,
  opts: {
    /** False with `--no-jobs`: workers run the jobs; the scheduler still enqueues them. */
    runJobs?: boolean;
    /** False to not start the cron scheduler (tests drive `scheduler.tick` themselves). */
    schedule?: boolean;
    /** False with `--no-streams`: this process consumes no feature-view streams. */
    streams?: boolean;
    retry?: RetryPolicy;
  } = {},
): Promise<ControlPlane> {
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, bodyLimit: 16 * 1024 * 1024 });
  installProblemHandlers(app);
  installTokenAuth(app, p.config.token, ['/api/v1/health']);
  // The API speaks JSON (and octet-stream for artifacts); text would reach handlers as a string.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: 1024 * 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );
  const actor = 'local';

  const runner = new JobRunner(
    localQueue(p.meta),
    jobHandlers(p),
    log.child({ component: 'jobs' }),
    undefined,
    undefined,
    opts.retry,
  );
  registerJobRoutes(app, p);
  registerRunDocumentRoutes(app, p);
  registerCatalogRoutes(app, p);
  registerViewMetadataRoutes(app, p);
  const streams = new StreamConsumers(p.meta, p.online, log.child({ component: 'streams' }));
  registerOnlineRoutes(app, p, new ServingCatalog(p.meta), streams);
  registerTrackingRoutes(app, p, actor);

  // Polled constantly (health checks, the inference tier's deployment watch): not worth a log line each.
  const quiet = { logLevel: 'warn' as const };
  app.get('/api/v1/health', quiet, async () => ({ status: 'ok', version: VERSION, role: 'control-plane' }));
  const openapi = buildOpenApi(VERSION);
  app.get('/api/v1/openapi.json', async () => openapi);

  // Registry: PUT applies (idempotent), GET reads, DELETE removes.
  for (const [plural, { kind }] of Object.entries(registryKinds) as [
    RegistryPath,
    (typeof registryKinds)[RegistryPath],
  ][]) {
    app.get(`/api/v1/${plural}`, async () => ({ items: (await p.registry.list(kind)).map(publicRecord) }));
    app.get<{ Params: { name: string }; Querystring: { version?: string } }>(`/api/v1/${plural}/:name`, async (req) =>
      publicRecord(await p.registry.get(kind, req.params.name, parseVersion(req.query.version))),
    );
    app.get<{ Params: { name: string } }>(`/api/v1/${plural}/:name/versions`, async (req) => {
      const items = await p.meta.listVersions(kind, req.params.name);
      if (!items.length) await p.registry.get(kind, req.params.name);
      return { items: items.map(publicRecord) };
    });
    app.put<{ Params: { name: string } }>(`/api/v1/${plural}/:name`, async (req) => {
      const body = req.body as { name?: unknown } | undefined;
      if (body && typeof body === 'object' && body.name !== req.params.name) {
        throw new ProblemError(
          problem(
            400,
            'Name mismatch',
            `the URL names '${req.params.name}' but the document is '${String(body.name)}'`,
            [{ pointer: '/name', detail: `must be '${req.params.name}'` }],
          ),
        );
      }
      const applied = await p.registry.apply(kind as DefinitionKind, req.body, actor);
      // A stream declared (or changed) starts being consumed now, not at the next poll.
      if (kind === 'feature-view' && opts.streams !== false) void streams.reconcile();
      return applied;
    });
    app.delete<{ Params: { name: string } }>(`/api/v1/${plural}/:name`, async (req, reply) => {
      await p.registry.remove(kind as DefinitionKind, req.params.name, actor);
      if (kind === 'feature-view' && opts.streams !== false) void streams.reconcile();
      return reply.code(204).send();
    });
  }

  // Plan: what applying a set of definitions would change, without writing.
  app.post('/api/v1/plan', async (req) => {
    const body = req.body as Record<string, unknown> | undefined;
    const sections: readonly string[] = DEFINITION_SECTION_NAMES;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new ProblemError(
        problem(400, 'Invalid request', 'send an object with ' + sections.join(', '), [
          { pointer: '', detail: 'must be an object' },
        ]),
      );
    }
    for (const [k, v] of Object.entries(body)) {
      if (!sections.includes(k))
        throw new ProblemError(
          problem(400, 'Invalid request', `unknown section '${k}'`, [
            { pointer: `/${k}`, detail: `must be one of ${sections.join(', ')}` },
          ]),
        );
      if (!Array.isArray(v))
        throw new ProblemError(
          problem(400, 'Invalid request', `section '${k}' must be a list`, [
            { pointer: `/${k}`, detail: 'must be a list' },
          ]),
        );
    }
    return { changes: await p.registry.plan(body) };
  });

  // Jobs.
  const enqueue = async (kind: string, params: unknown, o: EnqueueOptions = {}, by = actor) => {
    const job = await p.meta.enqueueJob(kind, params, o);
    if (job.created === false) return job;
    await p.meta.audit({ actor: by, action: `enqueue:${kind}`, target: `job/${job.id}`, detail: params });
    runner.kick();
    return job;
  };
  const scheduler = new MaterializationScheduler(
    p.meta,
    (kind, params, o) => enqueue(kind, params, o, 'scheduler'),
    log.child({ component: 'scheduler' }),
  );
  app.post('/api/v1/materializations', async (req, reply) => {
    const body = assertValid('materialize-request', req.body, 'materialization request');
    if (body.incremental && (body.start || body.end))
      throw new ProblemError(
        problem(400, 'Invalid materialization request', 'incremental runs take no start or end', [
          { pointer: '/incremental', detail: 'cannot be combined with start or end' },
        ]),
      );
    await findView(p, body.view);
    return reply.code(202).send(await enqueue('materialize', body, { subject: body.view, maxAttempts: 3 }));
  });
  const jobStatuses = ['queued', 'running', 'succeeded', 'failed'] as const;
  app.get<{ Querystring: { kind?: string; status?: string; subject?: string; limit?: string } }>(
    '/api/v1/jobs',
    async (req) => {
      // Checked here: a non-numeric limit used to reach the SQL as NaN and answer 500.
      const { kind, status, subject, limit = '100' } = req.query;
      const n = Number(limit);
      if (!Number.isInteger(n) || n < 1 || n > 1000) {
        throw new ProblemError(
          problem(400, 'Invalid query', `limit must be an integer from 1 to 1000, got '${limit}'`, [
            { pointer: '/limit', detail: 'must be an integer from 1 to 1000' },
          ]),
        );
      }
      if (status !== undefined && !(jobStatuses as readonly string[]).includes(status)) {
        throw new ProblemError(
          problem(400, 'Invalid query', `unknown job status '${status}'`, [
            { pointer: '/status', detail: `must be one of ${jobStatuses.join(', ')}` },
          ]),
        );
      }
      return {
        items: await p.meta.listJobs({
          kind,
          subject,
          status: status as (typeof jobStatuses)[number] | undefined,
          limit: n,
        }),
      };
    },
  );
  const job = async (id: string) => {
    const j = await p.meta.getJob(id);
    if (!j) throw new ProblemError(problem(404, 'Not found', `job '${id}' does not exist`));
    return j;
  };
  app.get<{ Params: { id: string } }>('/api/v1/jobs/:id', async (req) => job(req.params.id));
  app.get<{ Params: { id: string } }>('/api/v1/jobs/:id/logs', async (req) => {
    await job(req.params.id);
    return { lines: await p.meta.getJobLog(req.params.id) };
  });

  // Example sets.
  app.post('/api/v1/example-sets', async (req, reply) => {
    const spec = assertValid('example-set-spec', req.body, 'example set');
    // Unknown or unmaterialized views are the caller's error: answer now, naming the field.
    await resolveExampleSet(p, spec);
    return reply.code(202).send(await enqueue('example-set', spec));
  });
  app.get('/api/v1/example-sets', async () => ({
    items: (await p.meta.listLatest<StoredExampleSet>('example-set')).map(exampleSetFromRecord),
  }));
  app.get<{ Params: { name: string }; Querystring: { version?: string } }>('/api/v1/example-sets/:name', async (req) =>
    exampleSetFromRecord(
      await p.registry.get<StoredExampleSet>('example-set', req.params.name, parseVersion(req.query.version)),
    ),
  );

  registerModelRoutes(app, p, actor);

  // Batch inference: checked and pinned (model version, example-set version) here, run as a job.
  app.post('/api/v1/batch-predictions', async (req, reply) => {
    const body = assertValid('batch-inference-request', req.body, 'batch inference request');
    const pinned = await pinBatchRequest(p, body);
    return reply.code(202).send(await enqueue('batch-inference', pinned, { subject: pinned.output, maxAttempts: 3 }));
  });

  registerDeploymentRoutes(app, p, actor);

  // With --no-jobs, `plinth worker` processes run the jobs instead.
  if (opts.runJobs !== false) runner.start();
  if (opts.schedule !== false) scheduler.start();
  const expiry = new OnlineExpirySweeper(p.meta, p.online, log.child({ component: 'online-expiry' }));
  if (opts.schedule !== false) expiry.start();
  if (opts.streams !== false) streams.start();
  return {
    app,
    runner,
    scheduler,
    expiry,
    streams,
    async close() {
      await streams.stop();
      await expiry.stop();
      await scheduler.stop();
      await runner.stop();
      await app.close();
    },
  };
}
