import crypto from 'node:crypto';
import type { Table } from 'apache-arrow';
import {
  InferenceClient,
  PlinthClient,
  problem,
  ProblemError,
  type ApplyResult,
  type CatalogEntry,
  type CatalogQuery,
  type DefinitionSet,
  type DatasetStatistics,
  type Deployment,
  type DeploymentRevision,
  type DeployRequest,
  type ExampleSet,
  type ExampleSetSpec,
  type Job,
  type Lineage,
  type MaterializationResult,
  type AliasEvent,
  type BatchInferenceRequest,
  type BatchInferenceResult,
  type Evaluation,
  type GatePolicy,
  type ModelAlias,
  type ModelLineage,
  type ModelVersion,
  type Pipeline,
  type OnlineFeaturesRequest,
  type OnlineFeaturesResponse,
  type PredictResponse,
  type PushResponse,
  type PlannedChange,
  type QualityReport,
  type Run,
  type RunSearch,
  type StatisticsOptions,
  type ViewMetadata,
} from '@plinth/schema';
import { progress, type Progress } from './display';
import { exampleSetOf, readParquetAsArrow, readParquetBatches } from './example-store';
import { compilePipelineDocument, referenceExamplesOf } from './pipeline/document';
import { outputRows, PipelineSession, type OutputTensor, type OutputValue, type PipelineInputs } from './onnx/runtime';
import { OnlineFeatureReader } from './online/feature-reader';
import { openOnlineStore, type OnlineStoreConfig } from './online/open-store';
import { assembleInputs, onlineRefs, statusRow, type InputStatus, type OnlineFeatureRow } from './pipeline/assemble';
import { pipelineSpec, train, type TrainOptions, type TrainResult } from './pipeline/train';
import { modelFileOf, parseModelFile } from './pipeline/model-file';
import { showTable } from './display';
import { compareRunsTable, paramStrings, runEnvironment, runSource, TrackedRun, type ParamValue } from './tracking';

export interface ConnectOptions {
  /** Control plane URL (default: env PLINTH_URL, else http://127.0.0.1:8787). */
  url?: string;
  /** Inference tier URL (default: env PLINTH_INFERENCE_URL, else http://127.0.0.1:8788). */
  inferenceUrl?: string;
  /** API token (default: env PLINTH_TOKEN). */
  token?: string;
}

/** Entities, data sources, feature views, label views and feature services to apply or plan together. */
export type Definitions = DefinitionSet;

export interface PublishOptions {
  exampleSet?: ExampleSet;
  /** Rows whose inputs and outputs are stored for deploy-time sanity tests (default: 32 of them). */
  referenceData?: Table;
  description?: string;
  team?: string;
  owner?: string;
  tags?: Record<string, string>;
  requestFeatures?: string[];
  /** The feature service whose features the pipeline's online inputs must be (checked on publish). */
  featureService?: { name: string; version: number };
  /** Markdown: intended use, data, evaluation, limitations. */
  modelCard?: string;
  /** The run that trained the model (default: the run `train` recorded, when the result has one). */
  run?: Run | string;
}

/** What `Plinth.train` adds to `train()`'s options: where and how the run is recorded. */
export interface TrackedTrainOptions extends TrainOptions {
  /** The run's experiment (default 'default'); often the model's name. */
  experiment?: string;
  /** The run's name (default: the model kind and the time). */
  runName?: string;
  tags?: Record<string, string>;
}

/** What `Plinth.batchPredict` takes: a batch inference request whose model may be `'name@version'` or `'name@alias'`. */
export type BatchPredictOptions = Omit<BatchInferenceRequest, 'model'> & {
  /** `'ctr'` (newest version), `'ctr@3'` or `'ctr@production'`; or a bare name with `version` / `alias`. */
  model: string;
};

/** A training's configuration as run parameters: scalars as they are, lists and objects as JSON. */
function configParams(config: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined || v === null || !/^[A-Za-z0-9_.:/-]{1,250}$/.test(k)) continue;
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    // Long lists (hundreds of feature names) go in the model file artifact; the count stays searchable.
    if (text.length > 6000) out[`${k}.count`] = String(Array.isArray(v) ? v.length : Object.keys(v).length);
    else out[k] = text;
  }
  return out;
}

const sha256Hex = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

/** `'ctr'` -> latest, `'ctr@3'` / `'ctr@production'` -> that version or alias. */
function parseModelRef(ref: string, version?: number | string): [string, string | number] {
  const at = ref.indexOf('@');
  if (at >= 0 && version !== undefined) throw new Error(`give '${ref}' or a version, not both`);
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const which = at >= 0 ? ref.slice(at + 1) : (version ?? 'latest');
  if (!name || which === '') throw new Error(`'${ref}' is not a model reference (name, name@version or name@alias)`);
  return [name, which];
}

/** An evaluation as table rows: one row per metric, candidate beside baseline. */
function evaluationTable(e: Evaluation): Record<string, string | number>[] {
  const keys = Object.keys(e.candidate.metrics);
  return keys.map((k) => ({
    metric: k === e.metric ? `${k} (gate)` : k,
    [`v${e.candidate.version}`]: e.candidate.metrics[k],
    ...(e.baseline ? { [`v${e.baseline.version}`]: e.baseline.metrics[k] ?? '' } : {}),
  }));
}

/**
 * The ONNX graph of a pipeline document: its inputs (string inputs encoded in the graph),
 * transformer stages, model and post-processor. The document is checked first (a 400
 * ProblemError names each invalid field).
 */
