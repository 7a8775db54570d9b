import { randomUUID } from 'node:crypto';
import type {
  AuditEntry,
  EnqueueOptions,
  JobFilter,
  JobPatch,
  JobRecord,
  JobStatus,
  MetadataStore,
  RegistryRecord,
} from '../types';
import { migrate } from './migrations';
import { SqlModelStore } from './model-store';
import { SqlRunStore } from './run-store';
import type { SqlDriver } from './sql-driver';

interface RegistryRow {
  kind: string;
  name: string;
  version: number;
  spec: unknown;
  spec_hash: string;
  created_at: Date | string;
  created_by: string;
  deleted_at: Date | string | null;
}

interface JobRow {
  id: string;
  kind: string;
  status: JobStatus;
  params: unknown;
  result: unknown;
  error: string | null;
  progress: number;
  attempts: number;
  max_attempts: number;
  not_before: Date | string | null;
  subject: string | null;
  dedupe_key: string | null;
  lease_owner: string | null;
  lease_until: Date | string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

interface AuditRow {
  at: Date | string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
}

// spec as text, parsed here: PGlite's jsonb decoding is several times slower on large documents
// (a 500-tree pipeline is megabytes).
/** Specs at least this long are cached by hash; smaller ones are cheaper to read than to keep. */
const SPEC_CACHE_MIN_CHARS = 64 * 1024;
const SPEC_CACHE_ENTRIES = 32;
const HEADER_COLS = 'kind, name, version, spec_hash, created_at, created_by, deleted_at';
const REGISTRY_COLS = 'kind, name, version, spec::text AS spec, spec_hash, created_at, created_by, deleted_at';
const JOB_COLS =
  'id, kind, status, params, result, error, progress, attempts, max_attempts, not_before, subject, dedupe_key, ' +
  'lease_owner, lease_until, created_at, started_at, finished_at';
const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed'];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The metadata store over any `SqlDriver`: PGlite embedded, PostgreSQL shared. Every
 * statement is plain PostgreSQL so both behave the same; the tests run one suite on both.
 */
export class SqlMetadataStore implements MetadataStore {
  readonly runs: SqlRunStore;
  readonly models: SqlModelStore;
  /** Spec text by spec hash, for large documents only (oldest evicted first). */
  private readonly specTexts = new Map<string, string>();

  constructor(private readonly db: SqlDriver) {
    this.runs = new SqlRunStore(db);
    this.models = new SqlModelStore(db);
  }

