import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  problem,
  ProblemError,
  type Entity,
  type ExampleSet,
  type ExampleSetColumn,
  type ExampleSetSpec,
  type FeatureService,
  type FeatureView,
  type FieldError,
  type LabelView,
  type ValueType,
  type VersionRef,
} from '@plinth/schema';
import type { JobEnv } from '../jobs/queue';
import { entitiesOf } from './definitions';
import type { RegistryRecord } from '../stores/types';
import { OfflineEngine, ident, literal, valueTypeOf } from '../offline/duckdb';
import { localFiles } from '../stores/object/local-cache';
import { sha256, sha256File } from '../util/hash';
import { readOfflineManifest, type OfflineManifest } from './offline-manifest';
import type { JobContext } from './materialize';

/** Registry spec of an example set: the manifest without its version (the registry assigns it). */
export type StoredExampleSet = Omit<ExampleSet, 'version'>;

export const featureColumnName = (view: string, feature: string) => `${view}__${feature}`;

interface ResolvedView {
  record: RegistryRecord<FeatureView>;
  features: string[];
  keys: string[];
  files: string[];
}

const invalid = (detail: string, errors: FieldError[]) =>
  new ProblemError(problem(422, 'Invalid example set', detail, errors));

async function committedFiles(
  p: JobEnv,
  kind: string,
  name: string,
  version: number,
  pointer: string,
): Promise<OfflineManifest> {
  const m = await readOfflineManifest(p.objects, name, version);
  if (!m || m.files.length === 0) {
    throw invalid(`${kind} '${name}' has no materialized data`, [
      { pointer, detail: `${kind} '${name}' (version ${version}) has no materialized data: materialize it first` },
    ]);
  }
  return m;
}

const keysOf = (entities: Entity[]) => entities.flatMap((e) => e.joinKeys.map((k) => k.name));

/** What an example set joins, resolved and checked: every view exists and has committed data. */
export interface ResolvedExampleSet {
  label: RegistryRecord<LabelView>;
  labelManifest: OfflineManifest;
  labelKeys: string[];
  views: Map<string, ResolvedView>;
  /** The feature service the features came from (its latest version), when the spec named one. */
  featureService?: VersionRef;
}

/**
 * Checks an example-set spec against the registry and the offline store; a 422 names each
 * unusable `/features/<i>` (or `/featureService`). The control plane runs it before
 * enqueueing, so a bad spec is answered at once instead of becoming a failed job.
 */
export async function resolveExampleSet(p: JobEnv, spec: ExampleSetSpec): Promise<ResolvedExampleSet> {
  // Exactly one of the two: checked here rather than with a oneOf, whose errors name neither field.
  if (spec.features && spec.featureService)
    throw invalid('give either features or featureService, not both', [
      { pointer: '/featureService', detail: 'cannot be combined with features' },
    ]);
  if (!spec.features && !spec.featureService)
    throw invalid('an example set needs features or a featureService', [
      { pointer: '/features', detail: 'is required unless featureService is given' },
    ]);
  let refs = spec.features ?? [];
  let featureService: VersionRef | undefined;
  if (spec.featureService) {
    const svc = await p.meta.getLatest<FeatureService>('feature-service', spec.featureService);
    if (!svc)
      throw invalid(`feature service '${spec.featureService}' does not exist`, [
        { pointer: '/featureService', detail: `feature service '${spec.featureService}' does not exist` },
      ]);
    refs = svc.spec.features;
    featureService = { name: svc.name, version: svc.version };
  }
  // Errors about a service's features point at the service, naming which of its references failed.
  const at = (i: number) => (featureService ? '/featureService' : `/features/${i}`);
  const why = (i: number, detail: string) =>
    featureService
      ? `feature service '${featureService.name}' (version ${featureService.version}) names '${refs[i]}': ${detail}`
      : detail;

  const label = await p.meta.getLatest<LabelView>('label-view', spec.labelView);
  if (!label)
    throw invalid(`label view '${spec.labelView}' does not exist`, [
      { pointer: '/labelView', detail: `label view '${spec.labelView}' does not exist` },
    ]);
  const labelManifest = await committedFiles(p, 'label view', label.name, label.version, '/labelView');
  const labelKeys = keysOf(await entitiesOf(p, label.spec));

  // Resolve feature references, grouped by view in order of first mention.
  const views = new Map<string, ResolvedView>();
  const errors: FieldError[] = [];
  for (const [i, ref] of refs.entries()) {
    const [viewName, feature] = ref.split(':');
    let rv = views.get(viewName);
    if (!rv) {
      const record = await p.meta.getLatest<FeatureView>('feature-view', viewName);
      if (!record) {
        errors.push({ pointer: at(i), detail: why(i, `feature view '${viewName}' does not exist`) });
        continue;
      }
      const keys = keysOf(await entitiesOf(p, record.spec));
      const missing = keys.filter((k) => !labelKeys.includes(k));
      if (missing.length) {
        errors.push({
          pointer: at(i),
          detail: why(
            i,
            `label view '${label.name}' has no join key ${missing.join(', ')} needed by feature view '${viewName}'`,
          ),
        });
        continue;
      }
      const manifest = await committedFiles(p, 'feature view', viewName, record.version, at(i));
      rv = { record, features: [], keys, files: manifest.files };
      views.set(viewName, rv);
    }
    const wanted = feature ? [feature] : rv.record.spec.features.map((f) => f.name);
    for (const f of wanted) {
      if (!rv.record.spec.features.some((d) => d.name === f)) {
        errors.push({ pointer: at(i), detail: why(i, `feature view '${viewName}' has no feature '${f}'`) });
      } else if (!rv.features.includes(f)) rv.features.push(f);
    }
  }
  if (errors.length) throw invalid(`the example set '${spec.name}' refers to features that cannot be used`, errors);
  return { label, labelManifest, labelKeys, views, ...(featureService ? { featureService } : {}) };
}