function compileSpec(spec: Pipeline, metadata?: Record<string, string>): Uint8Array {
  return compilePipelineDocument(spec, metadata).onnx;
}

/** A pipeline loaded locally: the same ONNX graph the inference tier runs. */
export class LocalPipeline {
  constructor(
    readonly spec: Pipeline,
    readonly session: PipelineSession,
    private readonly client: PlinthClient,
    readonly version?: ModelVersion,
  ) {}

  /**
   * Runs the graph on input columns named like the pipeline's inputs (numbers, or strings for
   * string inputs); every output as a Float32Array (see `PipelineSession.run`).
   */
  run(columns: PipelineInputs): Promise<Record<string, Float32Array>> {
    return this.session.run(columns);
  }

  /**
   * Runs the graph and returns each output with its type and dims, strings included (e.g. a
   * post-processor's `decision` labels or `top_k_items`).
   *
   * @example
   * const { decision } = await ctr.runTyped({ user_ctr: [0.1], country: ['fr'] });
   */
  runTyped(columns: PipelineInputs): Promise<Record<string, OutputTensor>> {
    return this.session.runTyped(columns);
  }

  /**
   * Predicts for entities the way the inference tier does: online features are read for
   * their join keys, request-time features come from each instance, defaults fill gaps.
   *
   * @example
   * const [p] = await ctr.predict([{ user_id: 7, product_id: 3, country: 'fr' }]);
   * p.outputs.probability; // a number; [N, k] outputs (probabilities, top_k_items) give a list per instance
   */
  async predict(
    instances: Record<string, string | number | boolean | null>[],
  ): Promise<{ outputs: Record<string, OutputValue>; featureStatuses: Record<string, InputStatus> }[]> {
    const refs = onlineRefs(this.spec.inputs);
    const keys = [...new Set(instances.flatMap((i) => Object.keys(i)))];
    let rows: OnlineFeatureRow[] = instances.map(() => ({ values: {}, statuses: {} }));
    if (refs.length) {
      const entities = Object.fromEntries(keys.map((k) => [k, instances.map((i) => i[k] as string | number)]));
      rows = (await this.client.getOnlineFeatures({ features: refs.map((r) => `${r.view}:${r.feature}`), entities }))
        .rows;
    }
    const { columns, statuses, errors } = assembleInputs(this.spec.inputs, rows, instances);
    if (errors.length)
      throw new ProblemError(
        problem(400, 'Invalid instances', 'some request-time features have the wrong type', errors),
      );
    const out = outputRows(await this.session.runTyped(columns));
    return instances.map((_, i) => ({ outputs: out[i], featureStatuses: statusRow(statuses, i) }));
  }
}

/** One deployment as the inference tier's GET /v1/health lists it. */
interface TierModel {
  deployment: string;
  model: string;
  version: number;
  canary?: { version: number; share: number };
  shadow?: { version: number };
}

/** Whether the tier serves exactly the deployment's state: its primary, and its canary and shadow or none. */
function servesState(m: TierModel, d: Deployment): boolean {
  return (
    m.model === d.model &&
    m.version === d.version &&
    m.canary?.version === d.canary?.version &&
    m.canary?.share === d.canary?.share &&
    m.shadow?.version === d.shadow?.version
  );
}

/** `ctr@3`, `ctr@3 + canary v4 at 10%`, `ctr@3 + shadow v5`. */
function stateOf(d: Deployment): string {
  return (
    `${d.model}@${d.version}` +
    (d.canary ? ` + canary v${d.canary.version} at ${Math.round(d.canary.share * 1000) / 10}%` : '') +
    (d.shadow ? ` + shadow v${d.shadow.version}` : '')
  );
}

/**
 * A deployment's history as table rows (newest first): revision, action, version, canary,
 * shadow, when, by, reason, and `*` on the live state. `plinth deployments history` prints the same.
 *
 * @example
 * const { items } = await p.client.deploymentHistory('ctr');
 * showTable(deploymentHistoryRows(items));
 */
export function deploymentHistoryRows(items: DeploymentRevision[]): Record<string, string>[] {
  return items.map((h) => {
    const d = h.deployment;
    return {
      revision: String(h.revision),
      action: d.action ?? 'deploy',
      version: `${d.model}@${d.version}${d.alias ? ` (${d.alias})` : ''}`,
      canary: d.canary ? `v${d.canary.version} ${Math.round(d.canary.share * 1000) / 10}%` : '',
      shadow: d.shadow ? `v${d.shadow.version}` : '',
      when: h.createdAt.slice(0, 19).replace('T', ' '),
      by: h.createdBy,
      reason: d.reason ?? '',
      live: h.live ? '*' : '',
    };
  });
}

/**
 * The notebook's handle on Plinth: define features, materialize them, build example sets,
 * publish and deploy pipelines, and predict.
 *
 * @example
 * import * as plinth from '@plinth/kernel-lib';
 * const p = plinth.connect();
 * await p.apply({ entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }] });
 */
export class Plinth {
  readonly client: PlinthClient;
  readonly inference: InferenceClient;

  constructor(opts: ConnectOptions = {}) {
    const token = opts.token ?? process.env.PLINTH_TOKEN;
    this.client = new PlinthClient({ baseUrl: opts.url ?? process.env.PLINTH_URL ?? 'http://127.0.0.1:8787', token });
    this.inference = new InferenceClient({
      baseUrl: opts.inferenceUrl ?? process.env.PLINTH_INFERENCE_URL ?? 'http://127.0.0.1:8788',
      token,
    });
  }