  async migrate(): Promise<void> {
    await migrate(this.db);
    // Fresh statistics for run searches (see SqlRunStore.analyze); not waited for.
    void this.runs.analyzeIfStale().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---- registry -------------------------------------------------------------------------

  async putVersion<T>(
    kind: string,
    name: string,
    spec: T,
    specHash: string,
    actor: string,
  ): Promise<{ record: RegistryRecord<T>; created: boolean }> {
    requireText('kind', kind);
    requireText('name', name);
    requireText('specHash', specHash);
    requireText('actor', actor);
    return this.db.transaction(async (tx) => {
      // Serialise writers of this (kind, name) for the rest of the transaction. A row lock
      // cannot do it: the first version has no row to lock yet.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [kind, name]);
      // Headers only: the spec of an equal hash is the one given, and large specs are slow to read back.
      const latest = await tx.query<Omit<RegistryRow, 'spec'>>(
        `SELECT ${HEADER_COLS} FROM registry_versions
          WHERE kind = $1 AND name = $2 AND deleted_at IS NULL
          ORDER BY version DESC LIMIT 1`,
        [kind, name],
      );
      if (latest[0] && latest[0].spec_hash === specHash) {
        return { record: toRegistry<T>({ ...latest[0], spec }), created: false };
      }
      const text = toJson(spec);
      // Numbering continues across removals so a version number is never reused.
      const inserted = await tx.query<Omit<RegistryRow, 'spec'>>(
        `INSERT INTO registry_versions (kind, name, version, spec, spec_hash, created_by)
         SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3::jsonb, $4, $5
           FROM registry_versions WHERE kind = $1 AND name = $2
         RETURNING ${HEADER_COLS}`,
        [kind, name, text, specHash, actor],
      );
      this.cacheSpec(specHash, text);
      return { record: toRegistry<T>({ ...one(inserted), spec }), created: true };
    });
  }

  async getLatest<T>(kind: string, name: string): Promise<RegistryRecord<T> | null> {
    return this.readOne<T>(
      `FROM registry_versions WHERE kind = $1 AND name = $2 AND deleted_at IS NULL ORDER BY version DESC LIMIT 1`,
      [kind, name],
    );
  }

  async getVersion<T>(kind: string, name: string, version: number): Promise<RegistryRecord<T> | null> {
    if (!Number.isSafeInteger(version) || version < 1 || version > 2_147_483_647) return null;
    return this.readOne<T>(`FROM registry_versions WHERE kind = $1 AND name = $2 AND version = $3`, [
      kind,
      name,
      version,
    ]);
  }

  private cacheSpec(hash: string, text: string): void {
    if (text.length < SPEC_CACHE_MIN_CHARS) return;
    this.specTexts.set(hash, text);
    if (this.specTexts.size > SPEC_CACHE_ENTRIES) this.specTexts.delete(this.specTexts.keys().next().value!);
  }

  /**
   * One registry record: its header first, then the spec unless the text of that spec hash is
   * cached. A spec never changes for a given hash, so the cache is safe across processes; it
   * saves reading large documents (a 500-tree pipeline is megabytes, ~60 ms from PGlite).
   */
  private async readOne<T>(from: string, params: unknown[]): Promise<RegistryRecord<T> | null> {
    const [head] = await this.db.query<Omit<RegistryRow, 'spec'>>(`SELECT ${HEADER_COLS} ${from}`, params);
    if (!head) return null;
    let text = this.specTexts.get(head.spec_hash);
    if (text === undefined) {
      const [row] = await this.db.query<{ spec: string }>(
        `SELECT spec::text AS spec FROM registry_versions WHERE kind = $1 AND name = $2 AND version = $3`,
        [head.kind, head.name, head.version],
      );
      if (!row) return null;
      text = row.spec;
      this.cacheSpec(head.spec_hash, text);
    }
    return toRegistry<T>({ ...head, spec: JSON.parse(text) });
  }

  async listLatest<T>(kind: string): Promise<RegistryRecord<T>[]> {
    const rows = await this.db.query<RegistryRow>(
      `SELECT DISTINCT ON (name) ${REGISTRY_COLS} FROM registry_versions
        WHERE kind = $1 AND deleted_at IS NULL
        ORDER BY name, version DESC`,
      [kind],
    );
    return rows.map((r) => toRegistry<T>({ ...r, spec: JSON.parse(r.spec as string) }));
  }

  async listVersions<T>(kind: string, name: string): Promise<RegistryRecord<T>[]> {
    const rows = await this.db.query<RegistryRow>(
      `SELECT ${REGISTRY_COLS} FROM registry_versions
        WHERE kind = $1 AND name = $2 ORDER BY version`,
      [kind, name],
    );
    return rows.map((r) => toRegistry<T>({ ...r, spec: JSON.parse(r.spec as string) }));
  }

  async markDeleted(kind: string, name: string, actor: string): Promise<boolean> {
    requireText('actor', actor);
    const rows = await this.db.query<{ version: number }>(
      `UPDATE registry_versions SET deleted_at = now(), deleted_by = $3
        WHERE kind = $1 AND name = $2 AND deleted_at IS NULL
        RETURNING version`,
      [kind, name, actor],
    );
    return rows.length > 0;
  }

  // ---- jobs -----------------------------------------------------------------------------

  async enqueueJob(
    kind: string,
    params: unknown,
    opts: EnqueueOptions = {},
  ): Promise<JobRecord & { created?: boolean }> {
    requireText('kind', kind);
    const maxAttempts = opts.maxAttempts ?? 1;
    if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
      throw new RangeError(`maxAttempts must be an integer from 1 to 100, got ${maxAttempts}`);
    }
    const rows = await this.db.query<JobRow>(
      `INSERT INTO jobs (id, kind, status, params, max_attempts, subject, dedupe_key)
       VALUES ($1, $2, 'queued', $3::jsonb, $4, $5, $6)
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING ${JOB_COLS}`,
      [randomUUID(), kind, toJson(params), maxAttempts, opts.subject ?? null, opts.dedupeKey ?? null],
    );
    if (rows[0]) return { ...toJob(rows[0]), created: true };
    const existing = await this.db.query<JobRow>(`SELECT ${JOB_COLS} FROM jobs WHERE dedupe_key = $1`, [
      opts.dedupeKey,
    ]);
    return { ...toJob(one(existing)), created: false };
  }

