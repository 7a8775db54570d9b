import type * as T from './generated/types';
import type { RegistryPath } from './openapi';

/** A stored version of a registry document, as the API returns it. */
export interface Versioned<S> {
  name: string;
  version: number;
  spec: S;
  createdAt: string;
  createdBy: string;
}

export type EntityRecord = Versioned<T.Entity>;
export type DataSourceRecord = Versioned<T.DataSource>;
export type FeatureViewRecord = Versioned<T.FeatureView>;
export type LabelViewRecord = Versioned<T.LabelView>;
export type FeatureServiceRecord = Versioned<T.FeatureService>;

export interface ApplyResult {
  kind: string;
  name: string;
  version: number;
  /** false when the definition equals the latest version (apply is idempotent). */
  created: boolean;
  /** Views registered under other names with the same definition (flagged, not refused). */
  duplicates?: CatalogRef[];
}

export interface CatalogRef {
  kind: 'feature-view' | 'label-view' | 'entity' | 'data-source' | 'feature-service';
  name: string;
}

/** A search hit in the catalog. */
export interface CatalogEntry extends CatalogRef {
  version: number;
  description?: string;
  team?: string;
  owner?: string;
  entities?: string[];
  tags?: Record<string, string>;
  fields?: { name: string; type: string; description?: string }[];
  /** A feature service's feature references (`view` or `view:feature`). */
  features?: string[];
  score: number;
  matched: string[];
  duplicates: CatalogRef[];
}

export interface CatalogQuery {
  q?: string;
  kind?: CatalogRef['kind'];
  team?: string;
  owner?: string;
  entity?: string;
  /** `key` or `key:value` */
  tag?: string;
  limit?: number;
}

/** Where a view's data comes from and who uses it. */
export interface Lineage {
  view: { kind: 'feature-view' | 'label-view'; name: string; version: number };
  sources: { name: string; path: string }[];
  entities: string[];
  exampleSets: { name: string; version: number }[];
  models: { name: string; version: number }[];
  deployments: { name: string; model: string; version: number }[];
  /** Feature services that name a feature view (latest versions; always empty for label views). */
  featureServices: { name: string; version: number }[];
}

/** What a feature service reads and who uses it: views -> service -> example sets -> models -> deployments. */
export interface FeatureServiceLineage {
  service: { kind: 'feature-service'; name: string; version: number };
  /** The views the service reads (latest versions) and which of their features; version null if removed. */
  featureViews: { name: string; version: number | null; features: string[] }[];
  /** Entities of those views. */
  entities: string[];
  /** Example sets built from the service. */
  exampleSets: { name: string; version: number }[];
  models: { name: string; version: number }[];
  deployments: { name: string; model: string; version: number }[];
}

/**
 * What a data scientist needs to judge a view before using it: its schema, how much data is
 * committed offline, how fresh it is against its schedule, its last run, and who reads it.
 */
export interface ViewMetadata {
  kind: 'feature-view' | 'label-view';
  name: string;
  version: number;
  description: string | null;
  team: string | null;
  owner: string | null;
  tags: Record<string, string>;
  entities: string[];
  /** Columns as materialized: join keys, timestamps, then the declared features or labels. */
  schema: {
    name: string;
    type: string;
    role: 'key' | 'timestamp' | 'created' | 'feature' | 'label';
    description?: string;
  }[];
  ttlSeconds: number | null;
  online: boolean;
  /** Committed offline data; null before the first materialization. */
  offline: { rows: number; bytes: number | null; files: number; committedAt: string } | null;
  freshness: {
    /** Newest committed event time. */
    lastEventTime: string | null;
    /** now - lastEventTime, in seconds. */
    lagSeconds: number | null;
    lastMaterializedAt: string | null;
    schedule: string | null;
    /** Interval between the schedule's fire times: the expected update frequency. */
    updateFrequencySeconds: number | null;
    nextRunAt: string | null;
    /** No commit within two schedule intervals; null without a schedule. */
    stale: boolean | null;
  };
  lastRun: { jobId: string; status: string; attempts: number; finishedAt: string | null; error: string | null } | null;
  consumers: Pick<Lineage, 'featureServices' | 'exampleSets' | 'models' | 'deployments'>;
}

export interface ItemList<I> {
  items: I[];
}

/**
 * Status of one online value: 'present'; 'not_found' (no row for the entity); 'expired' (older
 * than the view's TTL or the request's max age); 'timeout' (the request's latency budget ran
 * out first); 'unavailable' (the store could not be reached and the caller asked for defaults).
 */
export type FeatureStatus = 'present' | 'not_found' | 'expired' | 'timeout' | 'unavailable';

export type OnlineValue = number | string | boolean | null;

export interface OnlineFeaturesRequest {
  /** `view:feature` references (or give `featureService`). */
  features?: string[];
  /** Every feature of this feature service (its latest version, or `name@version`). */
  featureService?: string;
  /** Join key -> one value per entity, e.g. `{ user_id: [1, 2] }`. */
  entities: Record<string, (string | number)[]>;
  /** Values older than this come back 'expired', even within the view's TTL. */
  maxAgeSeconds?: number;
  /** Answer within this many milliseconds; views not read by then are 'timeout' and the response is `partial`. */
  budgetMs?: number;
  /** When the online store is down: 'error' (503, the default) or 'defaults' (status 'unavailable'). */
  onUnavailable?: 'error' | 'defaults';
}

