import type { FastifyInstance } from 'fastify';
import { assertValid, problem, ProblemError } from '@plinth/schema';
import type { Platform } from '../platform';
import { getArtifact, putArtifact } from '../repository/artifacts';
import { listAliases, moveAlias, removeAlias, setAliasPolicy } from '../repository/aliases';
import { evaluateVersions } from '../repository/gate';
import { archiveVersion, deleteVersion, unarchiveVersion } from '../repository/lifecycle';
import { modelLineage } from '../repository/lineage';
import { predictWithVersion } from '../repository/load';
import {
  getModelVersion,
  listModels,
  listModelVersions,
  modelFromRecord,
  publishModelVersion,
  resolveModelVersion,
} from '../repository/models';

type NameParams = { Params: { name: string } };
type RefParams = { Params: { name: string; ref: string } };
type AliasParams = { Params: { name: string; alias: string } };

function versionNumber(ref: string): number {
  if (!/^v?[0-9]{1,9}$/.test(ref))
    throw new ProblemError(
      problem(400, 'Invalid version', `'${ref}' is not a version number`, [
        { pointer: '/version', detail: 'must be a version number (aliases cannot be archived or deleted)' },
      ]),
    );
  return Number(ref.replace(/^v/, ''));
}

/**
 * The model repository (docs/models.md):
 * - artifacts, content-addressed: `PUT|GET /api/v1/artifacts/sha256/{hash}` (verified both ways);
 * - versions: `POST /api/v1/models/{name}/versions` publishes; `GET .../versions/{ref}` reads one
 *   by number, `latest` or alias; archive, unarchive, delete; lineage; evaluate on a holdout;
 *   predict (the control plane loads and runs the version, as kernel-lib's loadPipeline does);
 * - aliases: `PUT .../aliases/{alias}` moves one through its gate policy, with history and
 *   evaluations kept.
 */
