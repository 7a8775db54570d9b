/**
 * The store interfaces of DESIGN.md's "two ways to run" table. Each has an embedded
 * implementation (PGlite, LMDB, local directory) and a shared one (PostgreSQL, Redis, S3),
 * chosen by configuration. Callers depend on these interfaces only.
 */

import type {
  AliasEvent,
  Evaluation,
  GatePolicy,
  MetricPoint,
  ModelAlias,
  Run,
  RunCreate,
  RunLog,
  RunUpdate,
} from '@plinth/schema';
import type { Clause, OrderTerm } from '../tracking/run-filter';

/** One immutable version of a registry document (entity, feature view, model, deployment...). */
export interface RegistryRecord<T = unknown> {
  kind: string;
  name: string;
  version: number;
  spec: T;
  /** sha256 of the canonical JSON of `spec`; equal hashes mean an apply changes nothing. */
  specHash: string;
  createdAt: string;
  createdBy: string;
  /** Set when the definition was removed explicitly; removed versions stay readable. */
  deletedAt: string | null;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobRecord {
  id: string;
  kind: string;
  status: JobStatus;
  params: unknown;
  result: unknown;
  error: string | null;
  /** 0..1 */
  progress: number;
  attempts: number;
  /** Runs allowed in all; a failed attempt below this is queued again after a backoff. */
  maxAttempts: number;
  /** A queued job is not leased before this time (retry backoff). */
  notBefore: string | null;
  /** What the job works on, e.g. the view a materialization refreshes. */
  subject: string | null;
  /** Unique when set: enqueueing the same key again returns the existing job. */
  dedupeKey: string | null;
  leaseOwner: string | null;
  leaseUntil: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobPatch {
  status?: JobStatus;
  progress?: number;
  result?: unknown;
  error?: string | null;
  /** With status 'queued': not leased again before this time. */
  notBefore?: string | null;
}

export interface EnqueueOptions {
  maxAttempts?: number;
  subject?: string;
  dedupeKey?: string;
}

export interface JobFilter {
  kind?: string;
  status?: JobStatus;
  subject?: string;
  limit?: number;
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
}

/** Metadata: registry, jobs and audit. Only the control plane opens it (DESIGN.md). */
export interface MetadataStore {
  /** Applies pending migrations; safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /**
   * Stores `spec` as a new version of (kind, name) unless the latest live version has the
   * same hash, in which case that version is returned with `created: false` (idempotent apply).
   */
  putVersion<T>(
    kind: string,
    name: string,
    spec: T,
    specHash: string,
    actor: string,
  ): Promise<{ record: RegistryRecord<T>; created: boolean }>;
  getLatest<T>(kind: string, name: string): Promise<RegistryRecord<T> | null>;
  getVersion<T>(kind: string, name: string, version: number): Promise<RegistryRecord<T> | null>;
  /** Latest live version of every name of a kind, ordered by name. */
  listLatest<T>(kind: string): Promise<RegistryRecord<T>[]>;
  listVersions<T>(kind: string, name: string): Promise<RegistryRecord<T>[]>;
  /** Marks every version of (kind, name) removed; returns false if there was none. */
  markDeleted(kind: string, name: string, actor: string): Promise<boolean>;

  /** Queues a job; with a `dedupeKey` already used, returns that job instead (`created: false`). */
  enqueueJob(kind: string, params: unknown, opts?: EnqueueOptions): Promise<JobRecord & { created?: boolean }>;
  /** Atomically leases the oldest queued (or lease-expired running) job of the given kinds. */
  leaseJob(owner: string, kinds: string[], leaseSeconds: number): Promise<JobRecord | null>;
  /**
   * Extends a running job's lease while its owner still holds it; false when the lease was
   * lost (expired and taken by another runner, or the job finished).
   */
  renewLease(id: string, owner: string, leaseSeconds: number): Promise<boolean>;
  updateJob(id: string, patch: JobPatch): Promise<JobRecord>;
  getJob(id: string): Promise<JobRecord | null>;
  listJobs(filter: JobFilter): Promise<JobRecord[]>;
  appendJobLog(id: string, line: string): Promise<void>;
  getJobLog(id: string): Promise<string[]>;

  audit(entry: Omit<AuditEntry, 'at'>): Promise<void>;
  listAudit(limit: number): Promise<AuditEntry[]>;

  /** Run tracking, in the same database. */
  readonly runs: RunStore;
  /** Model aliases, their history, archived versions and gate evaluations. */
  readonly models: ModelStore;
}

/** What holds on to a model version: aliases pointing at it, deployments serving it. */
export interface ModelVersionUse {
  aliases: string[];
  deployments: string[];
}

export interface VersionArchive {
  at: string;
  by: string;
  reason?: string;
}

/** An alias move as stored: `expected` is the version the mover evaluated against (null: none). */
export interface AliasMoveRecord {
  model: string;
  alias: string;
  version: number;
  expected: number | null;
  actor: string;
  reason: string;
  forced: boolean;
  evaluationId?: string;
}

/** A move the gate refused: kept in the alias history, the alias unchanged. */
export interface AliasRefusalRecord {
  model: string;
  alias: string;
  from: number | null;
  to: number;
  actor: string;
  reason: string;
  evaluationId?: string;
}

/**
 * The mutable side of the model repository (versions themselves are registry records).
 * Moving an alias is compare-and-set: `expected` is the version the caller evaluated against.
 */
export interface ModelStore {
  aliases(model: string): Promise<ModelAlias[]>;
  alias(model: string, alias: string): Promise<ModelAlias | null>;
  moveAlias(m: AliasMoveRecord): Promise<ModelAlias>;
  recordRefusal(m: AliasRefusalRecord): Promise<void>;
  removeAlias(model: string, alias: string, actor: string, reason: string): Promise<boolean>;
  history(model: string, alias?: string): Promise<AliasEvent[]>;
  policy(model: string, alias: string): Promise<GatePolicy | null>;
  setPolicy(model: string, alias: string, policy: GatePolicy | null): Promise<void>;
  archived(model: string): Promise<Map<number, VersionArchive>>;
  /** Throws VersionInUseError when an alias or a live deployment uses the version. */
  archive(model: string, version: number, actor: string, reason?: string): Promise<void>;
  unarchive(model: string, version: number): Promise<void>;
  /** Marks one version removed; throws VersionInUseError when it is in use. */
  deleteVersion(model: string, version: number, actor: string): Promise<boolean>;
  use(model: string, version: number): Promise<ModelVersionUse>;
  /** Whether a live version of any model stores `sha256` as its artifact or manifest. */
  contentInUse(sha256: string): Promise<boolean>;
  saveEvaluation(e: Evaluation): Promise<void>;
  evaluations(model: string, limit?: number): Promise<Evaluation[]>;
  evaluation(id: string): Promise<Evaluation | null>;
}

/** A run search: every clause must hold; ordered by `order`, then newest first. */
export interface RunQuery {
  experiments?: string[];
  clauses: Clause[];
  order: OrderTerm[];
  limit: number;
  offset: number;
}

/**
 * Tracked runs. Parameters are immutable once logged (logging a different value is a conflict);
 * metrics keep every point by step and expose the latest; tags can be overwritten.
 */
export interface RunStore {
  create(input: RunCreate & { createdBy: string }): Promise<Run>;
  get(id: string): Promise<Run | null>;
  /**
   * Stores the batch in one transaction; throws RunConflictError when a parameter would change,
   * RunNotFoundError when there is no such live run.
   */
  log(id: string, batch: RunLog): Promise<void>;
  update(id: string, patch: RunUpdate): Promise<Run>;
  history(id: string, key: string): Promise<MetricPoint[]>;
  search(q: RunQuery): Promise<Run[]>;
  /** Soft delete: the run disappears from searches; false when there was no such live run. */
  delete(id: string): Promise<boolean>;
}

/** The online store's interface lives in kernel-lib: notebooks and the inference tier read it directly. */
export type { OnlineStore, OnlineBatch, OnlineRow, OnlineWrite, ViewSize, WriteResult } from '@plinth/kernel-lib';

export interface ObjectStat {
  size: number;
  /** Changes whenever the object's content does: the S3 ETag, or size and mtime locally. */
  version: string;
  lastModified: Date;
}

/** Objects addressed by slash-separated keys. Writes are atomic: readers never see half an object. */
export interface ObjectStore {
  put(key: string, data: Uint8Array): Promise<void>;
  /** Moves or copies a local file into the store atomically. */
  putFile(key: string, localPath: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /**
   * Size and version of an object, or null when there is none. Caches of remote objects key
   * on `version`, so a rewritten object is fetched again.
   */
  stat?(key: string): Promise<ObjectStat | null>;
  /** A local filesystem path DuckDB can read directly, or null for remote stores. */
  localPath(key: string): string | null;
  /** A location outside tools understand: file:///... or s3://bucket/... */
  uri(key: string): string;
}
