import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import {
  problem,
  ProblemError,
  type FeatureView,
  type LabelView,
  type MaterializationResult,
  type MaterializeRequest,
} from '@plinth/schema';
import type { JobEnv } from '../jobs/queue';
import { entitiesOf, sourcesOf } from './definitions';
import type { RegistryRecord } from '../stores/types';
import { OfflineEngine, ident, literal } from '../offline/duckdb';
import { commitOfflineManifest, offlinePrefix, readOfflineManifest } from './offline-manifest';
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

/**
 * Runs a view's SQL over the lake, commits the result to the offline store (Parquet, then
 * manifest) and pushes the newest row per entity to the online store (timestamp-guarded).
 * Without a time range it is a full refresh that replaces the committed files; with one it
 * adds the range's rows.
 */
export async function materialize(p: JobEnv, req: MaterializeRequest, ctx: JobContext): Promise<MaterializationResult> {
  const view = await findView(p, req.view);
  const spec = view.record.spec;
  const version = view.record.version;
  const entities = await entitiesOf(p, spec);
  const keys = entities.flatMap((e) => e.joinKeys.map((k) => k.name));
  const fields = view.kind === 'feature-view' ? view.record.spec.features : view.record.spec.labels;
  const ts = spec.timestampColumn;

  const engine = await OfflineEngine.create();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-mat-'));
  try {
    await engine.registerSources(await sourcesOf(p, spec), p.config.lakeDir);
    const where: string[] = [`${ident(ts)} IS NOT NULL`];
    if (req.start) where.push(`${ident(ts)} >= ${literal(req.start)}::TIMESTAMPTZ`);
    if (req.end) where.push(`${ident(ts)} < ${literal(req.end)}::TIMESTAMPTZ`);
    const created = view.kind === 'feature-view' ? view.record.spec.createdTimestampColumn : undefined;
    const cols = [...keys, ts, ...(created ? [created] : []), ...fields.map((f) => f.name)].map(ident).join(', ');
    await engine.run(`CREATE TEMP TABLE result AS SELECT ${cols} FROM (${spec.sql}) AS q WHERE ${where.join(' AND ')}`);
    const [{ n, last }] = (await engine.rows(`SELECT count(*) AS n, max(${ident(ts)}) AS last FROM result`)) as {
      n: bigint;
      last: Date | null;
    }[];
    const rows = Number(n);
    await ctx.log(`${view.kind} ${spec.name}@${version}: ${rows} rows`);
    // Data quality: checked (and the report kept) before anything is committed; strict failures throw.
    const qctx = {
      view: spec.name,
      version,
      kind: view.kind,
      jobId: ctx.jobId,
      timestampColumn: ts,
      objects: p.objects,
    };
    const quality = spec.quality && (await enforceQuality(engine, 'result', spec.quality, qctx, (l) => ctx.log(l)));
    await ctx.progress(0.3);

    // Offline: Parquet under a run-specific key, visible only once the manifest names it.
    const local = path.join(tmpDir, 'part-0.parquet');
    await engine.copyToParquet(`SELECT * FROM result ORDER BY ${ident(ts)}`, local);
    const key = `${offlinePrefix(spec.name, version)}/run=${ctx.jobId}/part-0.parquet`;
    const bytes = fs.statSync(local).size;
    await p.objects.putFile(key, local);
    const previous = await readOfflineManifest(p.objects, spec.name, version);
    const incremental = !!(req.start || req.end);
    const files = incremental && previous ? [...previous.files, key] : [key];
    const lastEventTime = last
      ? new Date(
          Math.max(last.getTime(), previous?.lastEventTime ? Date.parse(previous.lastEventTime) : 0),
        ).toISOString()
      : (previous?.lastEventTime ?? null);
    await commitOfflineManifest(p.objects, {
      view: spec.name,
      version,
      kind: view.kind,
      files,
      rows: incremental && previous ? previous.rows + rows : rows,
      lastEventTime,
      committedAt: new Date().toISOString(),
    });
    await ctx.log(`committed offline ${key}`);
    const columns = viewColumns(entities, ts, fields, view.kind);
    const meta = { view: spec.name, version, jobId: ctx.jobId, bytes, lastEventTime: last?.toISOString() ?? null };
    const statistics = await recordStatistics(p.objects, engine, 'result', columns, meta);
    await ctx.progress(0.5);

    // Online: newest row per entity. Label views are not served online.
    let written = 0;
    let skippedOlder = 0;
    if (view.kind === 'feature-view' && view.record.spec.online !== false) {
      ({ written, skippedOlder } = await pushLatestOnline(engine, 'result', p.online, {
        view: spec.name,
        keys,
        timestampColumn: ts,
        features: fields.map((f) => f.name),
        progress: (f) => ctx.progress(0.5 + 0.5 * f),
      }));
      await ctx.log(`online: ${written} entities written, ${skippedOlder} skipped (older than stored)`);
    }
    return {
      view: spec.name,
      version,
      rows,
      files,
      onlineWritten: written,
      onlineSkippedOlder: skippedOlder,
      lastEventTime,
      statistics,
      ...(quality ? { quality } : {}),
    };
  } finally {
    engine.close();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

export const newRunId = () => crypto.randomUUID();
