import type * as T from './generated/types';
import type {
  ApplyResult,
  CatalogEntry,
  CatalogQuery,
  Lineage,
  ViewMetadata,
  DefinitionSet,
  PlannedChange,
  DataSourceRecord,
  EntityRecord,
  FeatureServiceLineage,
  FeatureServiceRecord,
  FeatureViewRecord,
  HealthResponse,
  ItemList,
  LabelViewRecord,
  ConsistencyReport,
  StreamStatus,
  OnlineFeaturesRequest,
  OnlineFeaturesResponse,
  OnlineStoreStatus,
  PushRequest,
  PushResponse,
  PredictRequest,
  PredictResponse,
  Versioned,
} from './api-types';
import { DEFINITION_SECTIONS } from './api-types';
import { PROBLEM_CONTENT_TYPE, ProblemError, problem, type ProblemDetails } from './problem';
import type { RegistryPath } from './openapi';

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Control plane URL, e.g. `http://127.0.0.1:8787/` (a trailing slash is added). */
  baseUrl: string;
  /** API token, sent as `Authorization: Bearer`. */
  token?: string;
  fetch?: FetchLike;
}

export interface StatisticsOptions {
  /** The view's kind (default 'feature-view'). */
  kind?: 'feature-view' | 'label-view';
  /** A view version (default: the latest). */
  version?: number;
}

/** A per-view document route: `api/v1/<kind>s/<view>/<doc>?...`. */
const viewDocPath = (view: string, kind: StatisticsOptions['kind'], doc: string, query: object = {}) =>
  `api/v1/${kind ?? 'feature-view'}s/${encodeURIComponent(view)}/${doc}${queryString(query)}`;

// Statistics and quality reports: version 0 has always meant "the latest" here.
const statisticsPath = (view: string, opts: StatisticsOptions, history = false, doc = 'statistics') =>
  viewDocPath(view, opts.kind, doc, { version: opts.version || undefined, history: history || undefined });

/** `?a=1&b=x` from the defined, non-empty values of `params`; '' when there are none. */
function queryString(params: object): string {
  const q = new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return q ? `?${q}` : '';
}

/**
 * Typed client of the Plinth control plane (browser and Node: it only needs `fetch`).
 * Errors from the server are thrown as `ProblemError`s carrying the RFC 9457 document.
 *
 * @example
 * const plinth = new PlinthClient({ baseUrl: 'http://127.0.0.1:8787' });
 * const { items } = await plinth.listFeatureViews();
 */
const modelPath = (name: string) => `api/v1/models/${encodeURIComponent(name)}`;

