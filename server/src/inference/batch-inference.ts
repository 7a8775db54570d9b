import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  problem,
  ProblemError,
  type BatchInferenceRequest,
  type BatchInferenceResult,
  type DataSource,
  type Entity,
  type ExampleSet,
  type FeatureView,
  type ModelVersion,
  type PipelineInput,
  type ValueType,
} from '@plinth/schema';
import {
  assembleInputs,
  encodeEntityKey,
  graphOutputs,
  onlineRefs,
  outputRows,
  pipelineColumns,
  PipelineSession,
  readOnlineColumns,
  readParquetBatches,
  servingView,
  type EntityKeyValue,
  type GraphValue,
  type OnlineWrite,
  type ServingView,
} from '@plinth/kernel-lib';
import type { Table } from 'apache-arrow';
import type { JobEnv } from '../jobs/queue';
import type { JobContext } from '../featurestore/materialize';
import type { RegistryRecord } from '../stores/types';
import { entitiesOf } from '../featurestore/definitions';
import { DataSourceError, OfflineEngine, ident, literal, valueTypeOf } from '../offline/duckdb';
import { localFile, localFiles } from '../stores/object/local-cache';
import { getArtifact } from '../repository/artifacts';
import { getModelVersion } from '../repository/models';
import type { Platform } from '../platform';

/** Where batch predictions live in the offline store: `<prefix>/<output>/<job id>/part-NNNNN.parquet`. */
export const BATCH_PREFIX = 'batch-predictions';
export const DEFAULT_CHUNK_ROWS = 50_000;

/** A request whose model version is pinned (the control plane resolves aliases before queueing). */
export type PinnedBatchRequest = BatchInferenceRequest & { version: number };

type KeyColumn = { name: string; type: string };

/** What a batch inference reads and writes, resolved and checked against the registry. */
export interface ResolvedBatch {
  req: PinnedBatchRequest;
  model: Pick<ModelVersion, 'name' | 'version' | 'pipeline' | 'artifact'>;
  inputs: PipelineInput[];
  outputs: GraphValue[];
  /** The online views the pipeline reads (entity lists only: example sets carry the features). */
  views: Map<string, ServingView>;
  /** Entity key columns of the output rows, in order. */
  keys: KeyColumn[];
  /** The example set's label-time column, kept in the output. */
  timestamp?: string;
  source:
    | { kind: 'exampleSet'; record: RegistryRecord<Omit<ExampleSet, 'version'>> }
    | { kind: 'entities'; dataSource: DataSource; requestColumns: string[] };
  push?: { view: string; keys: string[]; features: string[] };
}

const TITLES: Record<number, string> = { 404: 'Not found', 409: 'Version archived' };
const invalid = (detail: string, pointer: string, status = 422) =>
  new ProblemError(problem(status, TITLES[status] ?? 'Invalid batch inference', detail, [{ pointer, detail }]));

const DUCK_TYPES: Record<ValueType, string> = {
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  bool: 'BOOLEAN',
  string: 'VARCHAR',
  timestamp: 'TIMESTAMPTZ',
};

/** The Parquet type of a graph output: float32 scores are written as DOUBLE (exact), [N, k] as lists. */
function outputType(o: GraphValue): string {
  const scalar = o.elementType === 'string' ? 'VARCHAR' : o.elementType === 'int64' ? 'BIGINT' : 'DOUBLE';
  return o.shape.length > 1 ? `${scalar}[]` : scalar;
}

/** Which view feature types can hold which scalar output. */
function fits(feature: ValueType, o: GraphValue): boolean {
  if (o.shape.length > 1) return false;
  if (feature === 'string') return o.elementType === 'string';
  if (feature === 'float32' || feature === 'float64') return o.elementType !== 'string';
  if (feature === 'int32' || feature === 'int64') return o.elementType === 'int64';
  return false;
}

const sameKeys = (a: string[], b: string[]) => a.length === b.length && a.every((k) => b.includes(k));

async function servingViews(env: Pick<JobEnv, 'meta'>, inputs: PipelineInput[]): Promise<Map<string, ServingView>> {
  const views = new Map<string, ServingView>();
  for (const ref of onlineRefs(inputs)) {
    if (views.has(ref.view)) continue;
    const fv = await env.meta.getLatest<FeatureView>('feature-view', ref.view);
    if (!fv) throw invalid(`feature view '${ref.view}', read by the model, no longer exists`, '/model');
    views.set(fv.name, servingView(fv.spec, await entitiesOf(env, fv.spec)));
  }
  return views;
}

