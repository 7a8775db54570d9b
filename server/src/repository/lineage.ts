import type { DataSource, ExampleSet, FeatureView, ModelLineage } from '@plinth/schema';
import type { Platform } from '../platform';
import { getModelVersion } from './models';

/**
 * Where a version came from and where it goes: lake sources -> feature views -> feature
 * service -> example set (and its label view) -> run -> this version -> aliases and deployments.
 */
export async function modelLineage(p: Platform, name: string, ref: string | number): Promise<ModelLineage> {
  const v = await getModelVersion(p, name, ref);
  const views = new Map<string, number>();
  for (const fv of v.featureViews ?? []) views.set(fv.name, fv.version);
  let exampleSet: ModelLineage['exampleSet'];
  let labelView: string | undefined;
  if (v.exampleSet) {
    const es = await p.meta.getVersion<ExampleSet>('example-set', v.exampleSet.name, v.exampleSet.version);
    if (es) {
      exampleSet = { name: es.name, version: es.version, uri: es.spec.location.uri, rows: es.spec.rows };
      labelView = es.spec.labelView.name;
      for (const fv of es.spec.featureViews) if (!views.has(fv.name)) views.set(fv.name, fv.version);
    }
  }
  const featureViews: ModelLineage['featureViews'] = [];
  const bySource = new Map<string, string[]>();
  for (const [view, version] of views) {
    const rec = await p.meta.getVersion<FeatureView>('feature-view', view, version);
    const sources = rec?.spec.sources ?? [];
    featureViews.push({ name: view, version, sources });
    for (const s of sources) bySource.set(s, [...(bySource.get(s) ?? []), view]);
  }
  const sources = await Promise.all(
    [...bySource].map(async ([s, vs]) => ({
      name: s,
      path: (await p.meta.getLatest<DataSource>('data-source', s))?.spec.path ?? '(removed)',
      views: vs,
    })),
  );
  let run: ModelLineage['run'];
  if (v.run) {
    const r = await p.meta.runs.get(v.run.id);
    run = r
      ? { id: r.id, experiment: r.experiment, status: r.status, ...(r.name ? { name: r.name } : {}) }
      : { id: v.run.id, status: 'deleted' };
  }
  return {
    model: { name: v.name, version: v.version },
    sources,
    featureViews,
    ...(v.featureService ? { featureService: v.featureService } : {}),
    ...(labelView ? { labelView } : {}),
    ...(exampleSet ? { exampleSet } : {}),
    ...(run ? { run } : {}),
    aliases: v.aliases ?? [],
    deployments: v.deployments ?? [],
  };
}