export class PlinthClient {
  readonly baseUrl: string;
  private readonly token?: string;
  private readonly fetchImpl: FetchLike;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`;
    this.token = opts.token;
    const f = opts.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!f) throw new Error('PlinthClient needs a fetch implementation');
    this.fetchImpl = (input, init) => f(input, init);
  }

  /** Sends a request; `body` is JSON unless it is binary. */
  async request<R>(method: string, path: string, body?: unknown): Promise<R> {
    const text = await (await this.send(method, path, body, 'application/json')).text();
    return (text ? JSON.parse(text) : undefined) as R;
  }

  /** Sends a request and returns the successful response; failures become ProblemErrors. */
  private async send(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload: RequestInit['body'];
    if (body instanceof Uint8Array) {
      headers['content-type'] = 'application/octet-stream';
      payload = body as unknown as RequestInit['body'];
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const url = this.baseUrl + path.replace(/^\//, '');
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body: payload });
    } catch (e) {
      throw new ProblemError(problem(503, 'Server unreachable', `${method} ${url}: ${(e as Error).message}`));
    }
    if (res.ok) return res;
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    if (type.includes(PROBLEM_CONTENT_TYPE) || type.includes('json')) {
      try {
        const p = JSON.parse(text) as ProblemDetails;
        if (p && typeof p.title === 'string') throw new ProblemError({ ...p, status: p.status ?? res.status });
      } catch (e) {
        if (e instanceof ProblemError) throw e;
      }
    }
    throw new ProblemError(
      problem(res.status, res.statusText || 'Request failed', `${method} ${url}: ${text.slice(0, 500)}`),
    );
  }

  health(): Promise<HealthResponse> {
    return this.request('GET', 'api/v1/health');
  }

  // Registry ------------------------------------------------------------------------------
  private apply<S extends { name: string }>(plural: RegistryPath, doc: S): Promise<ApplyResult> {
    return this.request('PUT', `api/v1/${plural}/${encodeURIComponent(doc.name)}`, doc);
  }
  private get<S>(plural: RegistryPath, name: string, version?: number): Promise<Versioned<S>> {
    const q = version ? `?version=${version}` : '';
    return this.request('GET', `api/v1/${plural}/${encodeURIComponent(name)}${q}`);
  }

  /** Removes a definition explicitly; its versions stay readable. 409 when something still uses it. */
  remove(plural: RegistryPath, name: string): Promise<void> {
    return this.request('DELETE', `api/v1/${plural}/${encodeURIComponent(name)}`);
  }

  applyEntity(doc: T.Entity): Promise<ApplyResult> {
    return this.apply('entities', doc);
  }
  applyDataSource(doc: T.DataSource): Promise<ApplyResult> {
    return this.apply('data-sources', doc);
  }
  applyFeatureView(doc: T.FeatureView): Promise<ApplyResult> {
    return this.apply('feature-views', doc);
  }
  applyLabelView(doc: T.LabelView): Promise<ApplyResult> {
    return this.apply('label-views', doc);
  }
  /**
   * Creates or updates a feature service: a named set of features (`view` or `view:feature`)
   * that example sets can be built from.
   *
   * @example
   * await plinth.applyFeatureService({ name: 'ctr_features', features: ['user_features:user_ctr', 'product_features'] });
   */
  applyFeatureService(doc: T.FeatureService): Promise<ApplyResult> {
    return this.apply('feature-services', doc);
  }
  /**
   * Applies a set of definitions in dependency order: entities and sources before the views
   * that use them, feature views before the feature services that name them.
   */
  async applyDefinitions(defs: DefinitionSet): Promise<ApplyResult[]> {
    const out: ApplyResult[] = [];
    for (const [section, plural] of DEFINITION_SECTIONS)
      for (const doc of defs[section] ?? []) out.push(await this.apply(plural, doc));
    return out;
  }
  listEntities(): Promise<ItemList<EntityRecord>> {
    return this.request('GET', 'api/v1/entities');
  }
  listDataSources(): Promise<ItemList<DataSourceRecord>> {
    return this.request('GET', 'api/v1/data-sources');
  }
  listFeatureViews(): Promise<ItemList<FeatureViewRecord>> {
    return this.request('GET', 'api/v1/feature-views');
  }
  listLabelViews(): Promise<ItemList<LabelViewRecord>> {
    return this.request('GET', 'api/v1/label-views');
  }
  listFeatureServices(): Promise<ItemList<FeatureServiceRecord>> {
    return this.request('GET', 'api/v1/feature-services');
  }
  getFeatureView(name: string, version?: number): Promise<FeatureViewRecord> {
    return this.get('feature-views', name, version);
  }
  getLabelView(name: string, version?: number): Promise<LabelViewRecord> {
    return this.get('label-views', name, version);
  }
  getEntity(name: string, version?: number): Promise<EntityRecord> {
    return this.get('entities', name, version);
  }
  getFeatureService(name: string, version?: number): Promise<FeatureServiceRecord> {
    return this.get('feature-services', name, version);
  }

  /** Statistics of the newest materialization of a view (its latest version unless `version`). */
  getStatistics(view: string, opts: StatisticsOptions = {}): Promise<T.DatasetStatistics> {
    return this.request('GET', statisticsPath(view, opts));
  }
  /** Statistics of every materialization of a view version, newest first. */
  listStatistics(view: string, opts: StatisticsOptions = {}): Promise<ItemList<T.DatasetStatistics>> {
    return this.request('GET', statisticsPath(view, opts, true));
  }
  /** Data quality report of the newest materialization of a view (its latest version unless `version`). */
  getQualityReport(view: string, opts: StatisticsOptions = {}): Promise<T.QualityReport> {
    return this.request('GET', statisticsPath(view, opts, false, 'quality'));
  }
  /** Data quality reports of every materialization of a view version, newest first. */
  listQualityReports(view: string, opts: StatisticsOptions = {}): Promise<ItemList<T.QualityReport>> {
    return this.request('GET', statisticsPath(view, opts, true, 'quality'));
  }

  /** What applying these definitions would change (nothing is written). */
  plan(defs: DefinitionSet): Promise<{ changes: PlannedChange[] }> {
    return this.request('POST', 'api/v1/plan', defs);
  }

  /** Ranked search over every team's definitions (name, features, description, tags, entity, team, owner). */
  searchCatalog(query: CatalogQuery = {}): Promise<ItemList<CatalogEntry>> {
    return this.request('GET', `api/v1/catalog${queryString(query)}`);
  }

  /** A view's schema, committed size, freshness against its schedule, last run and consumers. */
  getViewMetadata(
    view: string,
    opts: { kind?: 'feature-view' | 'label-view'; version?: number } = {},
  ): Promise<ViewMetadata> {
    return this.request('GET', viewDocPath(view, opts.kind, 'metadata', { version: opts.version }));
  }

  /** Sources a view reads, and the example sets, models and deployments that use it. */
  getLineage(view: string, kind: 'feature-view' | 'label-view' = 'feature-view'): Promise<Lineage> {
    return this.request('GET', viewDocPath(view, kind, 'lineage'));
  }

  /** The views a feature service reads, and the example sets, models and deployments built from it. */
  getFeatureServiceLineage(name: string): Promise<FeatureServiceLineage> {
    return this.request('GET', `api/v1/feature-services/${encodeURIComponent(name)}/lineage`);
  }

  // Jobs ----------------------------------------------------------------------------------
  materialize(req: T.MaterializeRequest): Promise<T.Job> {
    return this.request('POST', 'api/v1/materializations', req);
  }
  getJob(id: string): Promise<T.Job> {
    return this.request('GET', `api/v1/jobs/${encodeURIComponent(id)}`);
  }
  /** Jobs, newest first; `subject` is a view's name for its materialization history. */
  listJobs(
    filter: { kind?: string; status?: T.Job['status']; subject?: string; limit?: number } = {},
  ): Promise<ItemList<T.Job>> {
    return this.request('GET', `api/v1/jobs${queryString(filter)}`);
  }
  getJobLogs(id: string): Promise<{ lines: string[] }> {
    return this.request('GET', `api/v1/jobs/${encodeURIComponent(id)}/logs`);
  }

  /** Polls a job until it ends; `onUpdate` sees every state (for progress displays). */
  async waitForJob(id: string, onUpdate?: (job: T.Job) => void, pollMs = 250): Promise<T.Job> {
    for (;;) {
      const job = await this.getJob(id);
      onUpdate?.(job);
      if (job.status === 'succeeded') return job;
      if (job.status === 'failed') {
        throw new ProblemError(
          problem(422, 'Job failed', `${job.kind} job ${job.id}: ${job.error ?? 'unknown error'}`),
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * Starts a batch inference job (202: the job); its result, once it succeeds, is the
   * `BatchInferenceResult` manifest. Unknown models, sources or a push view that does not fit
   * are answered at once (4xx naming the field).
   */
  batchPredict(req: T.BatchInferenceRequest): Promise<T.Job> {
    return this.request('POST', 'api/v1/batch-predictions', req);
  }

  // Example sets --------------------------------------------------------------------------
  buildExampleSet(spec: T.ExampleSetSpec): Promise<T.Job> {
    return this.request('POST', 'api/v1/example-sets', spec);
  }
  getExampleSet(name: string, version?: number): Promise<T.ExampleSet> {
    const q = version ? `?version=${version}` : '';
    return this.request('GET', `api/v1/example-sets/${encodeURIComponent(name)}${q}`);
  }
  listExampleSets(): Promise<ItemList<T.ExampleSet>> {
    return this.request('GET', 'api/v1/example-sets');
  }

  // Online features -----------------------------------------------------------------------
  getOnlineFeatures(req: OnlineFeaturesRequest): Promise<OnlineFeaturesResponse> {
    return this.request('POST', 'api/v1/online-features', req);
  }
  push(view: string, req: PushRequest): Promise<PushResponse> {
    return this.request('POST', viewDocPath(view, 'feature-view', 'push'), req);
  }
  getOnlineStatus(view: string): Promise<OnlineStoreStatus> {
    return this.request('GET', viewDocPath(view, 'feature-view', 'online'));
  }
  deleteOnline(view: string): Promise<{ view: string; removed: number }> {
    return this.request('DELETE', viewDocPath(view, 'feature-view', 'online'));
  }
  expireOnline(view: string): Promise<{ view: string; removed: number; before: string }> {
    return this.request('POST', viewDocPath(view, 'feature-view', 'online/expire'));
  }
  /** The view's stream consumer (404 when the view declares no stream). */
  getStreamStatus(view: string): Promise<StreamStatus> {
    return this.request('GET', viewDocPath(view, 'feature-view', 'stream'));
  }
  checkConsistency(view: string, req: { sample?: number } = {}): Promise<ConsistencyReport> {
    return this.request('POST', viewDocPath(view, 'feature-view', 'consistency'), req);
  }

  // Model repository ----------------------------------------------------------------------
  putArtifact(sha256: string, bytes: Uint8Array): Promise<T.Artifact> {
    return this.request('PUT', `api/v1/artifacts/sha256/${sha256}`, bytes);
  }
  /** Downloads an artifact's bytes (verify the hash before use). */
  async getArtifact(sha256: string): Promise<Uint8Array> {
    const res = await this.send('GET', `api/v1/artifacts/sha256/${sha256}`, undefined, 'application/octet-stream');
    return new Uint8Array(await res.arrayBuffer());
  }
  publishModelVersion(name: string, req: T.PublishRequest): Promise<T.ModelVersion> {
    return this.request('POST', `api/v1/models/${encodeURIComponent(name)}/versions`, req);
  }
  /** A version by number, `'latest'` or alias (`'production'`). */
  getModelVersion(name: string, ref: number | string): Promise<T.ModelVersion> {
    return this.request('GET', `${modelPath(name)}/versions/${encodeURIComponent(String(ref))}`);
  }
  deleteModelVersion(name: string, version: number): Promise<void> {
    return this.request('DELETE', `${modelPath(name)}/versions/${version}`);
  }
  archiveModelVersion(name: string, version: number, reason?: string): Promise<T.ModelVersion> {
    return this.request('POST', `${modelPath(name)}/versions/${version}/archive`, reason ? { reason } : {});
  }
  unarchiveModelVersion(name: string, version: number): Promise<T.ModelVersion> {
    return this.request('POST', `${modelPath(name)}/versions/${version}/unarchive`);
  }
  getModelLineage(name: string, ref: number | string): Promise<T.ModelLineage> {
    return this.request('GET', `${modelPath(name)}/versions/${encodeURIComponent(String(ref))}/lineage`);
  }
  predictWithModelVersion(
    name: string,
    ref: number | string,
    req: T.ModelPredictRequest,
  ): Promise<T.ModelPredictResponse> {
    return this.request('POST', `${modelPath(name)}/versions/${encodeURIComponent(String(ref))}/predict`, req);
  }
  evaluateModelVersion(name: string, ref: number | string, req: T.EvaluateRequest): Promise<T.Evaluation> {
    return this.request('POST', `${modelPath(name)}/versions/${encodeURIComponent(String(ref))}/evaluate`, req);
  }
  listModelEvaluations(name: string): Promise<ItemList<T.Evaluation>> {
    return this.request('GET', `${modelPath(name)}/evaluations`);
  }
  listModelAliases(name: string): Promise<ItemList<T.ModelAlias>> {
    return this.request('GET', `${modelPath(name)}/aliases`);
  }
  /** Moves an alias through its gate (a 409 ProblemError names the reasons when the gate refuses). */
  moveModelAlias(
    name: string,
    alias: string,
    req: T.AliasMove,
  ): Promise<{ alias: T.ModelAlias; evaluation?: T.Evaluation }> {
    return this.request('PUT', `${modelPath(name)}/aliases/${encodeURIComponent(alias)}`, req);
  }
  removeModelAlias(name: string, alias: string, reason: string): Promise<void> {
    return this.request(
      'DELETE',
      `${modelPath(name)}/aliases/${encodeURIComponent(alias)}?reason=${encodeURIComponent(reason)}`,
    );
  }
  setAliasPolicy(name: string, alias: string, policy: T.GatePolicy): Promise<T.GatePolicy> {
    return this.request('PUT', `${modelPath(name)}/aliases/${encodeURIComponent(alias)}/policy`, policy);
  }
  getAliasHistory(name: string, alias?: string): Promise<ItemList<T.AliasEvent>> {
    return this.request('GET', `${modelPath(name)}/alias-history${alias ? `?alias=${encodeURIComponent(alias)}` : ''}`);
  }
  listModelVersions(name: string): Promise<ItemList<T.ModelVersion>> {
    return this.request('GET', `api/v1/models/${encodeURIComponent(name)}/versions`);
  }
  listModels(): Promise<ItemList<T.ModelVersion>> {
    return this.request('GET', 'api/v1/models');
  }

  // Run tracking ----------------------------------------------------------------------------
  createRun(req: T.RunCreate): Promise<T.Run> {
    return this.request('POST', 'api/v1/runs', req);
  }
  getRun(id: string): Promise<T.Run> {
    return this.request('GET', `api/v1/runs/${encodeURIComponent(id)}`);
  }
  logRun(id: string, batch: T.RunLog): Promise<{ params: number; metrics: number; tags: number; artifacts: number }> {
    return this.request('POST', `api/v1/runs/${encodeURIComponent(id)}/log`, batch);
  }
  updateRun(id: string, patch: T.RunUpdate): Promise<T.Run> {
    return this.request('PATCH', `api/v1/runs/${encodeURIComponent(id)}`, patch);
  }
  deleteRun(id: string): Promise<void> {
    return this.request('DELETE', `api/v1/runs/${encodeURIComponent(id)}`);
  }
  getMetricHistory(id: string, key: string): Promise<T.MetricHistory> {
    return this.request('GET', `api/v1/runs/${encodeURIComponent(id)}/metrics/${encodeURIComponent(key)}`);
  }
  searchRuns(req: T.RunSearch = {}): Promise<T.RunSearchResult> {
    return this.request('POST', 'api/v1/runs/search', req);
  }

  // Deployments ---------------------------------------------------------------------------
  deploy(name: string, req: T.DeployRequest): Promise<T.Deployment> {
    return this.request('PUT', `api/v1/deployments/${encodeURIComponent(name)}`, req);
  }
  getDeployment(name: string): Promise<T.Deployment> {
    return this.request('GET', `api/v1/deployments/${encodeURIComponent(name)}`);
  }
  listDeployments(): Promise<ItemList<T.Deployment>> {
    return this.request('GET', 'api/v1/deployments');
  }
  /**
   * Long poll: answers as soon as the deployments differ from `revision` (immediately when they
   * already do), or after `waitSeconds` with the same revision.
   */
  watchDeployments(revision: string, waitSeconds = 20): Promise<ItemList<T.Deployment> & { revision: string }> {
    return this.request('GET', `api/v1/deployments${queryString({ watch: revision, waitSeconds })}`);
  }
  /** Every state of a deployment, newest first. */
  deploymentHistory(name: string): Promise<ItemList<T.DeploymentRevision>> {
    return this.request('GET', `api/v1/deployments/${encodeURIComponent(name)}/history`);
  }
  /** Back to the version served before the current one (a canary or shadow alone is just ended). */
  rollbackDeployment(name: string, req: T.DeploymentChange = {}): Promise<T.Deployment> {
    return this.request('POST', `api/v1/deployments/${encodeURIComponent(name)}/rollback`, req);
  }
  /** The canary takes all traffic. */
  promoteCanary(name: string, req: T.DeploymentChange = {}): Promise<T.Deployment> {
    return this.request('POST', `api/v1/deployments/${encodeURIComponent(name)}/promote`, req);
  }
}

/**
 * Client of the inference tier's JSON predict route.
 *
 * @example
 * const infer = new InferenceClient({ baseUrl: 'http://127.0.0.1:8788' });
 * const r = await infer.predict('ctr', { instances: [{ user_id: 7, product_id: 3 }] });
 */
export class InferenceClient extends PlinthClient {
  predict(deployment: string, req: PredictRequest): Promise<PredictResponse> {
    return this.request('POST', `v1/predict/${encodeURIComponent(deployment)}`, req);
  }
}