/** The columns of a data source as the lake has them now; a source that cannot be read is a 422. */
async function sourceColumns(env: JobEnv, engine: OfflineEngine, ds: DataSource): Promise<Map<string, string>> {
  const pointer = '/source/entities/dataSource';
  try {
    await engine.registerSources([ds], env.config.lakeDir);
    return new Map((await engine.describe(`SELECT * FROM ${ident(ds.name)}`)).map((c) => [c.name, c.type]));
  } catch (e) {
    if (e instanceof DataSourceError) throw invalid(e.message, pointer);
    if (e instanceof Error && /^[A-Z][A-Za-z ]* Error: /.test(e.message))
      throw invalid(`data source '${ds.name}' cannot be read: ${e.message.split('\n')[0]}`, pointer);
    throw e;
  }
}

/**
 * Checks a batch request against the registry and the lake, with its model version pinned: the
 * version and its source exist, the source has every column the pipeline needs, and a
 * `pushToOnline` view is keyed like the scored rows and declares features the pipeline
 * outputs. The control plane runs it before queueing (a bad request is answered at once,
 * naming the field); the job runs it again before it writes anything.
 */
export async function resolveBatch(env: JobEnv, req: PinnedBatchRequest): Promise<ResolvedBatch> {
  const mv = await env.meta.getVersion<Pick<ModelVersion, 'name' | 'version' | 'pipeline' | 'artifact'>>(
    'model',
    req.model,
    req.version,
  );
  if (!mv || mv.deletedAt) throw invalid(`model ${req.model} has no version ${req.version}`, '/version', 404);
  const pipeline = mv.spec.pipeline;
  const model = { name: req.model, version: req.version, pipeline, artifact: mv.spec.artifact };
  const inputs = pipeline.inputs;
  const outputs = graphOutputs(pipeline);
  const exactlyOne = [req.source.exampleSet, req.source.entities].filter(Boolean).length;
  if (exactlyOne !== 1) throw invalid('give exactly one of source.exampleSet and source.entities', '/source', 400);

  let source: ResolvedBatch['source'];
  let keys: KeyColumn[];
  let timestamp: string | undefined;
  let views = new Map<string, ServingView>();
  if (req.source.exampleSet) {
    const { name, version } = req.source.exampleSet;
    const pointer = '/source/exampleSet';
    const es = version
      ? await env.meta.getVersion<Omit<ExampleSet, 'version'>>('example-set', name, version)
      : await env.meta.getLatest<Omit<ExampleSet, 'version'>>('example-set', name);
    if (!es || es.deletedAt)
      throw invalid(`example set ${name}${version ? `@${version}` : ''} does not exist`, pointer);
    const columns = new Map(es.spec.columns.map((c) => [c.name, c]));
    const missing = inputs.filter((i) => !columns.has(i.name)).map((i) => i.name);
    if (missing.length)
      throw invalid(
        `example set ${name}@${es.version} has no column ${missing.map((m) => `'${m}'`).join(', ')}, needed by ${req.model}@${req.version}`,
        pointer,
      );
    keys = es.spec.columns.filter((c) => c.role === 'key').map((c) => ({ name: c.name, type: DUCK_TYPES[c.type] }));
    timestamp = es.spec.columns.find((c) => c.role === 'timestamp')?.name;
    source = { kind: 'exampleSet', record: es };
  } else {
    const name = (req.source.entities as { dataSource: string }).dataSource;
    const pointer = '/source/entities/dataSource';
    const ds = await env.meta.getLatest<DataSource>('data-source', name);
    if (!ds || ds.deletedAt) throw invalid(`data source '${name}' does not exist`, pointer);
    views = await servingViews(env, inputs);
    const joinKeys = [...new Map([...views.values()].flatMap((v) => v.joinKeys).map((k) => [k.name, k])).values()];
    if (!joinKeys.length)
      throw invalid(
        `${req.model}@${req.version} reads no online features, so it has no entity keys to look up: score an example set instead`,
        '/source/entities',
      );
    const engine = await OfflineEngine.create({ threads: 1 });
    let columns: Map<string, string>;
    try {
      columns = await sourceColumns(env, engine, ds.spec);
    } finally {
      engine.close();
    }
    const missing = joinKeys.filter((k) => !columns.has(k.name)).map((k) => k.name);
    if (missing.length)
      throw invalid(
        `data source '${name}' has no join-key column ${missing.map((m) => `'${m}'`).join(', ')}, needed by ${req.model}@${req.version} (columns: ${[...columns.keys()].join(', ')})`,
        pointer,
      );
    // Checked here rather than per chunk: a key column of the wrong type would fail every row.
    const mistyped = joinKeys.filter((k) => {
      const t = valueTypeOf(columns.get(k.name) as string);
      return k.type === 'string' ? t !== 'string' : t !== 'int32' && t !== 'int64';
    });
    if (mistyped.length)
      throw invalid(
        `data source '${name}': ${mistyped.map((k) => `join key '${k.name}' is ${columns.get(k.name)}, the entity's is ${k.type}`).join('; ')}`,
        pointer,
      );
    keys = joinKeys.map((k) => ({ name: k.name, type: columns.get(k.name) as string }));
    const requestColumns = inputs
      .filter((i) => i.source.kind === 'request' && columns.has(i.name))
      .map((i) => i.name)
      .filter((n) => !keys.some((k) => k.name === n));
    // The predict route's rule (assembleInputs): strings for string inputs, numbers or booleans otherwise.
    const wrong = requestColumns.filter((n) => {
      const t = valueTypeOf(columns.get(n) as string);
      return inputs.find((i) => i.name === n)?.type === 'string' ? t !== 'string' : t === 'string' || t === 'timestamp';
    });
    if (wrong.length)
      throw invalid(
        `data source '${name}': ${wrong.map((n) => `column '${n}' is ${columns.get(n)}, but input '${n}' of ${req.model}@${req.version} takes ${inputs.find((i) => i.name === n)?.type === 'string' ? 'strings' : 'numbers'}`).join('; ')}`,
        pointer,
      );
    source = { kind: 'entities', dataSource: ds.spec, requestColumns };
  }

  let push: ResolvedBatch['push'];
  if (req.pushToOnline) {
    const pointer = '/pushToOnline/view';
    const fv = await env.meta.getLatest<FeatureView>('feature-view', req.pushToOnline.view);
    if (!fv || fv.deletedAt) throw invalid(`feature view '${req.pushToOnline.view}' does not exist`, pointer);
    if (fv.spec.online === false) throw invalid(`feature view '${fv.name}' is not served online`, pointer);
    const viewKeys = (await entitiesOf(env, fv.spec)).flatMap((e: Entity) => e.joinKeys.map((k) => k.name));
    const rowKeys = keys.map((k) => k.name);
    if (!sameKeys(viewKeys, rowKeys))
      throw invalid(
        `feature view '${fv.name}' is keyed by ${viewKeys.join(', ')}, but the scored rows by ${rowKeys.join(', ') || 'nothing'}`,
        pointer,
      );
    const byName = new Map(outputs.map((o) => [o.name, o]));
    const bad: string[] = [];
    for (const f of fv.spec.features) {
      const o = byName.get(f.name);
      if (!o)
        bad.push(
          `'${f.name}' is not an output of ${req.model}@${req.version} (${outputs.map((x) => x.name).join(', ')})`,
        );
      else if (!fits(f.type, o))
        bad.push(
          `'${f.name}' (${f.type}) cannot hold output '${o.name}' (${o.elementType}${o.shape.length > 1 ? ' list' : ''})`,
        );
    }
    if (bad.length) throw invalid(`feature view '${fv.name}': ${bad.join('; ')}`, pointer);
    push = { view: fv.name, keys: viewKeys, features: fv.spec.features.map((f) => f.name) };
  }
  return { req, model, inputs, outputs, views, keys, timestamp, source, push };
}

