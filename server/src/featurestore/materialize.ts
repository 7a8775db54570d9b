import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import {
  problem,
  ProblemError,
  type Entity,
  type FeatureView,
  type FieldError,
  type LabelView,
  type MaterializationResult,
  type MaterializeRequest,
} from '@plinth/schema';
import type { JobEnv } from '../jobs/queue';
import { entitiesOf, sourcesOf } from './definitions';
import type { RegistryRecord } from '../stores/types';
import { DataSourceError, OfflineEngine, ident, literal } from '../offline/duckdb';
import { localFile } from '../stores/object/local-cache';
import { viewSchemaErrors } from '../offline/view-schema';
import {
  commitOfflineManifest,
  offlinePrefix,
  partsOf,
  readOfflineManifest,
  type OfflinePart,
} from './offline-manifest';
import { pushLatestOnline } from './online-push';
import { recordStatistics, viewColumns } from './statistics';
import { enforceQuality } from './quality';

export interface JobContext {
  jobId: string;
  progress(fraction: number): Promise<void>;
  log(line: string): Promise<void>;
}

export type AnyView =
  | { kind: 'feature-view'; record: RegistryRecord<FeatureView> }
  | { kind: 'label-view'; record: RegistryRecord<LabelView> };

/** Finds a feature view or label view by name (feature views first). */
export async function findView(p: JobEnv, name: string): Promise<AnyView> {
  const fv = await p.meta.getLatest<FeatureView>('feature-view', name);
  if (fv) return { kind: 'feature-view', record: fv };
  const lv = await p.meta.getLatest<LabelView>('label-view', name);
  if (lv) return { kind: 'label-view', record: lv };
  throw new ProblemError(
    problem(404, 'Not found', `no feature view or label view is named '${name}'`, [
      { pointer: '/view', detail: 'unknown view' },
    ]),
  );
}

type Mode = NonNullable<MaterializationResult['mode']>;

const unprocessable = (title: string, detail: string, errors: FieldError[] = []) =>
  new ProblemError(problem(422, title, detail, errors));

/** Where a new part [start, end) leaves an old one: untouched, wholly replaced, or cut. */
function overlap(old: OfflinePart, start: string | null, end: string | null): 'disjoint' | 'covered' | 'partial' {
  const t = (s: string | null, open: number) => (s === null ? open : Date.parse(s));
  const [os, oe, ns, ne] = [t(old.start, -Infinity), t(old.end, Infinity), t(start, -Infinity), t(end, Infinity)];
  if (oe <= ns || os >= ne) return 'disjoint';
  if (os >= ns && oe <= ne) return 'covered';
  return 'partial';
}

const firstLine = (e: unknown) => (e as Error).message.split('\n')[0];
/** DuckDB reports "<Kind> Error: ..." (IO, Invalid Input, Binder, Conversion...). */
const isDuckDbError = (e: unknown) => e instanceof Error && /^[A-Z][A-Za-z ]* Error: /.test(e.message);

/**
 * Runs the view's SQL into the temp table `result`, naming what broke: a data source that is
 * gone or unreadable, SQL that no longer runs, or columns that drifted from the declaration.
 * These are problems with the data or the definition, so they are not retried.
 */
async function loadViewRows(
  p: JobEnv,
  engine: OfflineEngine,
  view: AnyView,
  entities: Entity[],
  select: string,
): Promise<void> {
  const spec = view.record.spec;
  const what = `${view.kind.replace('-', ' ')} '${spec.name}'`;
  try {
    await engine.registerSources(await sourcesOf(p, spec), p.config.lakeDir);
  } catch (e) {
    if (e instanceof DataSourceError) {
      const i = (spec.sources ?? []).indexOf(e.source);
      throw unprocessable('Data source unreadable', `${what}: ${e.message}`, [
        { pointer: `/sources/${i}`, detail: e.message },
      ]);
    }
    // DuckDB's own errors here are about the files (not Parquet, truncated, wrong header).
    if (!isDuckDbError(e)) throw e;
    const msg = firstLine(e);
    const sources = (spec.sources ?? []).join(', ') || 'none';
    throw unprocessable('Data source unreadable', `${what} (sources: ${sources}): ${msg}`, [
      { pointer: '/sources', detail: msg },
    ]);
  }
  let columns: { name: string; type: string }[];
  try {
    columns = await engine.describe(spec.sql);
  } catch (e) {
    const msg = firstLine(e);
    throw unprocessable('View SQL failed', `the SQL of ${what} no longer runs on the lake: ${msg}`, [
      { pointer: '/sql', detail: msg },
    ]);
  }
  const drift = viewSchemaErrors(spec, entities, columns);
  if (drift.length)
    throw unprocessable(
      'Schema drift',
      `the lake data of ${what} no longer matches its definition: ${drift.map((d) => d.detail).join('; ')}`,
      drift,
    );
  try {
    await engine.run(select);
  } catch (e) {
    const msg = firstLine(e);
    const sources = (spec.sources ?? []).join(', ') || 'none';
    throw unprocessable('Reading the lake failed', `${what} (sources: ${sources}): ${msg}`, [
      { pointer: '/sql', detail: msg },
    ]);
  }
}