  async leaseJob(owner: string, kinds: string[], leaseSeconds: number): Promise<JobRecord | null> {
    requireText('owner', owner);
    if (!(Number.isFinite(leaseSeconds) && leaseSeconds > 0)) {
      throw new RangeError(`leaseSeconds must be a positive number, got ${leaseSeconds}`);
    }
    if (kinds.length === 0) return null;
    // SKIP LOCKED: concurrent leasers each take a different row instead of queueing behind
    // (or both reading) the same one. A running job whose lease ran out is fair game: its
    // worker died or stalled, and jobs are idempotent (DESIGN.md).
    const rows = await this.db.query<JobRow>(
      `UPDATE jobs SET status = 'running',
              lease_owner = $1,
              lease_until = now() + make_interval(secs => $3::double precision),
              attempts = attempts + 1,
              started_at = COALESCE(started_at, now())
        WHERE id = (
          SELECT id FROM jobs
           WHERE kind = ANY($2::text[])
             AND ((status = 'queued' AND (not_before IS NULL OR not_before <= now()))
                  OR (status = 'running' AND lease_until < now()))
           ORDER BY seq
           LIMIT 1
           FOR UPDATE SKIP LOCKED)
        RETURNING ${JOB_COLS}`,
      [owner, kinds, leaseSeconds],
    );
    return rows[0] ? toJob(rows[0]) : null;
  }

  async renewLease(id: string, owner: string, leaseSeconds: number): Promise<boolean> {
    if (!UUID_RE.test(id)) return false;
    if (!(Number.isFinite(leaseSeconds) && leaseSeconds > 0)) {
      throw new RangeError(`leaseSeconds must be a positive number, got ${leaseSeconds}`);
    }
    const rows = await this.db.query<{ id: string }>(
      `UPDATE jobs SET lease_until = now() + make_interval(secs => $3::double precision)
        WHERE id = $1 AND lease_owner = $2 AND status = 'running'
        RETURNING id`,
      [id, owner, leaseSeconds],
    );
    return rows.length === 1;
  }

  async updateJob(id: string, patch: JobPatch): Promise<JobRecord> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const param = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (patch.status !== undefined) {
      if (!JOB_STATUSES.includes(patch.status)) {
        throw new RangeError(`invalid job status ${JSON.stringify(patch.status)}`);
      }
      sets.push(`status = ${param(patch.status)}`);
      if (patch.status === 'succeeded' || patch.status === 'failed') {
        // Finished: stamp the end and drop the lease so no one re-leases it.
        sets.push('finished_at = now()', 'lease_until = NULL');
      } else if (patch.status === 'queued') {
        // Handed back for a retry: free the lease now rather than when it expires.
        sets.push('lease_owner = NULL', 'lease_until = NULL', 'finished_at = NULL');
        sets.push(`not_before = ${param(patch.notBefore ?? null)}::timestamptz`);
      } else {
        sets.push('started_at = COALESCE(started_at, now())', 'finished_at = NULL');
      }
    }
    if (patch.progress !== undefined) {
      if (!(patch.progress >= 0 && patch.progress <= 1)) {
        throw new RangeError(`job progress must be within 0..1, got ${patch.progress}`);
      }
      sets.push(`progress = ${param(patch.progress)}`);
    }
    if (patch.result !== undefined) sets.push(`result = ${param(toJson(patch.result))}::jsonb`);
    if (patch.error !== undefined) sets.push(`error = ${param(patch.error)}`);

