import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { assertValid, problem, ProblemError, type FieldError, type Run, type RunSearchResult } from '@plinth/schema';
import type { Platform } from '../platform';
import { artifactKey } from '../repository/artifacts';
import { RunConflictError, RunNotFoundError } from '../stores/metadata';
import { parseRunFilter, parseRunOrder, RunQueryError } from '../tracking/run-filter';

const DEFAULT_MAX_RESULTS = 100;

const notFound = (id: string) => new ProblemError(problem(404, 'Not found', `run '${id}' does not exist`));

/** What a page token is bound to: the same search, so a token cannot be replayed on another. */
const searchKey = (experiments: string[], filter: string, orderBy: string[]) =>
  createHash('sha256')
    .update(JSON.stringify([experiments, filter, orderBy]))
    .digest('hex')
    .slice(0, 16);

function decodePageToken(token: string, key: string): number {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; k?: unknown };
    if (typeof t.o === 'number' && Number.isSafeInteger(t.o) && t.o >= 0 && t.k === key) return t.o;
  } catch {
    // fall through to the 400
  }
  throw new ProblemError(
    problem(400, 'Invalid page token', 'pageToken does not belong to this search (or is corrupted)', [
      { pointer: '/pageToken', detail: 'use the nextPageToken of the same search' },
    ]),
  );
}

const encodePageToken = (offset: number, key: string) =>
  Buffer.from(JSON.stringify({ o: offset, k: key }), 'utf8').toString('base64url');

/**
 * Run tracking (docs/runs.md):
 * - `POST /api/v1/runs`: start a run (parameters, tags, source, environment, example set);
 * - `GET|PATCH|DELETE /api/v1/runs/{id}`: read, finish or rename, delete (soft);
 * - `POST /api/v1/runs/{id}/log`: a batch of parameters, metrics by step, tags and artifacts;
 * - `GET /api/v1/runs/{id}/metrics/{key}`: a metric's history;
 * - `POST /api/v1/runs/search`: filter (`metrics.auc > 0.8 AND params.model = 'gbt'`), order, page.
 * Creating, finishing and deleting runs is audited; metric logging is not (it is the run's own record).
 */
export function registerTrackingRoutes(app: FastifyInstance, p: Platform, actor: string): void {
  const runs = p.meta.runs;

  /** Everything a run refers to must exist: the example set, and the artifacts' content. */
  async function checkReferences(
    body: { exampleSet?: { name: string; version: number }; artifacts?: { sha256: string }[] },
    errors: FieldError[],
  ): Promise<void> {
    const es = body.exampleSet;
    if (es && !(await p.meta.getVersion('example-set', es.name, es.version)))
      errors.push({ pointer: '/exampleSet', detail: `example set ${es.name}@${es.version} does not exist` });
    for (const [i, a] of (body.artifacts ?? []).entries())
      if (!(await p.objects.exists(artifactKey(a.sha256))))
        errors.push({
          pointer: `/artifacts/${i}/sha256`,
          detail: `artifact sha256:${a.sha256} has not been uploaded (PUT /api/v1/artifacts/sha256/{sha256})`,
        });
    if (errors.length)
      throw new ProblemError(problem(422, 'Invalid run', 'the run refers to something that does not exist', errors));
  }

  app.post('/api/v1/runs', async (req, reply) => {
    const body = assertValid('run-create', req.body, 'run');
    await checkReferences(body, []);
    const run = await runs.create({ ...body, createdBy: actor });
    await p.meta.audit({
      actor,
      action: 'create:run',
      target: `run/${run.id}`,
      detail: { experiment: run.experiment },
    });
    return reply.code(201).send(run);
  });

  app.get<{ Params: { id: string } }>('/api/v1/runs/:id', async (req) => {
    const run = await runs.get(req.params.id);
    if (!run) throw notFound(req.params.id);
    return run;
  });

  app.patch<{ Params: { id: string } }>('/api/v1/runs/:id', async (req) => {
    const body = assertValid('run-update', req.body, 'run update');
    let run: Run;
    try {
      run = await runs.update(req.params.id, body);
    } catch (e) {
      if (e instanceof RunNotFoundError) throw notFound(req.params.id);
      throw e;
    }
    if (body.status && body.status !== 'running')
      await p.meta.audit({ actor, action: `${body.status}:run`, target: `run/${run.id}`, detail: body });
    return run;
  });

  app.delete<{ Params: { id: string } }>('/api/v1/runs/:id', async (req, reply) => {
    if (!(await runs.delete(req.params.id))) throw notFound(req.params.id);
    await p.meta.audit({ actor, action: 'delete:run', target: `run/${req.params.id}`, detail: null });
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/api/v1/runs/:id/log', async (req) => {
    const body = assertValid('run-log', req.body, 'run log');
    if (!(await runs.get(req.params.id))) throw notFound(req.params.id);
    await checkReferences(body, []);
    try {
      await runs.log(req.params.id, body);
    } catch (e) {
      if (e instanceof RunNotFoundError) throw notFound(req.params.id);
      if (e instanceof RunConflictError)
        throw new ProblemError(
          problem(409, 'Parameter already logged', e.message, [{ pointer: `/params/${e.key}`, detail: e.message }]),
        );
      throw e;
    }
    return {
      params: Object.keys(body.params ?? {}).length,
      metrics: body.metrics?.length ?? 0,
      tags: Object.keys(body.tags ?? {}).length,
      artifacts: body.artifacts?.length ?? 0,
    };
  });

  app.get<{ Params: { id: string; key: string } }>('/api/v1/runs/:id/metrics/:key', async (req) => {
    if (!(await runs.get(req.params.id))) throw notFound(req.params.id);
    const points = await runs.history(req.params.id, req.params.key);
    if (!points.length)
      throw new ProblemError(
        problem(404, 'Not found', `run '${req.params.id}' has no metric '${req.params.key}'`, [
          { pointer: '/key', detail: 'no such metric in this run' },
        ]),
      );
    return { key: req.params.key, points };
  });

  app.post('/api/v1/runs/search', async (req): Promise<RunSearchResult> => {
    const body = assertValid('run-search', req.body ?? {}, 'run search');
    const experiments = body.experiments ?? [];
    const filter = body.filter ?? '';
    const orderBy = body.orderBy ?? [];
    let query;
    try {
      query = { clauses: parseRunFilter(filter), order: parseRunOrder(orderBy) };
    } catch (e) {
      if (!(e instanceof RunQueryError)) throw e;
      const pointer = e.field === 'filter' ? '/filter' : `/orderBy/${/\d+/.exec(e.field)?.[0] ?? 0}`;
      throw new ProblemError(problem(400, 'Invalid run search', e.message, [{ pointer, detail: e.message }]));
    }
    const key = searchKey(experiments, filter, orderBy);
    const offset = body.pageToken ? decodePageToken(body.pageToken, key) : 0;
    const limit = body.maxResults ?? DEFAULT_MAX_RESULTS;
    // One more than asked tells whether there is a next page without counting every match.
    const found = await runs.search({ experiments, ...query, limit: limit + 1, offset });
    const result: RunSearchResult = { items: found.slice(0, limit) };
    if (found.length > limit) result.nextPageToken = encodePageToken(offset + limit, key);
    return result;
  });
}