/** The job's parameters: requests are pinned by the control plane (`pinBatchRequest`) before they are queued. */
export function pinnedRequest(req: BatchInferenceRequest): PinnedBatchRequest {
  if (req.version === undefined)
    throw invalid('a queued batch inference needs its model version pinned', '/version', 400);
  return req as PinnedBatchRequest;
}

/**
 * Answers a batch request in the control plane before it is queued: resolves the model version
 * (number, newest, or alias) and the example set's version and pins both in the job's
 * parameters, so every attempt of the job scores the same rows with the same model even if an
 * alias moves meanwhile. Archived versions are refused, like deploying them. Unknown names and
 * sources that do not fit are 4xx problems naming the field; nothing is written.
 */
export async function pinBatchRequest(p: Platform, body: BatchInferenceRequest): Promise<PinnedBatchRequest> {
  if (body.alias && body.version) throw invalid('give a version or an alias, not both', '/alias', 400);
  let mv: ModelVersion;
  try {
    mv = await getModelVersion(p, body.model, body.alias ?? body.version);
  } catch (e) {
    if (!(e instanceof ProblemError) || e.status >= 500) throw e;
    const known = await p.meta.getLatest('model', body.model);
    const pointer = !known ? '/model' : body.alias ? '/alias' : '/version';
    throw invalid(e.problem.detail ?? e.problem.title, pointer, e.status);
  }
  if (mv.status === 'archived')
    throw invalid(
      `${mv.name}@${mv.version} is archived; unarchive it to score with it`,
      body.alias ? '/alias' : '/version',
      409,
    );
  const r = await resolveBatch(p, { ...body, version: mv.version });
  const source =
    r.source.kind === 'exampleSet'
      ? { exampleSet: { name: r.source.record.name, version: r.source.record.version } }
      : body.source;
  return { ...body, version: mv.version, source };
}

