import type { FastifyInstance } from 'fastify';
import type { FeatureView, LabelView } from '@plinth/schema';
import type { Platform } from '../platform';
import { viewMetadata } from '../featurestore/view-metadata';
import { parseVersion } from './params';

/**
 * `GET /api/v1/{feature-views,label-views}/{name}/metadata[?version=N]`: schema, committed
 * offline size, freshness against the schedule, last run and consumers of a view version.
 */
export function registerViewMetadataRoutes(app: FastifyInstance, p: Platform): void {
  for (const [plural, kind] of [
    ['feature-views', 'feature-view'],
    ['label-views', 'label-view'],
  ] as const) {
    app.get<{ Params: { name: string }; Querystring: { version?: string } }>(
      `/api/v1/${plural}/:name/metadata`,
      async (req) => {
        const record = await p.registry.get<FeatureView | LabelView>(
          kind,
          req.params.name,
          parseVersion(req.query.version),
        );
        return viewMetadata(p.meta, p.objects, kind, record);
      },
    );
  }
}
