import type { Entity, FeatureView, LabelView, ViewMetadata } from '@plinth/schema';
import type { MetadataStore, ObjectStore, RegistryRecord } from '../stores/types';
import { parseSchedule, scheduleIntervalSeconds } from '../util/schedule';
import { lineageOf } from '../registry/catalog';
import { readOfflineManifest, partsOf } from './offline-manifest';

/**
 * Assembles a view version's metadata from the registry, its offline manifest, its
 * materialization jobs and the catalog's lineage. Freshness is relative to `now`.
 */
export async function viewMetadata(
  meta: MetadataStore,
  objects: ObjectStore,
  kind: 'feature-view' | 'label-view',
  record: RegistryRecord<FeatureView | LabelView>,
  now = new Date(),
): Promise<ViewMetadata> {
  const spec = record.spec;
  const entities = await Promise.all(spec.entities.map((e) => meta.getLatest<Entity>('entity', e)));
  const fields = 'features' in spec ? spec.features : spec.labels;
  const created = 'createdTimestampColumn' in spec ? spec.createdTimestampColumn : undefined;
  const schema: ViewMetadata['schema'] = [
    ...entities.flatMap((e) =>
      (e?.spec.joinKeys ?? []).map((k) => ({ name: k.name, type: k.type, role: 'key' as const })),
    ),
    { name: spec.timestampColumn, type: 'timestamp', role: 'timestamp' },
    ...(created ? [{ name: created, type: 'timestamp', role: 'created' as const }] : []),
    ...fields.map((f) => ({
      name: f.name,
      type: f.type,
      role: kind === 'feature-view' ? ('feature' as const) : ('label' as const),
      ...(f.description ? { description: f.description } : {}),
    })),
  ];

  const manifest = await readOfflineManifest(objects, record.name, record.version);
  const parts = manifest ? partsOf(manifest) : [];
  const bytes = parts.every((x) => x.bytes !== undefined) ? parts.reduce((s, x) => s + (x.bytes ?? 0), 0) : null;
  const lastEventTime = manifest?.lastEventTime ?? null;
  const schedule = spec.schedule ?? null;
  const interval = schedule ? scheduleIntervalSeconds(schedule, now) : null;
  const nextRunAt = schedule ? (parseSchedule(schedule).nextRun(now)?.toISOString() ?? null) : null;
  const lastMaterializedAt = manifest?.committedAt ?? null;
  const stale =
    interval === null
      ? null
      : lastMaterializedAt === null || now.getTime() - Date.parse(lastMaterializedAt) > 2 * interval * 1000;

  const [last] = await meta.listJobs({ kind: 'materialize', subject: record.name, limit: 1 });
  const lineage = await lineageOf(meta, kind, record);
  return {
    kind,
    name: record.name,
    version: record.version,
    description: spec.description ?? null,
    team: spec.team ?? null,
    owner: spec.owner ?? null,
    tags: spec.tags ?? {},
    entities: spec.entities,
    schema,
    ttlSeconds: 'ttlSeconds' in spec ? (spec.ttlSeconds ?? null) : null,
    online: kind === 'feature-view' && (spec as FeatureView).online !== false,
    offline: manifest
      ? { rows: manifest.rows, bytes, files: manifest.files.length, committedAt: manifest.committedAt }
      : null,
    freshness: {
      lastEventTime,
      lagSeconds: lastEventTime ? Math.max(0, (now.getTime() - Date.parse(lastEventTime)) / 1000) : null,
      lastMaterializedAt,
      schedule,
      updateFrequencySeconds: interval,
      nextRunAt,
      stale,
    },
    lastRun: last
      ? { jobId: last.id, status: last.status, attempts: last.attempts, finishedAt: last.finishedAt, error: last.error }
      : null,
    consumers: {
      featureServices: lineage.featureServices,
      exampleSets: lineage.exampleSets,
      models: lineage.models,
      deployments: lineage.deployments,
    },
  };
}
