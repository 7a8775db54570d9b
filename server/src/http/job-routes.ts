import type { FastifyInstance } from 'fastify';
import { assertValid, problem, ProblemError } from '@plinth/schema';
import type { Platform } from '../platform';
import type { JobPatch, JobStatus } from '../stores/types';
import { sha256 } from '../util/hash';
import type { StoredExampleSet } from '../featurestore/example-sets';

const statuses: JobStatus[] = ['queued', 'running', 'succeeded', 'failed'];
const bad = (detail: string, pointer: string) =>
  new ProblemError(problem(400, 'Invalid request', detail, [{ pointer, detail }]));

/**
 * The routes `plinth worker` processes use: lease a job, report progress and results, append
 * logs, and register an example set they built. Only the control plane opens the metadata
 * store, so workers go through these.
 */
export function registerJobRoutes(app: FastifyInstance, p: Platform): void {
  app.post('/api/v1/jobs/lease', async (req, reply) => {
    const b = (req.body ?? {}) as { owner?: unknown; kinds?: unknown; leaseSeconds?: unknown };
    if (typeof b.owner !== 'string' || !b.owner) throw bad('owner must be a non-empty string', '/owner');
    if (!Array.isArray(b.kinds) || !b.kinds.every((k) => typeof k === 'string'))
      throw bad('kinds must be a list of job kinds', '/kinds');
    const lease = b.leaseSeconds ?? 600;
    if (!Number.isInteger(lease) || (lease as number) < 1 || (lease as number) > 86_400)
      throw bad('leaseSeconds must be an integer from 1 to 86400', '/leaseSeconds');
    const job = await p.meta.leaseJob(b.owner, b.kinds as string[], lease as number);
    return job ? job : reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/api/v1/jobs/:id/lease', async (req) => {
    const b = (req.body ?? {}) as { owner?: unknown; leaseSeconds?: unknown };
    if (typeof b.owner !== 'string' || !b.owner) throw bad('owner must be a non-empty string', '/owner');
    const lease = b.leaseSeconds ?? 600;
    if (!Number.isInteger(lease) || (lease as number) < 1 || (lease as number) > 86_400)
      throw bad('leaseSeconds must be an integer from 1 to 86400', '/leaseSeconds');
    if (!(await p.meta.getJob(req.params.id)))
      throw new ProblemError(problem(404, 'Not found', `job '${req.params.id}' does not exist`));
    return { renewed: await p.meta.renewLease(req.params.id, b.owner, lease as number) };
  });

  app.patch<{ Params: { id: string } }>('/api/v1/jobs/:id', async (req) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(b))
      if (!['status', 'progress', 'result', 'error', 'notBefore'].includes(k))
        throw bad(`'${k}' is not a job field`, `/${k}`);
    if (b.status !== undefined && !statuses.includes(b.status as JobStatus))
      throw bad(`status must be one of ${statuses.join(', ')}`, '/status');
    if (b.progress !== undefined && (typeof b.progress !== 'number' || b.progress < 0 || b.progress > 1))
      throw bad('progress must be a number from 0 to 1', '/progress');
    if (b.error !== undefined && b.error !== null && typeof b.error !== 'string')
      throw bad('error must be a string', '/error');
    if (b.notBefore !== undefined && b.notBefore !== null && Number.isNaN(Date.parse(String(b.notBefore))))
      throw bad('notBefore must be an ISO timestamp', '/notBefore');
    if (!(await p.meta.getJob(req.params.id)))
      throw new ProblemError(problem(404, 'Not found', `job '${req.params.id}' does not exist`));
    return p.meta.updateJob(req.params.id, b as JobPatch);
  });

  app.post<{ Params: { id: string } }>('/api/v1/jobs/:id/logs', async (req, reply) => {
    const b = (req.body ?? {}) as { lines?: unknown };
    if (!Array.isArray(b.lines) || !b.lines.every((l) => typeof l === 'string'))
      throw bad('lines must be a list of strings', '/lines');
    if (!(await p.meta.getJob(req.params.id)))
      throw new ProblemError(problem(404, 'Not found', `job '${req.params.id}' does not exist`));
    for (const line of b.lines as string[]) await p.meta.appendJobLog(req.params.id, line);
    return reply.code(204).send();
  });

  app.post<{ Params: { name: string } }>('/api/v1/example-sets/:name/versions', async (req, reply) => {
    const stored = req.body as StoredExampleSet;
    // The manifest schema wants a version; the registry assigns the real one.
    assertValid('example-set', { ...(stored as object), version: 1 }, 'example set manifest');
    if (stored.name !== req.params.name)
      throw bad(`the URL names '${req.params.name}' but the manifest is '${stored.name}'`, '/name');
    const { record } = await p.meta.putVersion(
      'example-set',
      stored.name,
      stored,
      sha256(JSON.stringify(stored)),
      'worker',
    );
    return reply.code(201).send({ version: record.version, createdAt: record.createdAt, createdBy: record.createdBy });
  });
}