/** The object key of an example-set file URI, so remote stores are read through the local cache. */
function keyOfUri(env: JobEnv, uri: string): string | null {
  const at = uri.lastIndexOf('/example-sets/');
  if (at < 0) return null;
  const key = decodeURIComponent(uri.slice(at + 1));
  try {
    return env.objects.uri(key) === uri ? key : null;
  } catch {
    return null;
  }
}

/**
 * The rows to score as local Parquet files, in a fixed order, and how many there are. An
 * example set is immutable already. An entity list is read from the lake once per job,
 * de-duplicated and sorted by its keys, and kept beside the parts (`_input.parquet`): a retry
 * cuts the same chunks even if the lake changed meanwhile.
 */
async function stageInput(
  env: JobEnv,
  engine: OfflineEngine,
  r: ResolvedBatch,
  prefix: string,
  tmpDir: string,
): Promise<{ files: string[]; rows: number }> {
  if (r.source.kind === 'exampleSet') {
    const uris = r.source.record.spec.location.files;
    const keys = uris.map((u) => keyOfUri(env, u));
    const local = await localFiles(
      env.objects,
      keys.filter((k): k is string => k !== null),
    );
    return { files: uris.map((u, i) => local.get(keys[i] ?? '') ?? u), rows: r.source.record.spec.rows };
  }
  const key = `${prefix}/_input.parquet`;
  if (!(await env.objects.exists(key))) {
    const ds = r.source.dataSource;
    await sourceColumns(env, engine, ds);
    const keyList = r.keys.map((k) => ident(k.name)).join(', ');
    const cols = [...r.keys.map((k) => k.name), ...r.source.requestColumns].map(ident).join(', ');
    const notNull = r.keys.map((k) => `${ident(k.name)} IS NOT NULL`).join(' AND ');
    const file = path.join(tmpDir, '_input.parquet');
    // One row per entity (the first by all its columns, so the pick is the same on every run).
    await engine.copyToParquet(
      `SELECT ${cols} FROM ${ident(ds.name)} WHERE ${notNull}
       QUALIFY row_number() OVER (PARTITION BY ${keyList} ORDER BY ${cols}) = 1 ORDER BY ${keyList}`,
      file,
    );
    await env.objects.putFile(key, file);
  }
  const file = await localFile(env.objects, key);
  const [{ n }] = (await engine.rows(`SELECT count(*) AS n FROM read_parquet(${literal(file)})`)) as { n: bigint }[];
  return { files: [file], rows: Number(n) };
}

/** A table value as JSON for DuckDB's read_json: bigints as numbers when exact, times as ISO strings. */
function jsonValue(v: unknown, timestamp = false): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (timestamp && typeof v === 'number') return new Date(v).toISOString();
  return v ?? null;
}

/** A key value as the online store's entity key takes it. */
const keyValue = (v: unknown): EntityKeyValue => (typeof v === 'number' || typeof v === 'bigint' ? v : String(v));

