import type { FastifyInstance } from 'fastify';
import { parseFeatureRefs, readOnlineFeatures, type FeatureRef, type ServingView } from '@plinth/kernel-lib';
import {
  problem,
  ProblemError,
  type FieldError,
  type OnlineFeaturesRequest,
  type OnlineFeaturesResponse,
  type ConsistencyReport,
  type OnlineStoreStatus,
  type PushResponse,
  type StreamStatus,
} from '@plinth/schema';
import type { Platform } from '../platform';
import { parsePushRow } from '../featurestore/push-rows';
import { checkConsistency, DEFAULT_CONSISTENCY_SAMPLE, MAX_CONSISTENCY_SAMPLE } from '../featurestore/consistency';
import type { ServingCatalog } from '../featurestore/serving-catalog';
import type { StreamConsumers } from '../featurestore/stream-consumers';

/** Most entities one online read may ask for, and most rows one push may carry. */
export const MAX_ONLINE_ENTITIES = 10_000;
export const MAX_PUSH_ROWS = 10_000;

const invalid = (detail: string, errors: FieldError[], status = 400, title = 'Invalid request') =>
  new ProblemError(problem(status, title, detail, errors));

/** The optional read settings of an online-features request, checked; errors name the field. */
function readOptions(body: Partial<OnlineFeaturesRequest>) {
  const { maxAgeSeconds, budgetMs, onUnavailable } = body;
  if (maxAgeSeconds !== undefined && !(typeof maxAgeSeconds === 'number' && maxAgeSeconds >= 0))
    throw invalid('maxAgeSeconds must be a number of seconds >= 0', [
      { pointer: '/maxAgeSeconds', detail: 'must be a number >= 0' },
    ]);
  if (budgetMs !== undefined && !(typeof budgetMs === 'number' && budgetMs > 0 && budgetMs <= 60_000))
    throw invalid('budgetMs must be a number of milliseconds in (0, 60000]', [
      { pointer: '/budgetMs', detail: 'must be a number in (0, 60000]' },
    ]);
  if (onUnavailable !== undefined && onUnavailable !== 'error' && onUnavailable !== 'defaults')
    throw invalid("onUnavailable must be 'error' or 'defaults'", [
      { pointer: '/onUnavailable', detail: "must be 'error' or 'defaults'" },
    ]);
  return { maxAgeSeconds, budgetMs, onUnavailable };
}

/** Column-shaped entities (`{ user_id: [1, 2] }`) as one object per entity. */
function entityInstances(entities: unknown): Record<string, unknown>[] {
  if (
    !entities ||
    typeof entities !== 'object' ||
    Array.isArray(entities) ||
    !Object.values(entities).every(Array.isArray)
  )
    throw invalid('entities must map join keys to lists of values', [
      { pointer: '/entities', detail: 'must be an object of arrays' },
    ]);
  const lists = Object.entries(entities as Record<string, unknown[]>);
  const n = lists[0]?.[1].length ?? 0;
  const uneven = lists.find(([, v]) => v.length !== n);
  if (uneven)
    throw invalid('every join key needs the same number of values', [
      { pointer: `/entities/${uneven[0]}`, detail: `has ${uneven[1].length} values, ${lists[0][0]} has ${n}` },
    ]);
  if (n > MAX_ONLINE_ENTITIES)
    throw invalid(
      `at most ${MAX_ONLINE_ENTITIES} entities per request, got ${n}`,
      [{ pointer: '/entities', detail: 'too many entities' }],
      413,
      'Request too large',
    );
  return Array.from({ length: n }, (_, i) => Object.fromEntries(lists.map(([k, v]) => [k, v[i]])));
}

/**
 * Feature serving and the online store's operations:
 * - `POST /api/v1/online-features`: N entities x M features (a list or a feature service);
 * - `POST /api/v1/feature-views/{name}/push`: near-real-time rows into the online store;
 * - `GET|DELETE /api/v1/feature-views/{name}/online`: size of a view's online data, or remove it;
 * - `POST /api/v1/feature-views/{name}/online/expire`: remove rows older than the view's TTL;
 * - `POST /api/v1/feature-views/{name}/consistency`: compare a sample of online values with the offline ones;
 * - `GET /api/v1/feature-views/{name}/stream`: the view's stream consumer in this process.
 */