    if (!UUID_RE.test(id)) throw new Error(`job ${id} not found`);
    const rows =
      sets.length === 0
        ? await this.db.query<JobRow>(`SELECT ${JOB_COLS} FROM jobs WHERE id = $1`, [id])
        : await this.db.query<JobRow>(
            `UPDATE jobs SET ${sets.join(', ')} WHERE id = ${param(id)} RETURNING ${JOB_COLS}`,
            params,
          );
    if (!rows[0]) throw new Error(`job ${id} not found`);
    return toJob(rows[0]);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    // Not a UUID cannot be a job; checking here also avoids PostgreSQL's cast error.
    if (!UUID_RE.test(id)) return null;
    const rows = await this.db.query<JobRow>(`SELECT ${JOB_COLS} FROM jobs WHERE id = $1`, [id]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async listJobs(filter: JobFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.kind !== undefined) {
      params.push(filter.kind);
      where.push(`kind = $${params.length}`);
    }
    if (filter.status !== undefined) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    if (filter.subject !== undefined) {
      params.push(filter.subject);
      where.push(`subject = $${params.length}`);
    }
    const limit = filter.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    }
    params.push(limit);
    // Newest first: what a job list in the UI or CLI shows.
    const rows = await this.db.query<JobRow>(
      `SELECT ${JOB_COLS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toJob);
  }

  async appendJobLog(id: string, line: string): Promise<void> {
    if (!UUID_RE.test(id)) throw new Error(`job ${id} not found`);
    // INSERT ... SELECT so a missing job is a clear error rather than an FK violation.
    const rows = await this.db.query<{ job_id: string }>(
      `INSERT INTO job_logs (job_id, line) SELECT id, $2 FROM jobs WHERE id = $1 RETURNING job_id`,
      [id, line],
    );
    if (rows.length === 0) throw new Error(`job ${id} not found`);
  }

  async getJobLog(id: string): Promise<string[]> {
    if (!UUID_RE.test(id)) return [];
    const rows = await this.db.query<{ line: string }>('SELECT line FROM job_logs WHERE job_id = $1 ORDER BY seq', [
      id,
    ]);
    return rows.map((r) => r.line);
  }

  // ---- audit ----------------------------------------------------------------------------

  async audit(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    requireText('actor', entry.actor);
    requireText('action', entry.action);
    await this.db.query('INSERT INTO audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4::jsonb)', [
      entry.actor,
      entry.action,
      entry.target,
      toJson(entry.detail),
    ]);
  }

  /** Newest first. */
  async listAudit(limit: number): Promise<AuditEntry[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    }
    const rows = await this.db.query<AuditRow>(
      'SELECT at, actor, action, target, detail FROM audit_log ORDER BY seq DESC LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({
      at: iso(r.at),
      actor: r.actor,
      action: r.action,
      target: r.target,
      detail: r.detail,
    }));
  }
}

function requireText(field: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${field} must be a non-empty string`);
  }
}

/**
 * jsonb parameters go in as JSON text: `pg` would turn a JS array into a PostgreSQL array,
 * not JSON. `undefined` (absent) is stored as JSON null.
 */
function toJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

function one<R>(rows: R[]): R {
  const row = rows[0];
  if (row === undefined) throw new Error('statement returned no row');
  return row;
}

/** Both drivers parse timestamptz into Date; accept text too in case a parser is swapped. */
function iso(v: Date | string): string {
  return (v instanceof Date ? v : new Date(v)).toISOString();
}

function isoOrNull(v: Date | string | null): string | null {
  return v === null ? null : iso(v);
}

function toRegistry<T>(r: RegistryRow): RegistryRecord<T> {
  return {
    kind: r.kind,
    name: r.name,
    version: r.version,
    spec: r.spec as T,
    specHash: r.spec_hash,
    createdAt: iso(r.created_at),
    createdBy: r.created_by,
    deletedAt: isoOrNull(r.deleted_at),
  };
}

function toJob(r: JobRow): JobRecord {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    params: r.params,
    result: r.result ?? null,
    error: r.error,
    progress: Number(r.progress),
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    notBefore: isoOrNull(r.not_before),
    subject: r.subject,
    dedupeKey: r.dedupe_key,
    leaseOwner: r.lease_owner,
    leaseUntil: isoOrNull(r.lease_until),
    createdAt: iso(r.created_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at),
  };
}
