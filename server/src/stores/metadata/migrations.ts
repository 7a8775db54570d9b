import type { SqlDriver } from './sql-driver';

export interface Migration {
  version: number;
  name: string;
  /** One statement per entry: PGlite's `query` takes a single statement. */
  statements: string[];
}

/**
 * Append-only: never edit a released migration, add the next number instead. Each runs once,
 * in order, and is recorded in `schema_migrations`.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry, jobs, job logs, audit',
    statements: [
      `CREATE TABLE registry_versions (
         kind        text        NOT NULL,
         name        text        NOT NULL,
         version     integer     NOT NULL CHECK (version > 0),
         spec        jsonb       NOT NULL,
         spec_hash   text        NOT NULL,
         created_at  timestamptz NOT NULL DEFAULT now(),
         created_by  text        NOT NULL,
         deleted_at  timestamptz,
         deleted_by  text,
         PRIMARY KEY (kind, name, version)
       )`,
      // listLatest / getLatest read the newest live version per name.
      `CREATE INDEX registry_versions_live ON registry_versions (kind, name, version DESC)
         WHERE deleted_at IS NULL`,
      `CREATE TABLE jobs (
         id           uuid        PRIMARY KEY,
         seq          bigserial   NOT NULL UNIQUE,
         kind         text        NOT NULL,
         status       text        NOT NULL
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
         params       jsonb       NOT NULL,
         result       jsonb,
         error        text,
         progress     double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
         attempts     integer     NOT NULL DEFAULT 0,
         lease_owner  text,
         lease_until  timestamptz,
         created_at   timestamptz NOT NULL DEFAULT now(),
         started_at   timestamptz,
         finished_at  timestamptz
       )`,
      // leaseJob scans only leasable jobs, oldest first.
      `CREATE INDEX jobs_leasable ON jobs (kind, seq) WHERE status IN ('queued', 'running')`,
      `CREATE INDEX jobs_status_seq ON jobs (status, seq)`,
      `CREATE TABLE job_logs (
         job_id  uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
         seq     bigserial   NOT NULL,
         at      timestamptz NOT NULL DEFAULT now(),
         line    text        NOT NULL,
         PRIMARY KEY (job_id, seq)
       )`,
      `CREATE TABLE audit_log (
         seq     bigserial   PRIMARY KEY,
         at      timestamptz NOT NULL DEFAULT now(),
         actor   text        NOT NULL,
         action  text        NOT NULL,
         target  text        NOT NULL,
         detail  jsonb       NOT NULL
       )`,
    ],
  },
  {
    version: 2,
    name: 'job retries, subjects and de-duplication',
    statements: [
      `ALTER TABLE jobs ADD COLUMN max_attempts integer NOT NULL DEFAULT 1 CHECK (max_attempts > 0)`,
      // A retried job waits out its backoff: leaseJob skips it until then.
      `ALTER TABLE jobs ADD COLUMN not_before timestamptz`,
      // What the job works on (a view's name for materializations): run history per view.
      `ALTER TABLE jobs ADD COLUMN subject text`,
      // The scheduler's key per (view, fire time): replicas racing to enqueue one run make one job.
      `ALTER TABLE jobs ADD COLUMN dedupe_key text UNIQUE`,
      `CREATE INDEX jobs_subject_seq ON jobs (kind, subject, seq)`,
    ],
  },
  {
    version: 3,
    name: 'run tracking',
    statements: [
      `CREATE TABLE runs (
         id                   uuid        PRIMARY KEY,
         experiment           text        NOT NULL,
         name                 text,
         status               text        NOT NULL
                              CHECK (status IN ('running', 'finished', 'failed', 'killed')),
         start_time           timestamptz NOT NULL,
         end_time             timestamptz,
         created_by           text        NOT NULL,
         source               jsonb       NOT NULL DEFAULT '{}',
         environment          jsonb       NOT NULL DEFAULT '{}',
         example_set          text,
         example_set_version  integer,
         deleted_at           timestamptz,
         -- The run as read: a copy of its parameters, tags, latest metrics and artifacts, kept
         -- in step with the tables below by every write, so a page of results is read without
         -- aggregating four tables per run. The tables are what filters and orderings use.
         params               jsonb       NOT NULL DEFAULT '{}',
         tags                 jsonb       NOT NULL DEFAULT '{}',
         metrics              jsonb       NOT NULL DEFAULT '{}',
         artifacts            jsonb       NOT NULL DEFAULT '[]'
       )`,
      // The default listing (newest first), overall and per experiment.
      `CREATE INDEX runs_live_start ON runs (start_time DESC, id) WHERE deleted_at IS NULL`,
      `CREATE INDEX runs_experiment_start ON runs (experiment, start_time DESC) WHERE deleted_at IS NULL`,
      // params.x = 'v' and tags.x = 'v' are containment tests on the run's JSON copy: one GIN
      // index answers a conjunction of them at once (the key/value tables need a join each).
      `CREATE INDEX runs_params_gin ON runs USING gin (params jsonb_path_ops) WHERE deleted_at IS NULL`,
      `CREATE INDEX runs_tags_gin ON runs USING gin (tags jsonb_path_ops) WHERE deleted_at IS NULL`,
      `CREATE TABLE run_params (
         run_id  uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
         key     text NOT NULL,
         value   text NOT NULL,
         -- The value as a number when it is one: params.num_leaves > 30 compares numbers.
         num     double precision,
         PRIMARY KEY (run_id, key)
       )`,
      `CREATE INDEX run_params_key_value ON run_params (key, value)`,
      `CREATE INDEX run_params_key_num ON run_params (key, num) WHERE num IS NOT NULL`,
      `CREATE TABLE run_tags (
         run_id  uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
         key     text NOT NULL,
         value   text NOT NULL,
         PRIMARY KEY (run_id, key)
       )`,
      `CREATE INDEX run_tags_key_value ON run_tags (key, value)`,
      // Every logged point; one value per (run, key, step), the last write winning.
      `CREATE TABLE run_metric_history (
         run_id  uuid             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
         key     text             NOT NULL,
         step    bigint           NOT NULL,
         value   double precision NOT NULL,
         at      timestamptz      NOT NULL,
         PRIMARY KEY (run_id, key, step)
       )`,
      // The latest point per key (highest step, newest on ties): what search filters and sorts.
      `CREATE TABLE run_metrics (
         run_id  uuid             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
         key     text             NOT NULL,
         step    bigint           NOT NULL,
         value   double precision NOT NULL,
         at      timestamptz      NOT NULL,
         PRIMARY KEY (run_id, key)
       )`,
      `CREATE INDEX run_metrics_key_value ON run_metrics (key, value)`,
      // A key's values are far from independent of the key (model = 'gbt' is half the runs,
      // not 'model' share x 'gbt' share): multivariate statistics let the planner see it and
      // walk an ordered index when most runs match, or use the (key, value) indexes when few do.
      `CREATE STATISTICS run_params_key_value_stats (mcv) ON key, value FROM run_params`,
      `CREATE STATISTICS run_tags_key_value_stats (mcv) ON key, value FROM run_tags`,
      `CREATE STATISTICS run_metrics_key_value_stats (mcv) ON key, value FROM run_metrics`,
      `CREATE TABLE run_artifacts (
         run_id  uuid   NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
         path    text   NOT NULL,
         sha256  text   NOT NULL,
         bytes   bigint NOT NULL,
         PRIMARY KEY (run_id, path)
       )`,
    ],
  },
  {
    version: 4,
    name: 'model aliases, alias history, archived versions, gate evaluations; tags GIN index not partial',
    statements: [
      // The current target of each alias; its history is model_alias_events.
      `CREATE TABLE model_aliases (
         model       text        NOT NULL,
         alias       text        NOT NULL,
         version     integer     NOT NULL CHECK (version > 0),
         updated_at  timestamptz NOT NULL DEFAULT now(),
         updated_by  text        NOT NULL,
         PRIMARY KEY (model, alias)
       )`,
      `CREATE TABLE model_alias_events (
         seq           bigserial   PRIMARY KEY,
         model         text        NOT NULL,
         alias         text        NOT NULL,
         action        text        NOT NULL CHECK (action IN ('set', 'removed', 'refused')),
         from_version  integer,
         to_version    integer,
         actor         text        NOT NULL,
         at            timestamptz NOT NULL DEFAULT now(),
         reason        text        NOT NULL,
         forced        boolean     NOT NULL DEFAULT false,
         evaluation_id uuid
       )`,
      `CREATE INDEX model_alias_events_by_alias ON model_alias_events (model, alias, seq)`,
      `CREATE TABLE model_alias_policies (
         model   text  NOT NULL,
         alias   text  NOT NULL,
         policy  jsonb NOT NULL,
         PRIMARY KEY (model, alias)
       )`,
      // Registry versions are immutable; archiving is state beside them.
      `CREATE TABLE model_version_states (
         model        text        NOT NULL,
         version      integer     NOT NULL,
         archived_at  timestamptz NOT NULL DEFAULT now(),
         archived_by  text        NOT NULL,
         reason       text,
         PRIMARY KEY (model, version)
       )`,
      `CREATE TABLE model_evaluations (
         id          uuid        PRIMARY KEY,
         model       text        NOT NULL,
         at          timestamptz NOT NULL DEFAULT now(),
         doc         jsonb       NOT NULL
       )`,
      `CREATE INDEX model_evaluations_by_model ON model_evaluations (model, at)`,
      // Not partial: PostgreSQL will not combine two partial GIN indexes with the same predicate
      // (params and tags), so equality on both read one and filtered the other.
      `DROP INDEX runs_tags_gin`,
      `CREATE INDEX runs_tags_gin ON runs USING gin (tags jsonb_path_ops)`,
    ],
  },
];

/** Arbitrary constant: the advisory lock that serialises concurrent `migrate()` callers. */
const MIGRATION_LOCK_KEY = 7_402_113_001;

/**
 * Applies pending migrations in one transaction. An advisory lock makes replicas that start
 * together take turns, so each migration runs exactly once; a failure rolls back all of them.
 * Returns the versions applied by this call (empty when already up to date).
 */
export async function migrate(driver: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  assertOrdered(migrations);
  return driver.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version    integer     PRIMARY KEY,
         name       text        NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      // A newer release migrated this database; running old code on it would corrupt data.
      throw new Error(
        `metadata database has migrations ${unknown.join(', ')} unknown to this version of Plinth; upgrade Plinth`,
      );
    }
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      for (const sql of m.statements) await tx.query(sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      done.push(m.version);
    }
    return done;
  });
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migration #${i} has version ${m.version}; versions must be 1, 2, 3...`);
    }
  });
}
