import { problem, ProblemError, type DataSource, type Entity, type FeatureView, type LabelView } from '@plinth/schema';
import type { JobEnv } from '../jobs/queue';

/** Entities of a view, with their join keys, in declaration order. */
export async function entitiesOf(env: Pick<JobEnv, 'meta'>, view: FeatureView | LabelView): Promise<Entity[]> {
  return Promise.all(
    view.entities.map(async (e) => {
      const r = await env.meta.getLatest<Entity>('entity', e);
      if (!r) throw new ProblemError(problem(404, 'Not found', `entity '${e}' of view '${view.name}' does not exist`));
      return r.spec;
    }),
  );
}

/** Data sources a view reads. */
export async function sourcesOf(env: Pick<JobEnv, 'meta'>, view: FeatureView | LabelView): Promise<DataSource[]> {
  return Promise.all(
    (view.sources ?? []).map(async (s) => {
      const r = await env.meta.getLatest<DataSource>('data-source', s);
      if (!r)
        throw new ProblemError(problem(404, 'Not found', `data source '${s}' of view '${view.name}' does not exist`));
      return r.spec;
    }),
  );
}