  /**
   * Applies definitions (entities and data sources first, feature services after the feature
   * views they name). Unchanged definitions keep their version; changed ones get a new version.
   *
   * @example
   * await p.apply({ featureViews: [userFeatures], labelViews: [clicks] });
   * await p.apply({ featureServices: [{ name: 'ctr_features', features: ['user_features:user_ctr', 'product_features'] }] });
   */
  apply(defs: Definitions): Promise<ApplyResult[]> {
    return this.client.applyDefinitions(defs);
  }

  /**
   * What `apply` would change for these definitions, without changing anything: per document
   * create, update (with the JSON Pointers of the changed fields) or unchanged.
   *
   * @example
   * const { changes } = await p.plan({ featureViews: [userFeatures] });
   * plinth.showTable(changes.map((c) => ({ name: c.name, action: c.action, fields: c.changes.join(', ') })));
   */
  plan(defs: Definitions): Promise<{ changes: PlannedChange[] }> {
    return this.client.plan(defs);
  }

  private async follow(job: Job, title: string): Promise<Job> {
    const bar = progress(title);
    const done = await this.client.waitForJob(job.id, (j) => bar.update(j.progress, j.status));
    bar.done('done');
    return done;
  }

  /**
   * Materializes a feature or label view (offline Parquet + online store) and waits for it,
   * showing progress. Without options it is a full refresh; `{ start, end }` backfills that
   * event-time range (replacing what was committed in it); `{ incremental: true }` adds only
   * rows newer than the last committed event time.
   *
   * @example
   * const r = await p.materialize('user_features');
   * await p.materialize('user_features', { start: '2026-10-01T00:00:00Z', end: '2026-10-08T00:00:00Z' });
   * await p.materialize('user_features', { incremental: true });
   */
  async materialize(
    view: string,
    opts: { start?: string; end?: string; incremental?: boolean } = {},
  ): Promise<MaterializationResult> {
    const job = await this.follow(await this.client.materialize({ view, ...opts }), `Materializing ${view}`);
    return job.result as MaterializationResult;
  }

  /**
   * Searches every team's definitions (feature views, label views, feature services, entities,
   * data sources), best match first; plus `table`, one row per hit for `showTable`.
   *
   * @example
   * const hits = await p.search({ q: 'click rate', kind: 'feature-view' });
   * showTable(hits.table, 'Catalog');
   */
  async search(query: CatalogQuery | string): Promise<{ items: CatalogEntry[]; table: Record<string, string>[] }> {
    const { items } = await this.client.searchCatalog(typeof query === 'string' ? { q: query } : query);
    const table = items.map((e) => ({
      kind: e.kind,
      name: `${e.name}@${e.version}`,
      team: e.team ?? '',
      description: e.description ?? '',
      duplicates: e.duplicates.map((d) => d.name).join(', '),
    }));
    return { items, table };
  }

  /**
   * Where a view's data comes from and who uses it: lake sources, feature services, example
   * sets, models and deployments.
   *
   * @example
   * const l = await p.lineage('user_features');
   * l.models;
   */
  lineage(view: string, kind: 'feature-view' | 'label-view' = 'feature-view'): Promise<Lineage> {
    return this.client.getLineage(view, kind);
  }

  /**
   * A view's metadata: schema, committed rows and bytes, freshness (last event time, lag,
   * update frequency from its schedule, next run, stale), last run and consumers; plus
   * `table`, the schema as rows for `showTable`.
   *
   * @example
   * const m = await p.metadata('user_features');
   * showTable(m.table, `${m.offline?.rows} rows, ${m.freshness.lagSeconds} s behind`);
   */
  async metadata(
    view: string,
    opts: { kind?: 'feature-view' | 'label-view'; version?: number } = {},
  ): Promise<ViewMetadata & { table: Record<string, string>[] }> {
    const m = await this.client.getViewMetadata(view, opts);
    return {
      ...m,
      table: m.schema.map((c) => ({ column: c.name, type: c.type, role: c.role, description: c.description ?? '' })),
    };
  }

  /**
   * Builds a new version of an example set with a point-in-time join and waits for it. The
   * features are either listed (`features`: views or `view:feature`) or those of a feature
   * service (`featureService`, its latest version, recorded in the manifest), not both.
   *
   * @example
   * const es = await p.buildExampleSet({ name: 'clicks_train', labelView: 'clicks', features: ['user_features', 'product_features'] });
   * const fromService = await p.buildExampleSet({ name: 'ctr_train', labelView: 'clicks', featureService: 'ctr_features' });
   * fromService.featureService; // { name: 'ctr_features', version: 1 }
   */
  async buildExampleSet(spec: ExampleSetSpec): Promise<ExampleSet> {
    const job = await this.follow(await this.client.buildExampleSet(spec), `Building example set ${spec.name}`);
    return job.result as ExampleSet;
  }