export interface OnlineFeaturesResponse {
  /** One row per entity, in request order. */
  rows: {
    values: Record<string, OnlineValue>;
    statuses: Record<string, FeatureStatus>;
    /** Features whose value is the view's declared default (cold start), not a stored value. */
    defaulted?: string[];
  }[];
  /** True when the latency budget ran out before every view was read. */
  partial: boolean;
}

/** Rows pushed into a feature view's online store (near-real-time features). */
export interface PushRequest {
  /** Each row: the view's join keys, its timestamp column (ISO 8601 or epoch ms) and features; absent features are null. */
  rows: Record<string, unknown>[];
}

export interface PushResponse {
  written: number;
  /** Rows older than what the store already holds (the timestamp guard). */
  skippedOlder: number;
}

export interface OnlineStoreStatus {
  view: string;
  /** "LMDB at ..." or "Redis at host:port". */
  store: string;
  entities: number;
  bytes: number;
}

/** A feature view's stream consumer in this control-plane process (counters since it started). */
export interface StreamStatus {
  view: string;
  kind: 'redis' | 'kafka';
  topic: string;
  group: string;
  deadLetter: string;
  /** retrying: the stream or the online store failed; retried with backoff (see lastError). */
  state: 'starting' | 'running' | 'retrying' | 'stopped';
  received: number;
  written: number;
  /** Rows older than the stored value (or than a newer row of the same batch): kept out by the guard. */
  skippedOlder: number;
  deadLettered: number;
  lastMessageAt: string | null;
  lastError: string | null;
  /** Messages in the stream the group has not read yet, when the broker tells. */
  lag: number | null;
}

export interface ConsistencyReport {
  view: string;
  /** The view version whose committed offline data was read. */
  version: number;
  /** Entities in the latest offline values (within the view's TTL, when it has one). */
  entities: number;
  /** Entities whose newest offline value is older than the view's TTL: left out, they expire online. */
  outsideTtl: number;
  /** Entities sampled (deterministically: the same sample on every run while the data stays). */
  sampled: number;
  /** Online row missing for a sampled entity. */
  missingOnline: number;
  /** Online value newer than the offline one (pushed or streamed since): not a mismatch. */
  newerOnline: number;
  /** Online value older than the latest offline one: the last materialization did not reach it. */
  olderOnline: number;
  /** Entities compared value by value (same event time). */
  compared: number;
  /** Compared entities with at least one differing feature value. */
  mismatched: number;
  /** (missingOnline + olderOnline + mismatched) / sampled; 0 when nothing was sampled. */
  mismatchShare: number;
  /** Differing values per feature, over the compared entities. */
  byFeature: Record<string, number>;
  /** Up to 10 differing entities, for a first look (`feature` is `(missing)` or `(event time)` when no value was compared). */
  examples: { entity: Record<string, unknown>; feature: string; offline: unknown; online: unknown }[];
}

/** A prediction request to the inference tier. */
export interface PredictRequest {
  /** One object per entity: its join keys (e.g. `{ user_id: 7, product_id: 3 }`) and request-time features. */
  instances: Record<string, string | number | boolean | null>[];
  /** The experiment the caller is in, kept with each prediction in the prediction log. */
  experiment?: string;
}

/** One instance's value of one pipeline output (see {@link PredictResponse}). */
export type PredictionOutput = number | string | null | number[] | string[];

export interface PredictResponse {
  deployment: string;
  model: string;
  /** The version that answered: the deployment's, or its canary's. */
  version: number;
  /** 'canary' when the deployment's canary answered this request. */
  variant?: 'primary' | 'canary' | 'shadow';
  experiment?: string;
  predictions: {
    predictionId: string;
    /**
     * Each graph output for this instance: a number or string ([N] outputs such as
     * `probability`, `decision`, `class`), or a list ([N, k] outputs such as `probabilities`,
     * `top_k_items`). NaN is written as null.
     */
    outputs: Record<string, PredictionOutput>;
    featureStatuses: Record<string, FeatureStatus | 'default' | 'request'>;
  }[];
}

export interface HealthResponse {
  status: 'ok';
  version: string;
  role: 'control-plane' | 'inference';
}

/** One document's fate in a plan: what `apply` would do with it. */
export interface PlannedChange {
  kind: 'entity' | 'data-source' | 'feature-view' | 'label-view' | 'feature-service';
  name: string;
  action: 'create' | 'update' | 'unchanged';
  /** The version an update replaces; null for a create. */
  currentVersion: number | null;
  /** JSON Pointers of the fields an update changes. */
  changes: string[];
}

export interface DefinitionSet {
  entities?: T.Entity[];
  dataSources?: T.DataSource[];
  featureViews?: T.FeatureView[];
  labelViews?: T.LabelView[];
  /** Applied after feature views, since they name them. */
  featureServices?: T.FeatureService[];
}

/**
 * The sections of a definition set and the registry path of each, in the order they are
 * applied and planned: what a definition names comes before it.
 */
export const DEFINITION_SECTIONS = [
  ['entities', 'entities'],
  ['dataSources', 'data-sources'],
  ['featureViews', 'feature-views'],
  ['featureServices', 'feature-services'],
  ['labelViews', 'label-views'],
] as const satisfies readonly (readonly [keyof DefinitionSet, RegistryPath])[];

export const DEFINITION_SECTION_NAMES: readonly (keyof DefinitionSet)[] = DEFINITION_SECTIONS.map(([s]) => s);