export function registerOnlineRoutes(
  app: FastifyInstance,
  p: Platform,
  catalog: ServingCatalog,
  streams: StreamConsumers,
): void {
  app.post('/api/v1/online-features', async (req): Promise<OnlineFeaturesResponse> => {
    const body = (req.body ?? {}) as Partial<OnlineFeaturesRequest>;
    if (body.features !== undefined && body.featureService !== undefined)
      throw invalid('give either features or featureService, not both', [
        { pointer: '/featureService', detail: 'cannot be combined with features' },
      ]);
    let refs: FeatureRef[];
    if (body.featureService !== undefined) {
      if (typeof body.featureService !== 'string')
        throw invalid('featureService must be a name', [{ pointer: '/featureService', detail: 'must be a string' }]);
      refs = await catalog.service(body.featureService);
    } else refs = parseFeatureRefs(body.features);
    const options = readOptions(body);
    const instances = entityInstances(body.entities);
    const views = new Map<string, ServingView>();
    for (const r of refs) if (!views.has(r.view)) views.set(r.view, (await catalog.view(r.view)).serving);
    // The request is column-shaped: a missing key names /entities/<key>, a bad value /entities/<key>/<i>.
    const entities = body.entities as Record<string, unknown[]>;
    const missing = [...new Set([...views.values()].flatMap((v) => v.joinKeys.map((k) => k.name)))].filter(
      (k) => !(k in entities),
    );
    if (missing.length)
      throw invalid(
        `join keys ${missing.join(', ')} are required`,
        missing.map((k) => ({ pointer: `/entities/${k}`, detail: `join key '${k}' is required` })),
        400,
        'Invalid entity keys',
      );
    return readOnlineFeatures(p.online, views, refs, instances, {
      ...options,
      pointer: (i, key) => `/entities/${key}/${i}`,
    });
  });

  app.post<{ Params: { name: string } }>('/api/v1/feature-views/:name/push', async (req): Promise<PushResponse> => {
    const view = await catalog.view(req.params.name);
    const rows = (req.body as { rows?: unknown } | null)?.rows;
    if (!Array.isArray(rows) || rows.length === 0)
      throw invalid('rows must be a non-empty list', [{ pointer: '/rows', detail: 'must be a non-empty list' }]);
    if (rows.length > MAX_PUSH_ROWS)
      throw invalid(
        `at most ${MAX_PUSH_ROWS} rows per push, got ${rows.length}`,
        [{ pointer: '/rows', detail: 'too many rows' }],
        413,
        'Request too large',
      );
    const errors: FieldError[] = [];
    const writes = rows.flatMap((row, i) => {
      const r = parsePushRow(view.push, row, `/rows/${i}`);
      errors.push(...r.errors);
      return r.write ? [r.write] : [];
    });
    // All or nothing: a push with one bad row writes none, so a retry after fixing it is clean.
    if (errors.length)
      throw invalid(
        `${errors.length} problem(s) in the pushed rows; nothing was written`,
        errors.slice(0, 100),
        400,
        'Invalid rows',
      );
    return p.online.writeBatch(view.spec.name, { features: view.push.featureNames, rows: writes });
  });

  app.get<{ Params: { name: string } }>(
    '/api/v1/feature-views/:name/online',
    async (req): Promise<OnlineStoreStatus> => {
      const view = await catalog.view(req.params.name);
      const size = await p.online.size(view.spec.name);
      return { view: view.spec.name, store: p.online.description, ...size };
    },
  );

  app.delete<{ Params: { name: string } }>('/api/v1/feature-views/:name/online', async (req) => {
    const view = await catalog.view(req.params.name);
    const removed = await p.online.deleteView(view.spec.name);
    await p.meta.audit({
      actor: 'local',
      action: 'online.delete',
      target: `feature-view/${view.spec.name}`,
      detail: { removed },
    });
    return { view: view.spec.name, removed };
  });

  app.post<{ Params: { name: string } }>('/api/v1/feature-views/:name/online/expire', async (req) => {
    const view = await catalog.view(req.params.name);
    const ttl = view.spec.ttlSeconds ?? 0;
    if (ttl <= 0)
      throw invalid(
        `feature view '${view.spec.name}' has no TTL: its online values never expire`,
        [{ pointer: '/ttlSeconds', detail: 'is 0 or absent in the view' }],
        409,
        'Nothing to expire',
      );
    const before = Date.now() - ttl * 1000;
    const removed = await p.online.purgeOlderThan(view.spec.name, before);
    await p.meta.audit({
      actor: 'local',
      action: 'online.expire',
      target: `feature-view/${view.spec.name}`,
      detail: { removed, before: new Date(before).toISOString() },
    });
    return { view: view.spec.name, removed, before: new Date(before).toISOString() };
  });

  app.post<{ Params: { name: string } }>(
    '/api/v1/feature-views/:name/consistency',
    async (req): Promise<ConsistencyReport> => {
      const view = await catalog.view(req.params.name);
      const sample = (req.body as { sample?: unknown } | null)?.sample ?? DEFAULT_CONSISTENCY_SAMPLE;
      if (!(Number.isInteger(sample) && (sample as number) >= 1 && (sample as number) <= MAX_CONSISTENCY_SAMPLE))
        throw invalid(`sample must be an integer in [1, ${MAX_CONSISTENCY_SAMPLE}], got ${JSON.stringify(sample)}`, [
          { pointer: '/sample', detail: `must be an integer in [1, ${MAX_CONSISTENCY_SAMPLE}]` },
        ]);
      return checkConsistency(p, view, { sample: sample as number });
    },
  );

  app.get<{ Params: { name: string } }>('/api/v1/feature-views/:name/stream', async (req): Promise<StreamStatus> => {
    const view = await catalog.view(req.params.name);
    if (!view.spec.stream)
      throw new ProblemError(problem(404, 'Not found', `feature view '${view.spec.name}' declares no stream`));
    const status = await streams.status(view.spec.name);
    if (!status)
      throw new ProblemError(
        problem(
          404,
          'Not found',
          `no consumer of feature view '${view.spec.name}''s stream runs in this control plane (started with --no-streams, or the view was applied a moment ago)`,
        ),
      );
    return status;
  });
}