  /**
   * Scores a model version over a whole example set or entity list as a job, with an updating
   * progress display, and returns the committed result: the Parquet parts in the offline store
   * (`batch-predictions/<output>/<job id>/part-NNNNN.parquet`, listed in `files`), rows, parts
   * and columns. Each chunk of `chunkRows` rows is committed on its own, so a job that fails
   * part-way and is retried resumes after the last committed chunk. With `pushToOnline`, each
   * chunk's outputs are also written to the online store under that feature view (keyed like the
   * scored rows, features named like the outputs), for serving precomputed predictions.
   *
   * @example
   * // Every user of the lake's `users` table, for an e-mail campaign, also pushed online:
   * const r = await p.batchPredict({
   *   model: 'engagement@production',
   *   source: { entities: { dataSource: 'users' } },
   *   output: 'campaign_scores',
   *   pushToOnline: { view: 'engagement_scores' },
   * });
   * r.rows; r.files; // ['file:///…/batch-predictions/campaign_scores/<job>/part-00000.parquet']
   * // Or every row of an example set, with the example set's keys and label time kept:
   * await p.batchPredict({ model: 'ctr', version: 3, source: { exampleSet: { name: 'clicks_holdout' } }, output: 'ctr_holdout' });
   */
  async batchPredict(opts: BatchPredictOptions): Promise<BatchInferenceResult> {
    const { model, ...rest } = opts;
    const req: BatchInferenceRequest = { ...rest, model };
    if (model.includes('@')) {
      const [name, ref] = parseModelRef(model, opts.version ?? opts.alias);
      req.model = name;
      if (typeof ref === 'string' && !/^v?[0-9]+$/.test(ref)) {
        if (ref !== 'latest') req.alias = ref;
      } else req.version = Number(String(ref).replace(/^v/, ''));
    }
    const job = await this.follow(await this.client.batchPredict(req), `Batch inference ${model} -> ${opts.output}`);
    return job.result as BatchInferenceResult;
  }

  /**
   * Loads an example set (latest version unless given) as an Apache Arrow table. Column
   * roles (key, timestamp, label, feature) are in the fields' metadata.
   *
   * @example
   * const table = await p.loadExampleSet('clicks_train');
   */
  async loadExampleSet(name: string, version?: number): Promise<Table> {
    const es = await this.client.getExampleSet(name, version);
    return readParquetAsArrow(es.location.files, es);
  }

  /**
   * Streams an example set (latest version unless given) as Arrow tables of at most
   * `batchRows` rows, for sets larger than memory; the fields carry the same roles as
   * `loadExampleSet`'s.
   *
   * @example
   * for await (const batch of p.exampleSetBatches('clicks_train', { batchRows: 100_000 })) {
   *   console.log(batch.numRows);
   * }
   */
  async *exampleSetBatches(name: string, opts: { version?: number; batchRows?: number } = {}): AsyncGenerator<Table> {
    const es = await this.client.getExampleSet(name, opts.version);
    yield* readParquetBatches(es.location.files, es, opts.batchRows);
  }

  /**
   * Statistics of a view's newest materialization (rows, bytes, per column missing %, mean,
   * variance, min, max, approximate distinct count, histogram or top values), plus `table`:
   * one flat row per column for `showTable`. Label views need `{ kind: 'label-view' }`.
   *
   * @example
   * const s = await p.statistics('user_features');
   * showTable(s.table, `${s.rows} rows, ${s.totalMissingPercent.toFixed(2)}% missing`);
   */
  async statistics(
    view: string,
    opts: StatisticsOptions = {},
  ): Promise<DatasetStatistics & { table: Record<string, string | number | null>[] }> {
    const s = await this.client.getStatistics(view, opts);
    const table = s.columns.map((c) => ({
      column: c.name,
      type: c.type,
      role: c.role,
      'missing %': c.missingPercent,
      distinct: c.distinctApprox,
      mean: c.mean ?? null,
      variance: c.variance ?? null,
      min: c.min ?? null,
      max: c.max ?? null,
      top: c.topValues?.map((t) => `${t.value} (${t.count})`).join(', ') ?? null,
    }));
    return { ...s, table };
  }

  /**
   * Data quality report of a view's newest materialization: the policy, whether the run
   * passed (or was blocked by a strict policy), and per rule the outcome, observed value and
   * expectation; plus `table`, one flat row per rule for `showTable`. Label views need
   * `{ kind: 'label-view' }`; `{ version: N }` picks a view version.
   *
   * @example
   * const q = await p.quality('user_features');
   * showTable(q.table, q.passed ? 'all rules passed' : `${q.policy}: some rules failed`);
   */
  async quality(
    view: string,
    opts: StatisticsOptions = {},
  ): Promise<QualityReport & { table: Record<string, string | number | null>[] }> {
    const q = await this.client.getQualityReport(view, opts);
    const table = q.results.map((r) => ({
      rule: r.name ?? `#${r.rule} ${r.kind}`,
      column: r.column ?? null,
      outcome: r.outcome,
      observed: r.observed,
      expected: r.expected,
      detail: r.detail,
    }));
    return { ...q, table };
  }

  /**
   * Online features of entities as the control plane serves them: a list of `view:feature`
   * references or a feature service's name, N entities in one call. Each value has a status
   * ('present', 'not_found', 'expired', 'timeout', 'unavailable'); `defaulted` lists values
   * that are the view's declared default. Show the result with `display.table(...)`.
   *
   * @example
   * const { rows } = await p.getOnlineFeatures('ranking_features', { user_id: [7, 8] }, { budgetMs: 20 });
   * const { rows: r2 } = await p.getOnlineFeatures(['user_features:clicks_7d'], { user_id: [7] });
   */
  getOnlineFeatures(
    features: string | string[],
    entities: Record<string, (string | number)[]>,
    opts: Pick<OnlineFeaturesRequest, 'maxAgeSeconds' | 'budgetMs' | 'onUnavailable'> = {},
  ): Promise<OnlineFeaturesResponse> {
    return this.client.getOnlineFeatures({
      ...(typeof features === 'string' ? { featureService: features } : { features }),
      entities,
      ...opts,
    });
  }

