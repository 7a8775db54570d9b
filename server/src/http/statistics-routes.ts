import type { FastifyInstance } from 'fastify';
import { problem, ProblemError, type DatasetStatistics } from '@plinth/schema';
import type { Platform } from '../platform';
import { listStatistics } from '../featurestore/statistics';

const bad = (detail: string, pointer: string) =>
  new ProblemError(problem(400, 'Invalid query', detail, [{ pointer, detail }]));

const kinds = [
  ['feature-views', 'feature-view'],
  ['label-views', 'label-view'],
] as const;

/**
 * Statistics of materialized data, one document per materialization run (kept in the offline
 * store beside the Parquet files): `GET /api/v1/{feature-views,label-views}/{name}/statistics`
 * answers the newest run's of the latest (or `?version=N`) view version; `?history=true`
 * answers `{items}`, every run's, newest first.
 */
export function registerStatisticsRoutes(app: FastifyInstance, p: Platform): void {
  for (const [plural, kind] of kinds) {
    app.get<{ Params: { name: string }; Querystring: { history?: string; version?: string } }>(
      `/api/v1/${plural}/:name/statistics`,
      async (req): Promise<DatasetStatistics | { items: DatasetStatistics[] }> => {
        const { history = 'false', version } = req.query;
        if (history !== 'true' && history !== 'false')
          throw bad(`history must be true or false, got '${history}'`, '/history');
        let v: number | undefined;
        if (version !== undefined) {
          v = Number(version);
          if (!Number.isInteger(v) || v < 1)
            throw bad(`version must be a positive integer, got '${version}'`, '/version');
        }
        const record = await p.registry.get(kind, req.params.name, v);
        const items = await listStatistics(p.objects, record.name, record.version);
        if (!items.length)
          throw new ProblemError(
            problem(
              404,
              'Not found',
              `${kind.replace('-', ' ')} '${record.name}' version ${record.version} has no statistics: it was never materialized`,
            ),
          );
        return history === 'true' ? { items } : items[0];
      },
    );
  }
}