export function registerModelRoutes(app: FastifyInstance, p: Platform, actor: string): void {
  app.put<{ Params: { sha256: string } }>('/api/v1/artifacts/sha256/:sha256', async (req, reply) => {
    if (!Buffer.isBuffer(req.body))
      throw new ProblemError(problem(415, 'Unsupported media type', 'send the artifact as application/octet-stream'));
    const r = await putArtifact(p.objects, req.params.sha256, req.body);
    return reply.code(r.created ? 201 : 200).send({ sha256: r.sha256, bytes: r.bytes, format: 'onnx' });
  });
  app.get<{ Params: { sha256: string } }>('/api/v1/artifacts/sha256/:sha256', async (req, reply) => {
    if (!/^[0-9a-f]{64}$/.test(req.params.sha256))
      throw new ProblemError(
        problem(400, 'Invalid artifact', 'not a sha256', [
          { pointer: '/sha256', detail: 'must be 64 lower-case hex digits' },
        ]),
      );
    return reply.type('application/octet-stream').send(await getArtifact(p.objects, req.params.sha256));
  });

  app.get('/api/v1/models', async () => ({ items: await listModels(p) }));
  app.get<NameParams>('/api/v1/models/:name/versions', async (req) => ({
    items: await listModelVersions(p, req.params.name),
  }));
  app.post<NameParams>('/api/v1/models/:name/versions', async (req, reply) =>
    reply.code(201).send(await publishModelVersion(p, req.params.name, req.body, actor)),
  );
  app.get<RefParams>('/api/v1/models/:name/versions/:ref', async (req) =>
    getModelVersion(p, req.params.name, req.params.ref),
  );
  app.delete<RefParams>('/api/v1/models/:name/versions/:ref', async (req, reply) => {
    await deleteVersion(p, req.params.name, versionNumber(req.params.ref), actor);
    return reply.code(204).send();
  });
  app.post<RefParams>('/api/v1/models/:name/versions/:ref/archive', async (req) => {
    const body = assertValid('archive-request', req.body ?? {}, 'archive request');
    return archiveVersion(p, req.params.name, versionNumber(req.params.ref), body.reason, actor);
  });
  app.post<RefParams>('/api/v1/models/:name/versions/:ref/unarchive', async (req) =>
    unarchiveVersion(p, req.params.name, versionNumber(req.params.ref), actor),
  );
  app.get<RefParams>('/api/v1/models/:name/versions/:ref/lineage', async (req) =>
    modelLineage(p, req.params.name, req.params.ref),
  );
  app.post<RefParams>('/api/v1/models/:name/versions/:ref/predict', async (req) => {
    const body = assertValid('model-predict-request', req.body, 'predict request');
    return predictWithVersion(p, req.params.name, req.params.ref, body.inputs);
  });
  app.post<RefParams>('/api/v1/models/:name/versions/:ref/evaluate', async (req, reply) => {
    const body = assertValid('evaluate-request', req.body, 'evaluate request');
    const candidate = await getModelVersion(p, req.params.name, req.params.ref);
    const baseline = body.against ? modelFromRecord(await resolveModelVersion(p, req.params.name, body.against)) : null;
    const e = await evaluateVersions(p, candidate, baseline, body.exampleSet, actor, {
      ...(body.metric ? { metric: body.metric } : {}),
    });
    await p.meta.models.saveEvaluation(e);
    return reply.code(201).send(e);
  });
  app.get<NameParams & { Querystring: { limit?: string } }>('/api/v1/models/:name/evaluations', async (req) => {
    await resolveModelVersion(p, req.params.name, 'latest');
    return { items: await p.meta.models.evaluations(req.params.name, Math.min(Number(req.query.limit) || 100, 1000)) };
  });
  app.get<{ Params: { name: string; id: string } }>('/api/v1/models/:name/evaluations/:id', async (req) => {
    const e = await p.meta.models.evaluation(req.params.id);
    if (!e || e.model !== req.params.name)
      throw new ProblemError(
        problem(404, 'Not found', `model '${req.params.name}' has no evaluation '${req.params.id}'`),
      );
    return e;
  });

  app.get<NameParams>('/api/v1/models/:name/aliases', async (req) => ({
    items: await listAliases(p, req.params.name),
  }));
  app.get<AliasParams>('/api/v1/models/:name/aliases/:alias', async (req) => {
    const a = (await listAliases(p, req.params.name)).find((x) => x.alias === req.params.alias);
    if (!a)
      throw new ProblemError(
        problem(404, 'Not found', `model '${req.params.name}' has no alias '${req.params.alias}'`),
      );
    return a;
  });
  app.put<AliasParams>('/api/v1/models/:name/aliases/:alias', async (req) =>
    moveAlias(p, req.params.name, req.params.alias, req.body, actor),
  );
  app.delete<AliasParams & { Querystring: { reason?: string } }>(
    '/api/v1/models/:name/aliases/:alias',
    async (req, reply) => {
      await removeAlias(p, req.params.name, req.params.alias, req.query.reason ?? '', actor);
      return reply.code(204).send();
    },
  );
  app.get<NameParams & { Querystring: { alias?: string } }>('/api/v1/models/:name/alias-history', async (req) => {
    await resolveModelVersion(p, req.params.name, 'latest');
    return { items: await p.meta.models.history(req.params.name, req.query.alias) };
  });
  app.get<AliasParams>('/api/v1/models/:name/aliases/:alias/policy', async (req) => {
    const policy = await p.meta.models.policy(req.params.name, req.params.alias);
    if (!policy)
      throw new ProblemError(
        problem(404, 'Not found', `alias '${req.params.alias}' of model '${req.params.name}' has no gate policy`),
      );
    return policy;
  });
  app.put<AliasParams>('/api/v1/models/:name/aliases/:alias/policy', async (req) =>
    setAliasPolicy(p, req.params.name, req.params.alias, req.body, actor),
  );
  app.delete<AliasParams>('/api/v1/models/:name/aliases/:alias/policy', async (req, reply) => {
    await setAliasPolicy(p, req.params.name, req.params.alias, null, actor);
    return reply.code(204).send();
  });
}