  /**
   * Writes rows to a feature view's online store now (near-real-time features such as units
   * left in stock). Each row has the view's join keys, its timestamp column and features; an
   * older row never replaces a newer one.
   *
   * @example
   * await p.push('stock_levels', [{ product_id: 3, event_timestamp: new Date().toISOString(), units_left: 12 }]);
   */
  push(view: string, rows: Record<string, unknown>[]): Promise<PushResponse> {
    return this.client.push(view, { rows });
  }

  /**
   * Opens the online store itself, for reads without the HTTP hop (as the inference tier
   * does): the embedded LMDB directory of a local Plinth, or a Redis URL.
   *
   * @example
   * const reader = await p.onlineReader({ kind: 'lmdb', path: `${process.env.HOME}/.plinth/online` });
   * const { rows } = await reader.get(['user_features:clicks_7d'], [{ user_id: 7 }]);
   */
  async onlineReader(config: OnlineStoreConfig): Promise<OnlineFeatureReader> {
    return new OnlineFeatureReader(this.client, await openOnlineStore(config, { readOnly: true }));
  }

  /**
   * Starts a tracked run in `experiment`, recording where it runs from (notebook, git commit)
   * and the environment (Node and package versions).
   *
   * @example
   * const run = await p.startRun({ experiment: 'ctr', name: 'lr sweep', params: { C: 0.5 } });
   * await run.logMetrics({ auc: 0.74 });
   * await run.end();
   */
  async startRun(opts: {
    experiment: string;
    name?: string;
    params?: Record<string, ParamValue>;
    tags?: Record<string, string>;
    exampleSet?: { name: string; version: number };
  }): Promise<TrackedRun> {
    const run = await this.client.createRun({
      experiment: opts.experiment,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.params ? { params: paramStrings(opts.params) } : {}),
      ...(opts.tags ? { tags: opts.tags } : {}),
      ...(opts.exampleSet ? { exampleSet: opts.exampleSet } : {}),
      source: runSource(),
      environment: runEnvironment(),
    });
    return new TrackedRun(this.client, run);
  }

  /**
   * Trains like `train()` and records the run: its configuration as parameters, metrics per
   * iteration (train and validation loss by step) and at the end (`train.auc`,
   * `validation.auc`, ...), the example set, and the model file as an artifact. A failed
   * training leaves a run marked failed.
   *
   * @example
   * const result = await p.train({ data: train, validation: test, model: 'gbt', experiment: 'ctr' });
   * result.run.metrics['validation.auc'].value;
   */
  async train(opts: TrackedTrainOptions): Promise<TrainResult & { run: Run }> {
    const { experiment = 'default', runName, tags, ...trainOpts } = opts;
    const model = trainOpts.model ?? 'logisticRegression';
    const exampleSet = exampleSetOf(trainOpts.data);
    const tracked = await this.startRun({
      experiment,
      name: runName ?? `${model} ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`,
      ...(tags ? { tags } : {}),
      ...(exampleSet ? { exampleSet } : {}),
    });
    let result: TrainResult;
    try {
      result = train(trainOpts);
    } catch (e) {
      await tracked.setTags({ error: String((e as Error).message).slice(0, 256) }).catch(() => undefined);
      await tracked.end('failed').catch(() => undefined);
      throw e;
    }
    const steps = result.history?.length ?? 0;
    const history = result.history ?? [];
    await this.client.logRun(tracked.id, {
      params: configParams(result.config),
      metrics: [
        ...history.flatMap((h) => [
          ...(h.trainLoss !== undefined ? [{ key: 'train.loss', value: h.trainLoss, step: h.iteration }] : []),
          ...(h.validLoss !== undefined ? [{ key: 'validation.loss', value: h.validLoss, step: h.iteration }] : []),
        ]),
        ...Object.entries(result.metrics).flatMap(([split, m]) =>
          Object.entries(m ?? {})
            .filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
            .map(([k, v]) => ({ key: `${split}.${k}`, value: v as number, step: steps })),
        ),
      ],
    });
    const file = new TextEncoder().encode(JSON.stringify(modelFileOf(result, { run: tracked.id })));
    await tracked.logArtifact('model/model.plinth.json', file);
    const run = await tracked.end('finished');
    return { ...result, run };
  }

  /**
   * Searches runs (MLflow's filter syntax, clauses joined by AND; see docs/runs.md) and returns
   * one page, best first when ordered by a metric.
   *
   * @example
   * const { items } = await p.searchRuns({ experiments: ['ctr'], filter: 'metrics.validation.auc > 0.7', orderBy: ['metrics.validation.auc DESC'] });
   */
  searchRuns(req: RunSearch = {}): Promise<{ items: Run[]; nextPageToken?: string }> {
    return this.client.searchRuns(req);
  }

  /**
   * Shows runs side by side (parameters and latest metrics, one column per run) and returns the rows.
   *
   * @example
   * await p.compareRuns([gbt.run.id, logistic.run.id]);
   */
  async compareRuns(ids: string[]): Promise<Record<string, string | number | null>[]> {
    const runs = await Promise.all(ids.map((id) => this.client.getRun(id)));
    const rows = compareRunsTable(runs);
    showTable(rows, `Runs: ${runs.map((r) => r.name ?? r.id.slice(0, 8)).join(' vs ')}`);
    return rows;
  }

  /**
   * Compiles a trained pipeline to ONNX, uploads the artifact and publishes it as a new
   * version of model `name`, with reference examples for deploy-time sanity tests.
   *
   * @example
   * const v = await p.publish('ctr', spec, result, { exampleSet: es, referenceData: test });
   */
  async publish(
    name: string,
    spec: Pipeline,
    result: TrainResult & { run?: Run },
    opts: PublishOptions = {},
  ): Promise<ModelVersion> {
    // The graph and its manifest are uploaded first: the version appears only once both are stored.
    const { onnx: bytes, manifest } = compilePipelineDocument(spec, { 'model.name': name });
    const sha256 = sha256Hex(bytes);
    await this.client.putArtifact(sha256, bytes);
    const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
    const manifestSha = sha256Hex(manifestBytes);
    await this.client.putArtifact(manifestSha, manifestBytes);
    let referenceExamples: ModelVersion['referenceExamples'];
    if (opts.referenceData && opts.referenceData.numRows > 0) {
      const session = await PipelineSession.create(bytes);
      referenceExamples = await referenceExamplesOf(spec, session, opts.referenceData);
      await session.dispose();
    }
    const es = opts.exampleSet ?? result.exampleSet;
    const exampleSet = es ? { name: es.name, version: es.version } : undefined;
    const runRef = opts.run ?? result.run;
    const run = runRef
      ? typeof runRef === 'string'
        ? { id: runRef }
        : { id: runRef.id, experiment: runRef.experiment }
      : undefined;
    const metrics: Record<string, number> = {};
    for (const [split, m] of Object.entries(result.metrics)) {
      if (!m) continue;
      for (const [k, v] of Object.entries(m)) metrics[`${split}.${k}`] = v;
    }
    return this.client.publishModelVersion(name, {
      pipeline: spec,
      artifact: { sha256, bytes: bytes.length, format: 'onnx' },
      manifest: { sha256: manifestSha, bytes: manifestBytes.length },
      ...(exampleSet ? { exampleSet } : {}),
      ...(opts.featureService ? { featureService: opts.featureService } : {}),
      ...(run ? { run } : {}),
      environment: Object.fromEntries(Object.entries(runEnvironment()).filter(([, v]) => typeof v === 'string')),
      ...(opts.modelCard ? { modelCard: opts.modelCard } : {}),
      metrics,
      trainingConfig: result.config,
      ...(referenceExamples ? { referenceExamples } : {}),
      ...(opts.description ? { description: opts.description } : {}),
      ...(opts.team ? { team: opts.team } : {}),
      ...(opts.owner ? { owner: opts.owner } : {}),
      ...(opts.tags ? { tags: opts.tags } : {}),
    });
  }

  /**
   * Publishes the model a tracked run trained (its `model/model.plinth.json` artifact) as a new
   * version of `name`: inputs read from the online store by the run's example-set sources, unless
   * listed in `requestFeatures`; the run, its example set, parameters and metrics are linked.
   *
   * @example
   * const best = (await p.searchRuns({ experiments: ['ctr'], orderBy: ['metrics.validation.auc DESC'] })).items[0];
   * const v = await p.publishRun('ctr', best.id, { referenceData: holdout });
   */
  async publishRun(
    name: string,
    runId: string,
    opts: PublishOptions & {
      defaults?: Record<string, number | string>;
      postprocessor?: Pipeline['postprocessor'];
    } = {},
  ): Promise<ModelVersion> {
    const run = await this.client.getRun(runId);
    const artifact = run.artifacts.find((a) => a.path === 'model/model.plinth.json');
    if (!artifact) throw new Error(`run ${runId} has no model file artifact (model/model.plinth.json) to publish`);
    const bytes = await this.client.getArtifact(artifact.sha256);
    if (sha256Hex(bytes) !== artifact.sha256)
      throw new Error(`the model file of run ${runId} is corrupted: its sha256 is not ${artifact.sha256}`);
    const file = parseModelFile(new TextDecoder().decode(bytes), `the model file of run ${runId}`);
    const sources: Record<string, string | undefined> = {};
    if (run.exampleSet) {
      const es = await this.client.getExampleSet(run.exampleSet.name, run.exampleSet.version);
      for (const c of es.columns) if (c.source) sources[c.name] = c.source;
    }
    const metrics: Record<string, Record<string, number>> = {};
    for (const [key, m] of Object.entries(run.metrics)) {
      const dot = key.indexOf('.');
      if (dot > 0) (metrics[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = m.value;
    }
    const result = {
      featureNames: file.featureNames,
      stages: file.stages,
      model: file.model,
      label: file.label,
      sources,
      metrics,
      config: run.params,
      ...(file.vocabularies ? { vocabularies: file.vocabularies } : {}),
      ...(run.exampleSet ? { exampleSet: run.exampleSet } : {}),
    } as unknown as TrainResult;
    const spec = pipelineSpec(name, result, {
      ...(opts.requestFeatures ? { requestFeatures: opts.requestFeatures } : {}),
      ...(opts.defaults ? { defaults: opts.defaults } : {}),
      ...(opts.postprocessor ? { postprocessor: opts.postprocessor } : {}),
    });
    return this.publish(name, spec, result, { ...opts, run });
  }

  /**
   * Deploys a model version under `name` in one call and waits until the inference tier serves
   * it, showing progress. The control plane first has the inference tier load the version and
   * replay its reference examples there, and checks that the online features it reads are
   * materialized, fresh (no older than `maxStalenessSeconds`, by default each view's TTL) and
   * present in the tier's online store; a refusal throws a ProblemError (409 'Sanity test
   * failed', 'Online features stale', 'Online features missing', ...; 503 when the tier is
   * unreachable) and changes nothing. `mode: 'canary'` serves the version beside the current one
   * for `share` of the requests; `mode: 'shadow'` runs it on copies of requests, answering none.
   *
   * @example
   * const d = await p.deploy('ctr', { model: 'ctr', version: v.version, reason: 'beats v2 on holdout' });
   * await p.deploy('ctr', { model: 'ctr', alias: 'production' });
   * await p.deploy('ctr', { model: 'ctr', version: 4, mode: 'canary', share: 0.1, maxStalenessSeconds: 3600 });
   */
  async deploy(name: string, req: DeployRequest, timeoutMs = 30_000): Promise<Deployment> {
    const which = req.alias ? `@${req.alias}` : req.version !== undefined ? `@${req.version}` : ' (newest version)';
    const mode = req.mode && req.mode !== 'replace' ? ` as ${req.mode}` : '';
    const bar = progress(`Deploying ${name}: ${req.model}${which}${mode}`);
    bar.update(0.1, 'sanity test and feature checks on the inference tier ...');
    const d = await this.refusable(bar, this.client.deploy(name, req));
    const tested = d.canary?.sanity ?? d.shadow?.sanity ?? d.sanity;
    const passed = tested?.examples
      ? `sanity test passed on the tier (${tested.examples} examples, max |diff| ${tested.maxAbsDiff ?? 0})`
      : 'checks passed (no reference examples to replay)';
    const views = d.freshness?.length ? `; features fresh: ${d.freshness.map((f) => f.view).join(', ')}` : '';
    return this.untilServed(d, bar, `${passed}${views}`, timeoutMs);
  }

  /**
   * Rolls a deployment back in one call and waits until the inference tier serves the result:
   * a canary or shadow is ended (the primary version stays); otherwise the deployment goes back
   * to the newest earlier state that served a different version (loaded on the tier first).
   *
   * @example
   * await p.rollback('ctr', 'v4 lowers click-through');
   */
  async rollback(name: string, reason?: string, timeoutMs = 30_000): Promise<Deployment> {
    const bar = progress(`Rolling back ${name}`);
    bar.update(0.1, 'asking the control plane ...');
    const d = await this.refusable(bar, this.client.rollbackDeployment(name, reason ? { reason } : {}));
    return this.untilServed(d, bar, `now ${stateOf(d)}`, timeoutMs);
  }

  /**
   * The canary of a deployment takes all traffic (it was sanity-tested when it became the
   * canary); waits until the inference tier serves it alone.
   *
   * @example
   * await p.deploy('ctr', { model: 'ctr', version: 4, mode: 'canary', share: 0.1 });
   * // ... watch it for a while, then:
   * await p.promoteCanary('ctr', 'canary CTR +2% over a day');
   */
  async promoteCanary(name: string, reason?: string, timeoutMs = 30_000): Promise<Deployment> {
    const bar = progress(`Promoting the canary of ${name}`);
    bar.update(0.1, 'asking the control plane ...');
    const d = await this.refusable(bar, this.client.promoteCanary(name, reason ? { reason } : {}));
    return this.untilServed(d, bar, `now ${stateOf(d)}`, timeoutMs);
  }

  /**
   * Every state a deployment has had, newest first (deploys, canaries, shadows, promotions and
   * rollbacks, with who and why), shown as a table; the live state is marked.
   *
   * @example
   * const items = await p.deploymentHistory('ctr');
   * items[0].deployment.version; // what serves now
   */
  async deploymentHistory(name: string): Promise<DeploymentRevision[]> {
    const { items } = await this.client.deploymentHistory(name);
    showTable(deploymentHistoryRows(items), `Deployment history of ${name}`);
    return items;
  }

  /** Marks the progress display as refused (a 4xx) or failed before the error reaches the notebook. */
  private async refusable<T>(bar: Progress, call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (e) {
      const what =
        e instanceof ProblemError ? `${e.status < 500 ? 'refused' : 'failed'}: ${e.problem.title}` : 'failed';
      bar.update(0.1, `${what} (see the error below)`);
      throw e;
    }
  }

  /** Polls the inference tier's /v1/health until it serves exactly what `d` says (primary, canary, shadow). */
  private async untilServed(d: Deployment, bar: Progress, checked: string, timeoutMs: number): Promise<Deployment> {
    bar.update(0.5, `${checked}; waiting for the inference tier to switch ...`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const h = await this.inference.request<{ models: TierModel[] }>('GET', 'v1/health');
        const m = h.models.find((x) => x.deployment === d.name);
        if (m && servesState(m, d)) {
          bar.done(`${checked} ... serving ${stateOf(d)}`);
          return d;
        }
      } catch {
        // the inference tier may be restarting
      }
      if (Date.now() > deadline) {
        bar.update(0.5, `the inference tier did not switch within ${timeoutMs / 1000}s`);
        throw new Error(
          `the control plane committed ${d.name} = ${stateOf(d)}, but the inference tier at ${this.inference.baseUrl} ` +
            `did not serve it within ${timeoutMs / 1000}s (see its /v1/health)`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Calls the inference tier's predict route of a deployment; `experiment` is kept with each
   * prediction in the prediction log (and echoed in the answer).
   *
   * @example
   * const r = await p.predict('ctr', [{ user_id: 7, product_id: 3 }]);
   * r.predictions[0].outputs.probability;
   * r.variant; // 'primary', or 'canary' when the canary answered
   * await p.predict('ctr', [{ user_id: 7, product_id: 3 }], { experiment: 'ranking_v2' });
   */
  predict(
    deployment: string,
    instances: Record<string, string | number | boolean | null>[],
    opts: { experiment?: string } = {},
  ): Promise<PredictResponse> {
    return this.inference.predict(deployment, {
      instances,
      ...(opts.experiment !== undefined ? { experiment: opts.experiment } : {}),
    });
  }

  /**
   * Loads a published pipeline to run locally with onnxruntime-node, by reference:
   * `'ctr'` (newest version), `'ctr@3'`, `'ctr@production'` (an alias), or `('ctr', 3)`. The
   * artifact's sha256 is verified before the graph is loaded.
   *
   * @example
   * const ctr = await p.loadPipeline('ctr@production');
   * const [row] = await ctr.predict([{ user_id: 7, country: 'fr' }]);
   */
  async loadPipeline(ref: string, version?: number | string): Promise<LocalPipeline> {
    const [name, at] = parseModelRef(ref, version);
    const mv = await this.client.getModelVersion(name, at);
    const bytes = await this.client.getArtifact(mv.artifact.sha256);
    const actual = sha256Hex(bytes);
    if (actual !== mv.artifact.sha256)
      throw new Error(
        `artifact of ${name}@${mv.version} is corrupted: sha256 ${actual}, expected ${mv.artifact.sha256}`,
      );
    return new LocalPipeline(mv.pipeline, await PipelineSession.create(bytes), this.client, mv);
  }

  /**
   * Points an alias at a version. When the alias has a gate policy, the version is first scored
   * against the alias's current version on the holdout example set; a refusal throws a
   * ProblemError (409) naming the reasons, and is kept in the alias's history.
   *
   * @example
   * await p.setAlias('ctr', 'production', 4, { reason: 'beats v3 on March holdout', exampleSet: { name: 'ctr_holdout' } });
   */
  async setAlias(
    model: string,
    alias: string,
    version: number,
    opts: { reason: string; exampleSet?: { name: string; version?: number }; force?: boolean },
  ): Promise<{ alias: ModelAlias; evaluation?: Evaluation }> {
    const r = await this.client.moveModelAlias(model, alias, { version, ...opts });
    if (r.evaluation) showTable(evaluationTable(r.evaluation), `Gate for ${model}@${alias}: passed`);
    return r;
  }

  /**
   * Sets the gate policy of an alias: which metric decides, on which holdout, with what margin.
   *
   * @example
   * await p.setAliasPolicy('ctr', 'production', { metric: 'auc', exampleSet: { name: 'ctr_holdout' }, maxRegression: 0.002 });
   */
  setAliasPolicy(model: string, alias: string, policy: GatePolicy): Promise<GatePolicy> {
    return this.client.setAliasPolicy(model, alias, policy);
  }

  /**
   * Who moved which alias of a model, when and why (including moves the gate refused), as a table.
   *
   * @example
   * await p.aliasHistory('ctr', 'production');
   */
  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    const { items } = await this.client.getAliasHistory(model, alias);
    showTable(
      items.map((e) => ({
        at: e.at,
        alias: e.alias,
        action: e.action,
        from: e.fromVersion ?? '',
        to: e.toVersion ?? '',
        by: e.actor,
        reason: e.reason,
        forced: e.forced ? 'yes' : '',
      })),
      `Alias history of ${model}${alias ? `@${alias}` : ''}`,
    );
    return items;
  }

  /**
   * Scores a version on a holdout example set, optionally against another version or alias,
   * and records the comparison (as the alias gate does).
   *
   * @example
   * await p.evaluate('ctr', 4, { exampleSet: { name: 'ctr_holdout' }, against: 'production' });
   */
  async evaluate(
    model: string,
    ref: number | string,
    req: { exampleSet: { name: string; version?: number }; against?: string | number; metric?: GatePolicy['metric'] },
  ): Promise<Evaluation> {
    const e = await this.client.evaluateModelVersion(model, ref, {
      exampleSet: req.exampleSet,
      ...(req.against !== undefined ? { against: String(req.against) } : {}),
      ...(req.metric ? { metric: req.metric } : {}),
    });
    showTable(evaluationTable(e), `Evaluation of ${model}@${ref} on ${e.exampleSet.name}@${e.exampleSet.version}`);
    return e;
  }

  /**
   * Archives a version (refused while an alias or a deployment uses it); it stays loadable by number.
   *
   * @example
   * await p.archiveVersion('ctr', 2, 'superseded by v4');
   */
  archiveVersion(model: string, version: number, reason?: string): Promise<ModelVersion> {
    return this.client.archiveModelVersion(model, version, reason);
  }

  /**
   * Where a version came from and where it serves: lake sources, feature views, example set,
   * run, aliases and deployments.
   *
   * @example
   * const l = await p.modelLineage('ctr@production');
   * l.run?.id;
   */
  modelLineage(ref: string, version?: number | string): Promise<ModelLineage> {
    const [name, at] = parseModelRef(ref, version);
    return this.client.getModelLineage(name, at);
  }

  /** Runs a pipeline spec locally without publishing it (exploration). */
  async localPipeline(spec: Pipeline): Promise<LocalPipeline> {
    return new LocalPipeline(spec, await PipelineSession.create(compileSpec(spec)), this.client);
  }
}

/**
 * Connects to the Plinth control plane and inference tier (PLINTH_URL, PLINTH_INFERENCE_URL
 * and PLINTH_TOKEN are set for kernels started by `plinth up`).
 *
 * @example
 * const p = connect();
 * (await p.client.health()).status; // 'ok'
 */
export function connect(opts: ConnectOptions = {}): Plinth {
  return new Plinth(opts);
}