/**
 * Runs a view's SQL over the lake and commits the rows to the offline store (Parquet parts
 * plus a manifest, the only thing readers trust), pushing the newest row per entity to the
 * online store (timestamp-guarded) before the commit, so a retried run repeats both.
 *
 * Modes: no range is a full refresh that replaces every committed part; `start`/`end` is a
 * backfill of [start, end) that replaces only what committed parts held in that range;
 * `incremental` takes rows newer than the last committed event time.
 */
export async function materialize(p: JobEnv, req: MaterializeRequest, ctx: JobContext): Promise<MaterializationResult> {
  if (req.incremental && (req.start || req.end))
    throw unprocessable('Invalid materialization', 'incremental runs take no start or end', [
      { pointer: '/incremental', detail: 'cannot be combined with start or end' },
    ]);
  if (req.start && req.end && Date.parse(req.start) >= Date.parse(req.end))
    throw unprocessable('Invalid materialization', `start ${req.start} is not before end ${req.end}`, [
      { pointer: '/end', detail: 'must be after start' },
    ]);
  const view = await findView(p, req.view);
  const spec = view.record.spec;
  const version = view.record.version;
  const entities = await entitiesOf(p, spec);
  const keys = entities.flatMap((e) => e.joinKeys.map((k) => k.name));
  const fields = view.kind === 'feature-view' ? view.record.spec.features : view.record.spec.labels;
  const ts = spec.timestampColumn;
  const previous = await readOfflineManifest(p.objects, spec.name, version);

  let mode: Mode = req.start || req.end ? 'range' : 'full';
  // Normalised, so manifests compare and print one way whatever offset the caller wrote.
  let start = req.start ? new Date(req.start).toISOString() : null;
  const end = req.end ? new Date(req.end).toISOString() : null;
  if (req.incremental && previous?.lastEventTime) {
    mode = 'incremental';
    start = new Date(Date.parse(previous.lastEventTime) + 1).toISOString();
  }
  await ctx.log(
    `${view.kind} ${spec.name}@${version}: ${mode} run over event time [${start ?? 'beginning'}, ${end ?? 'now'})`,
  );

  const engine = await OfflineEngine.create();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-mat-'));
  try {
    const where: string[] = [`${ident(ts)} IS NOT NULL`];
    if (start) where.push(`${ident(ts)} >= ${literal(start)}::TIMESTAMPTZ`);
    if (end) where.push(`${ident(ts)} < ${literal(end)}::TIMESTAMPTZ`);
    const created = view.kind === 'feature-view' ? view.record.spec.createdTimestampColumn : undefined;
    const cols = [...keys, ts, ...(created ? [created] : []), ...fields.map((f) => f.name)].map(ident).join(', ');
    await loadViewRows(
      p,
      engine,
      view,
      entities,
      `CREATE TEMP TABLE result AS SELECT ${cols} FROM (${spec.sql}) AS q WHERE ${where.join(' AND ')}`,
    );
    const [{ n, last }] = (await engine.rows(`SELECT count(*) AS n, max(${ident(ts)}) AS last FROM result`)) as {
      n: bigint;
      last: Date | null;
    }[];
    const rows = Number(n);
    await ctx.log(`${rows} rows`);
    // Data quality: checked (and the report kept) before anything is written; strict failures throw.
    const qctx = {
      view: spec.name,
      version,
      kind: view.kind,
      jobId: ctx.jobId,
      timestampColumn: ts,
      objects: p.objects,
    };
    const quality = spec.quality && (await enforceQuality(engine, 'result', spec.quality, qctx, (l) => ctx.log(l)));
    await ctx.progress(0.2);

    // Online first: pushes are idempotent under the timestamp guard, so if the commit below
    // fails, the retry (which starts from the same committed point) pushes the same rows again.
    let written = 0;
    let skippedOlder = 0;
    if (view.kind === 'feature-view' && view.record.spec.online !== false && rows > 0) {
      ({ written, skippedOlder } = await pushLatestOnline(engine, 'result', p.online, {
        view: spec.name,
        keys,
        timestampColumn: ts,
        features: fields.map((f) => f.name),
        progress: (f) => ctx.progress(0.2 + 0.5 * f),
      }));
      await ctx.log(`online: ${written} entities written, ${skippedOlder} skipped (older than stored)`);
    }
    await ctx.progress(0.7);

    const lastEventTime = last?.toISOString() ?? null;
    const prefix = `${offlinePrefix(spec.name, version)}/run=${ctx.jobId}`;
    if (mode === 'incremental' && rows === 0) {
      await ctx.log('nothing new since the last committed event time; the offline store is unchanged');
      return {
        view: spec.name,
        version,
        rows,
        files: previous?.files ?? [],
        onlineWritten: written,
        onlineSkippedOlder: skippedOlder,
        lastEventTime: previous?.lastEventTime ?? null,
        mode,
        range: { start, end },
        ...(quality ? { quality } : {}),
      };
    }

    // Offline: Parquet under run-specific keys, visible only once the manifest names them.
    const local = path.join(tmpDir, 'part-0.parquet');
    await engine.copyToParquet(`SELECT * FROM result ORDER BY ${ident(ts)}`, local);
    const bytes = fs.statSync(local).size;
    await p.objects.putFile(`${prefix}/part-0.parquet`, local);
    const part: OfflinePart = {
      key: `${prefix}/part-0.parquet`,
      start,
      // Open-ended runs claim event time up to just past their newest row.
      end: end ?? (last ? new Date(last.getTime() + 1).toISOString() : start),
      rows,
      bytes,
      lastEventTime,
    };
    // Earlier parts keep their place (commit order breaks point-in-time ties); what overlaps
    // the new range is cut out of them into new files, never edited in place.
    const kept: OfflinePart[] = [];
    for (const [i, old] of (previous ? partsOf(previous) : []).entries()) {
      // The run replaces its whole requested range (open ends included), not just what it found.
      const rel = overlap(old, start, end);
      if (rel === 'disjoint') kept.push(old);
      if (rel !== 'partial') continue;
      const outside = [
        start && `${ident(ts)} < ${literal(start)}::TIMESTAMPTZ`,
        end && `${ident(ts)} >= ${literal(end)}::TIMESTAMPTZ`,
      ]
        .filter(Boolean)
        .join(' OR ');
      const src = literal(await localFile(p.objects, old.key));
      const rest = path.join(tmpDir, `rest-${i}.parquet`);
      await engine.copyToParquet(`SELECT * FROM read_parquet(${src}) WHERE ${outside}`, rest);
      const [{ c, l }] = (await engine.rows(
        `SELECT count(*) AS c, max(${ident(ts)}) AS l FROM read_parquet(${literal(rest)})`,
      )) as { c: bigint; l: Date | null }[];
      if (Number(c) === 0) continue;
      const key = `${prefix}/rest-${i}.parquet`;
      await p.objects.putFile(key, rest);
      kept.push({
        ...old,
        key,
        rows: Number(c),
        bytes: fs.statSync(rest).size,
        lastEventTime: l?.toISOString() ?? null,
      });
    }
    const parts = [...kept, part];
    const times = parts.map((x) => x.lastEventTime).filter((t): t is string => t !== null);
    const newest = times.length ? times.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b)) : null;
    await commitOfflineManifest(p.objects, {
      view: spec.name,
      version,
      kind: view.kind,
      files: parts.map((x) => x.key),
      parts,
      rows: parts.reduce((sum, x) => sum + x.rows, 0),
      lastEventTime: newest,
      committedAt: new Date().toISOString(),
    });
    await ctx.log(`committed offline ${part.key} (${parts.length} parts)`);
    await ctx.progress(0.85);
    const columns = viewColumns(entities, ts, fields, view.kind);
    const meta = { view: spec.name, version, jobId: ctx.jobId, bytes, lastEventTime };
    const statistics = await recordStatistics(p.objects, engine, 'result', columns, meta);
    return {
      view: spec.name,
      version,
      rows,
      files: parts.map((x) => x.key),
      onlineWritten: written,
      onlineSkippedOlder: skippedOlder,
      lastEventTime: newest,
      mode,
      range: { start, end },
      statistics,
      ...(quality ? { quality } : {}),
    };
  } finally {
    engine.close();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

export const newRunId = () => crypto.randomUUID();