/** Scores one chunk: the same calls as the inference tier for entities, the example set's columns otherwise. */
async function scoreChunk(
  env: JobEnv,
  r: ResolvedBatch,
  session: PipelineSession,
  table: Table,
): Promise<ReturnType<typeof outputRows>> {
  if (r.source.kind === 'exampleSet') return outputRows(await session.runTyped(pipelineColumns(table, r.inputs)));
  const names = [...r.keys.map((k) => k.name), ...r.source.requestColumns];
  const cols = names.map((n) => table.getChild(n));
  const instances: Record<string, unknown>[] = Array.from({ length: table.numRows }, (_, i) => {
    const inst: Record<string, unknown> = {};
    names.forEach((n, j) => {
      const v = cols[j]?.get(i) as unknown;
      // Request-time values as the predict route receives them (JSON numbers); keys stay exact.
      inst[n] = j >= r.keys.length && typeof v === 'bigint' ? Number(v) : v;
    });
    return inst;
  });
  const online = await readOnlineColumns(env.online, r.views, onlineRefs(r.inputs), instances);
  const { columns, errors } = assembleInputs(r.inputs, online, instances);
  if (errors.length)
    throw invalid(
      `data source '${r.source.dataSource.name}' has values of the wrong type: ${errors
        .slice(0, 5)
        .map((e) => `${e.pointer.replace(/^\/instances\/\d+\//, '')} ${e.detail}`)
        .join('; ')}`,
      '/source/entities/dataSource',
    );
  return outputRows(await session.runTyped(columns));
}

const partName = (i: number) => `part-${String(i).padStart(5, '0')}`;

interface PartMarker {
  rows: number;
  bytes: number;
  scoredAt: string;
  written: number;
  skippedOlder: number;
}

/**
 * Runs a batch inference job: scores the source chunk by chunk and commits each chunk as its
 * own Parquet part followed by a small marker (`part-NNNNN.json`, written last: a part counts
 * only once its marker exists). A retried job (the queue re-leases it after a failure or a
 * dead worker) skips every chunk with a marker, so the parts committed before are neither
 * rescored nor rewritten and no row appears twice. The manifest, written after the last
 * part, commits the whole result.
 */
export async function batchInference(
  env: JobEnv,
  req: PinnedBatchRequest,
  ctx: JobContext,
): Promise<BatchInferenceResult> {
  const prefix = `${BATCH_PREFIX}/${req.output}/${ctx.jobId}`;
  const manifestKey = `${prefix}/_manifest.json`;
  // Committed by an earlier attempt that died before reporting: the result stands.
  if (await env.objects.exists(manifestKey)) {
    await ctx.log(`already committed: ${env.objects.uri(manifestKey)}`);
    return JSON.parse((await env.objects.get(manifestKey)).toString('utf8')) as BatchInferenceResult;
  }
  const r = await resolveBatch(env, req);
  const chunkRows = req.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const session = await PipelineSession.create(await getArtifact(env.objects, r.model.artifact.sha256));
  const engine = await OfflineEngine.create();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-batch-'));
  try {
    const input = await stageInput(env, engine, r, prefix, tmpDir);
    const chunks = Math.ceil(input.rows / chunkRows);
    const what =
      r.source.kind === 'exampleSet'
        ? `example set ${r.source.record.name}@${r.source.record.version}`
        : `entities of '${r.source.dataSource.name}'`;
    await ctx.log(`${req.model}@${req.version} over ${what}: ${input.rows} rows in ${chunks} chunk(s) of ${chunkRows}`);
    await ctx.progress(0.02);

    const columns: BatchInferenceResult['columns'] = [
      ...r.keys.map((k) => ({ name: k.name, type: k.type, role: 'key' as const })),
      ...(r.timestamp ? [{ name: r.timestamp, type: 'TIMESTAMPTZ', role: 'timestamp' as const }] : []),
      { name: 'model', type: 'VARCHAR', role: 'model' },
      { name: 'version', type: 'INTEGER', role: 'model' },
      { name: 'scored_at', type: 'TIMESTAMPTZ', role: 'model' },
      ...r.outputs.map((o) => ({ name: o.name, type: outputType(o), role: 'output' as const })),
    ];
    const jsonColumns = `{${columns.map((c) => `${literal(c.name)}: ${literal(c.type)}`).join(', ')}}`;
    const markers: PartMarker[] = [];
    let i = 0;
    for await (const table of readParquetBatches(input.files, undefined, chunkRows)) {
      const part = `${prefix}/${partName(i)}`;
      const markerKey = `${part}.json`;
      if (await env.objects.exists(markerKey)) {
        markers.push(JSON.parse((await env.objects.get(markerKey)).toString('utf8')) as PartMarker);
        await ctx.log(`chunk ${i + 1}/${chunks}: committed by an earlier attempt, skipped`);
      } else {
        const scoredAt = new Date();
        const outputs = await scoreChunk(env, r, session, table);
        const keyCols = r.keys.map((k) => table.getChild(k.name));
        const tsCol = r.timestamp ? table.getChild(r.timestamp) : null;
        const stamp = scoredAt.toISOString();
        const lines: string[] = new Array<string>(table.numRows);
        for (let row = 0; row < table.numRows; row++) {
          const o: Record<string, unknown> = {};
          r.keys.forEach((k, j) => (o[k.name] = jsonValue(keyCols[j]?.get(row))));
          if (r.timestamp) o[r.timestamp] = jsonValue(tsCol?.get(row), true);
          o.model = req.model;
          o.version = req.version;
          o.scored_at = stamp;
          // NaN scores become null (JSON has no NaN), as in the predict route's answers.
          for (const out of r.outputs) o[out.name] = outputs[row][out.name];
          lines[row] = JSON.stringify(o);
        }
        // Online first: a chunk whose part is not committed is pushed again by the retry (the
        // newer scoring time wins the timestamp guard), so the online store never lags a part.
        let written = 0;
        let skippedOlder = 0;
        if (r.push) {
          const push = r.push;
          const writes: OnlineWrite[] = outputs.map((values, row) => ({
            entityKey: encodeEntityKey(push.keys.map((k) => keyValue(table.getChild(k)?.get(row)))),
            eventTs: scoredAt.getTime(),
            values: push.features.map((f) => {
              const v = values[f];
              return typeof v === 'number' && Number.isNaN(v) ? null : v;
            }),
          }));
          ({ written, skippedOlder } = await env.online.writeBatch(push.view, {
            features: push.features,
            rows: writes,
          }));
        }
        const ndjson = path.join(tmpDir, `${partName(i)}.ndjson`);
        const local = path.join(tmpDir, `${partName(i)}.parquet`);
        fs.writeFileSync(ndjson, lines.join('\n') + '\n');
        await engine.copyToParquet(
          `SELECT ${columns.map((c) => ident(c.name)).join(', ')} FROM read_json(${literal(ndjson)}, format = 'newline_delimited', columns = ${jsonColumns})`,
          local,
        );
        fs.rmSync(ndjson);
        const marker: PartMarker = {
          rows: table.numRows,
          bytes: fs.statSync(local).size,
          scoredAt: stamp,
          written,
          skippedOlder,
        };
        await env.objects.putFile(`${part}.parquet`, local);
        await env.objects.put(markerKey, Buffer.from(JSON.stringify(marker)));
        markers.push(marker);
        await ctx.log(
          `chunk ${i + 1}/${chunks}: ${marker.rows} rows -> ${partName(i)}.parquet${r.push ? `, ${written} written online` : ''}`,
        );
      }
      i++;
      await ctx.progress(0.02 + (0.96 * i) / Math.max(chunks, 1));
    }

    const keys = markers.map((_, j) => `${prefix}/${partName(j)}.parquet`);
    const result: BatchInferenceResult = {
      model: req.model,
      version: req.version,
      ...(req.alias ? { alias: req.alias } : {}),
      output: req.output,
      jobId: ctx.jobId,
      source: req.source.exampleSet
        ? {
            exampleSet: {
              name: req.source.exampleSet.name,
              version: (r.source as { record: { version: number } }).record.version,
            },
          }
        : req.source,
      location: env.objects.uri(prefix),
      manifest: env.objects.uri(manifestKey),
      files: keys.map((k) => env.objects.uri(k)),
      parts: markers.map((m, j) => ({ key: keys[j], rows: m.rows, bytes: m.bytes, scoredAt: m.scoredAt })),
      rows: markers.reduce((s, m) => s + m.rows, 0),
      columns,
      ...(r.push
        ? {
            pushedToOnline: {
              view: r.push.view,
              features: r.push.features,
              written: markers.reduce((s, m) => s + m.written, 0),
              skippedOlder: markers.reduce((s, m) => s + m.skippedOlder, 0),
            },
          }
        : {}),
      committedAt: new Date().toISOString(),
    };
    // The manifest is the commit: until it exists, readers see no result at all.
    await env.objects.put(manifestKey, Buffer.from(JSON.stringify(result, null, 2)));
    await ctx.log(`committed ${result.rows} rows in ${keys.length} part(s): ${result.manifest}`);
    return result;
  } finally {
    await session.dispose();
    engine.close();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}
