import type { FastifyInstance } from 'fastify';
import { problem, ProblemError } from '@plinth/schema';
import type { Platform } from '../platform';
import type { ObjectStore } from '../stores/types';
import { parseVersion } from './params';
import { listStatistics } from '../featurestore/statistics';
import { listQualityReports } from '../featurestore/quality';

const bad = (detail: string, pointer: string) =>
  new ProblemError(problem(400, 'Invalid query', detail, [{ pointer, detail }]));

const kinds = [
  ['feature-views', 'feature-view'],
  ['label-views', 'label-view'],
] as const;

/** A document kept per materialization run of a view version, newest first. */
interface RunDocuments {
  segment: string;
  list(objects: ObjectStore, view: string, version: number): Promise<unknown[]>;
  /** Why there is none, after "<kind> '<name>' version <v> has no ". */
  missing: string;
}

const documents: RunDocuments[] = [
  { segment: 'statistics', list: listStatistics, missing: 'statistics: it was never materialized' },
  {
    segment: 'quality',
    list: listQualityReports,
    missing: 'data quality report: it has no quality rules or was never materialized',
  },
];

/**
 * Documents kept per materialization run in the offline store beside the Parquet files:
 * statistics and data quality reports (failed strict runs included).
 * `GET /api/v1/{feature-views,label-views}/{name}/{statistics,quality}` answers the newest
 * run's of the latest (or `?version=N`) view version; `?history=true` answers `{items}`, every
 * run's, newest first.
 */
export function registerRunDocumentRoutes(app: FastifyInstance, p: Platform): void {
  for (const doc of documents) {
    for (const [plural, kind] of kinds) {
      app.get<{ Params: { name: string }; Querystring: { history?: string; version?: string } }>(
        `/api/v1/${plural}/:name/${doc.segment}`,
        async (req) => {
          const { history = 'false', version } = req.query;
          if (history !== 'true' && history !== 'false')
            throw bad(`history must be true or false, got '${history}'`, '/history');
          const record = await p.registry.get(kind, req.params.name, parseVersion(version));
          const items = await doc.list(p.objects, record.name, record.version);
          if (!items.length)
            throw new ProblemError(
              problem(
                404,
                'Not found',
                `${kind.replace('-', ' ')} '${record.name}' version ${record.version} has no ${doc.missing}`,
              ),
            );
          return history === 'true' ? { items } : items[0];
        },
      );
    }
  }
}
