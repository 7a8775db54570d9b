import type { FastifyInstance } from 'fastify';
import {
  problem,
  ProblemError,
  type CatalogQuery,
  type FeatureService,
  type FeatureView,
  type LabelView,
} from '@plinth/schema';
import type { Platform } from '../platform';
import { CATALOG_KINDS as kinds, featureServiceLineage, lineageOf, searchCatalog } from '../registry/catalog';

/** The catalog: ranked search over every team's definitions, and the lineage of views and feature services. */
export function registerCatalogRoutes(app: FastifyInstance, p: Platform): void {
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/catalog', async (req) => {
    const { q, kind, team, owner, entity, tag, limit = '50' } = req.query;
    if (kind !== undefined && !(kinds as readonly string[]).includes(kind)) {
      throw new ProblemError(
        problem(400, 'Invalid query', `unknown kind '${kind}'`, [
          { pointer: '/kind', detail: `must be one of ${kinds.join(', ')}` },
        ]),
      );
    }
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 500) {
      throw new ProblemError(
        problem(400, 'Invalid query', `limit must be an integer from 1 to 500, got '${limit}'`, [
          { pointer: '/limit', detail: 'must be an integer from 1 to 500' },
        ]),
      );
    }
    const query: CatalogQuery = { q, kind: kind as CatalogQuery['kind'], team, owner, entity, tag, limit: n };
    return { items: await searchCatalog(p.meta, query) };
  });

  for (const [plural, kind] of [
    ['feature-views', 'feature-view'],
    ['label-views', 'label-view'],
  ] as const) {
    app.get<{ Params: { name: string } }>(`/api/v1/${plural}/:name/lineage`, async (req) => {
      const view = await p.registry.get<FeatureView | LabelView>(kind, req.params.name);
      return lineageOf(p.meta, kind, view);
    });
  }
  app.get<{ Params: { name: string } }>('/api/v1/feature-services/:name/lineage', async (req) =>
    featureServiceLineage(p.meta, await p.registry.get<FeatureService>('feature-service', req.params.name)),
  );
}