/**
 * Builds a new example-set version: the label view's rows are the spine, and every feature
 * is joined point-in-time: the newest feature row whose event time is <= the label time (and
 * within the view's TTL). A label never sees a later feature value.
 */
export async function buildExampleSet(p: JobEnv, spec: ExampleSetSpec, ctx: JobContext): Promise<ExampleSet> {
  const { label, labelManifest, labelKeys, views, featureService } = await resolveExampleSet(p, spec);

  const engine = await OfflineEngine.create();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-es-'));
  try {
    // Remote objects are read from local copies: DuckDB cannot read S3 here (local-cache.ts).
    const cached = await localFiles(p.objects, [
      ...labelManifest.files,
      ...[...views.values()].flatMap((v) => v.files),
    ]);
    const files = (keys: string[]) => `[${keys.map((k) => literal(cached.get(k) ?? k)).join(', ')}]`;
    const lts = label.spec.timestampColumn;
    const labels = label.spec.labels.map((l) => l.name);
    const where = [`${ident(lts)} IS NOT NULL`];
    if (spec.start) where.push(`${ident(lts)} >= ${literal(spec.start)}::TIMESTAMPTZ`);
    if (spec.end) where.push(`${ident(lts)} < ${literal(spec.end)}::TIMESTAMPTZ`);
    const ctes = [
      `spine AS (SELECT ${[...labelKeys, lts, ...labels].map(ident).join(', ')} FROM read_parquet(${files(labelManifest.files)}) WHERE ${where.join(' AND ')})`,
    ];
    let prev = 'spine';
    const outCols: string[] = [...labelKeys, lts, ...labels].map(ident);
    const columns: ExampleSetColumn[] = [];
    let j = 0;
    for (const [name, rv] of views) {
      const fts = rv.record.spec.timestampColumn;
      const tsAlias = `__ts${j}`;
      const featSel = rv.features.map((f) => `${ident(f)} AS ${ident(featureColumnName(name, f))}`);
      const select = `SELECT ${rv.keys.map(ident).join(', ')}, ${ident(fts)} AS ${tsAlias}, ${featSel.join(', ')}`;
      const entityTime = [...rv.keys, fts].map(ident).join(', ');
      // Equal event times for one entity need a tie-break before the ASOF join, which would pick
      // any of them. Finding out is one cheap aggregate; the ranking window is costly (it sorts
      // every row with its features), so it runs only for views that have such ties.
      const tied = await engine.rows(
        `SELECT 1 FROM read_parquet(${files(rv.files)}) GROUP BY ${entityTime} HAVING count(*) > 1 LIMIT 1`,
      );
      if (tied.length === 0) {
        ctes.push(`fv${j} AS (${select} FROM read_parquet(${files(rv.files)}))`);
      } else {
        // The row created last wins (the view's createdTimestampColumn, else the part committed
        // last), so the join is deterministic.
        const created = rv.record.spec.createdTimestampColumn;
        const tieBreak = [
          ...(created ? [`${ident(created)} DESC NULLS LAST`] : []),
          // file_index follows the manifest's file list, which is in commit order.
          'file_index DESC',
          // Within one file, the later row: the same answer on every build of the same data.
          'file_row_number DESC',
        ].join(', ');
        ctes.push(
          `fv${j} AS (${select} FROM read_parquet(${files(rv.files)}, file_row_number = true) ` +
            `QUALIFY row_number() OVER (PARTITION BY ${entityTime} ORDER BY ${tieBreak}) = 1)`,
        );
      }
      const on = [
        ...rv.keys.map((k) => `${prev}.${ident(k)} = f.${ident(k)}`),
        `${prev}.${ident(lts)} >= f.${tsAlias}`,
      ].join(' AND ');
      const picked = rv.features.map((f) => `f.${ident(featureColumnName(name, f))}`);
      ctes.push(
        `j${j} AS (SELECT ${prev}.*, f.${tsAlias}, ${picked.join(', ')} FROM ${prev} ASOF LEFT JOIN fv${j} f ON ${on})`,
      );
      const ttl = rv.record.spec.ttlSeconds ?? 0;
      // In integer microseconds: interval arithmetic on TIMESTAMPTZ goes through ICU per value.
      const expired = `epoch_us(${ident(lts)}) - epoch_us(${tsAlias}) > ${ttl}000000`;
      for (const f of rv.features) {
        const col = ident(featureColumnName(name, f));
        // TTL: a feature row older than the label time minus the TTL is as good as missing.
        outCols.push(ttl > 0 ? `CASE WHEN ${expired} THEN NULL ELSE ${col} END AS ${col}` : col);
      }
      prev = `j${j}`;
      j++;
    }
    const sql = `WITH ${ctes.join(',\n')} SELECT ${outCols.join(', ')} FROM ${prev} ORDER BY ${[lts, ...labelKeys].map(ident).join(', ')}`;
    await ctx.log(`point-in-time join of ${label.name} with ${[...views.keys()].join(', ')}`);
    // Straight to Parquet: the joined rows are never held as a table (they may not fit).
    const local = path.join(tmpDir, 'part-0.parquet');
    await engine.copyToParquet(sql, local);
    await engine.run(`CREATE VIEW examples AS SELECT * FROM read_parquet(${literal(local)})`);
    await ctx.progress(0.6);

    const described = await engine.describe('SELECT * FROM examples');
    const typeOf = new Map(described.map((c) => [c.name, valueTypeOf(c.type) as ValueType]));
    for (const k of labelKeys) columns.push({ name: k, type: typeOf.get(k) ?? 'string', role: 'key' });
    columns.push({ name: lts, type: 'timestamp', role: 'timestamp' });
    for (const l of labels)
      columns.push({ name: l, type: typeOf.get(l) ?? 'float64', role: 'label', source: `${label.name}:${l}` });
    for (const [name, rv] of views) {
      for (const f of rv.features) {
        const c = featureColumnName(name, f);
        columns.push({ name: c, type: typeOf.get(c) ?? 'float64', role: 'feature', source: `${name}:${f}` });
      }
    }
    const statsSql = labels
      .map(
        (l) =>
          `count(${ident(l)}) AS ${ident(`${l}__count`)}, count(*) - count(${ident(l)}) AS ${ident(`${l}__missing`)}, avg(${ident(l)}::DOUBLE) AS ${ident(`${l}__mean`)}`,
      )
      .join(', ');
    const [stats] = await engine.rows(
      `SELECT count(*) AS __rows, min(${ident(lts)}) AS __first, max(${ident(lts)}) AS __last, ${statsSql} FROM examples`,
    );
    const rows = Number(stats.__rows as bigint);
    if (rows === 0) {
      throw invalid(`the example set '${spec.name}' would be empty`, [
        { pointer: spec.start || spec.end ? '/start' : '/labelView', detail: 'no label rows in the time range' },
      ]);
    }

    const bytes = fs.statSync(local).size;
    const contentHash = await sha256File(local);
    const key = `example-sets/${spec.name}/${contentHash.slice(0, 16)}-${ctx.jobId}/part-0.parquet`;
    await p.objects.putFile(key, local);
    await ctx.progress(0.9);

    const stored: StoredExampleSet = {
      name: spec.name,
      spec,
      location: { uri: p.objects.uri(key.slice(0, key.lastIndexOf('/'))), files: [p.objects.uri(key)] },
      rows,
      bytes,
      columns,
      labelView: { name: label.name, version: label.version },
      timeRange: { start: (stats.__first as Date).toISOString(), end: (stats.__last as Date).toISOString() },
      featureViews: [...views.values()].map((v) => ({ name: v.record.name, version: v.record.version })),
      ...(featureService ? { featureService } : {}),
      labelStats: Object.fromEntries(
        labels.map((l) => [
          l,
          {
            count: Number(stats[`${l}__count`] as bigint),
            missing: Number(stats[`${l}__missing`] as bigint),
            mean: (stats[`${l}__mean`] as number | null) ?? null,
          },
        ]),
      ),
      contentHash,
      createdAt: new Date().toISOString(),
    };
    const { record } = await p.meta.putVersion(
      'example-set',
      spec.name,
      stored,
      sha256(JSON.stringify(stored)),
      'job:' + ctx.jobId,
    );
    await ctx.log(`example set ${spec.name}@${record.version}: ${rows} rows, ${columns.length} columns`);
    return { ...stored, version: record.version };
  } finally {
    engine.close();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

export function exampleSetFromRecord(r: RegistryRecord<StoredExampleSet>): ExampleSet {
  return { ...r.spec, version: r.version };
}
