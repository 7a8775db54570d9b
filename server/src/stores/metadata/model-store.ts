import type { AliasEvent, Evaluation, GatePolicy, ModelAlias } from '@plinth/schema';
import type { AliasMoveRecord, AliasRefusalRecord, ModelStore, ModelVersionUse, VersionArchive } from '../types';
import type { SqlDriver } from './sql-driver';

/** The alias moved (or appeared) between the caller's read and its write. */
export class AliasConflictError extends Error {
  constructor(
    readonly model: string,
    readonly alias: string,
    readonly expected: number | null,
    readonly actual: number | null,
  ) {
    super(
      `alias '${alias}' of model '${model}' now points at ${actual === null ? 'nothing' : `version ${actual}`}, ` +
        `not ${expected === null ? 'nothing' : `version ${expected}`}; evaluate against it again`,
    );
  }
}

/** The version is in use (behind an alias or serving a deployment) and cannot be archived or deleted. */
export class VersionInUseError extends Error {
  constructor(
    readonly model: string,
    readonly version: number,
    readonly use: ModelVersionUse,
    action: string,
  ) {
    const parts = [...use.aliases.map((a) => `alias '${a}'`), ...use.deployments.map((d) => `deployment '${d}'`)];
    super(`${model}@${version} cannot be ${action}: ${parts.join(' and ')} ${parts.length > 1 ? 'use' : 'uses'} it`);
  }
}

interface AliasRow {
  model: string;
  alias: string;
  version: number;
  updated_at: Date | string;
  updated_by: string;
  policy: string | null;
}

interface EventRow {
  model: string;
  alias: string;
  action: AliasEvent['action'];
  from_version: number | null;
  to_version: number | null;
  actor: string;
  at: Date | string;
  reason: string;
  forced: boolean;
  evaluation_id: string | null;
}

const iso = (v: Date | string): string => (v instanceof Date ? v : new Date(v)).toISOString();

function toAlias(r: AliasRow): ModelAlias {
  return {
    model: r.model,
    alias: r.alias,
    version: r.version,
    updatedAt: iso(r.updated_at),
    updatedBy: r.updated_by,
    ...(r.policy ? { policy: JSON.parse(r.policy) as GatePolicy } : {}),
  };
}

function toEvent(r: EventRow): AliasEvent {
  return {
    model: r.model,
    alias: r.alias,
    action: r.action,
    fromVersion: r.from_version,
    toVersion: r.to_version,
    actor: r.actor,
    at: iso(r.at),
    reason: r.reason,
    forced: r.forced,
    ...(r.evaluation_id ? { evaluationId: r.evaluation_id } : {}),
  };
}

/**
 * Aliases, their history, policies, archived versions and gate evaluations, in the metadata
 * database beside the registry. Every change to an alias and the event recording it commit
 * together, under a per-model lock, so the history never misses a move.
 */
export class SqlModelStore implements ModelStore {
  constructor(private readonly db: SqlDriver) {}

  async aliases(model: string): Promise<ModelAlias[]> {
    const rows = await this.db.query<AliasRow>(
      `SELECT a.model, a.alias, a.version, a.updated_at, a.updated_by, p.policy::text AS policy
         FROM model_aliases a
         LEFT JOIN model_alias_policies p ON p.model = a.model AND p.alias = a.alias
        WHERE a.model = $1 ORDER BY a.alias`,
      [model],
    );
    return rows.map(toAlias);
  }

  async alias(model: string, alias: string): Promise<ModelAlias | null> {
    return (await this.aliases(model)).find((a) => a.alias === alias) ?? null;
  }

  async moveAlias(m: AliasMoveRecord): Promise<ModelAlias> {
    return this.db.transaction(async (tx) => {
      await this.lock(tx, m.model);
      const current = await this.currentVersion(tx, m.model, m.alias);
      if (current !== m.expected) throw new AliasConflictError(m.model, m.alias, m.expected, current);
      if (await this.isArchived(tx, m.model, m.version))
        throw new Error(`${m.model}@${m.version} is archived; an alias cannot point at it`);
      await tx.query(
        `INSERT INTO model_aliases (model, alias, version, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model, alias) DO UPDATE SET version = $3, updated_by = $4, updated_at = now()`,
        [m.model, m.alias, m.version, m.actor],
      );
      await this.event(tx, m.model, m.alias, 'set', current, m.version, m.actor, m.reason, m.forced, m.evaluationId);
      return (await this.aliasIn(tx, m.model, m.alias))!;
    });
  }

  async recordRefusal(m: AliasRefusalRecord): Promise<void> {
    await this.event(this.db, m.model, m.alias, 'refused', m.from, m.to, m.actor, m.reason, false, m.evaluationId);
  }

  async removeAlias(model: string, alias: string, actor: string, reason: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await this.lock(tx, model);
      const current = await this.currentVersion(tx, model, alias);
      if (current === null) return false;
      await tx.query('DELETE FROM model_aliases WHERE model = $1 AND alias = $2', [model, alias]);
      await this.event(tx, model, alias, 'removed', current, null, actor, reason, false);
      return true;
    });
  }

  async history(model: string, alias?: string): Promise<AliasEvent[]> {
    const rows = await this.db.query<EventRow>(
      `SELECT model, alias, action, from_version, to_version, actor, at, reason, forced, evaluation_id::text
         FROM model_alias_events
        WHERE model = $1 AND ($2::text IS NULL OR alias = $2)
        ORDER BY seq`,
      [model, alias ?? null],
    );
    return rows.map(toEvent);
  }

  async policy(model: string, alias: string): Promise<GatePolicy | null> {
    const rows = await this.db.query<{ policy: string }>(
      'SELECT policy::text AS policy FROM model_alias_policies WHERE model = $1 AND alias = $2',
      [model, alias],
    );
    return rows[0] ? (JSON.parse(rows[0].policy) as GatePolicy) : null;
  }

  async setPolicy(model: string, alias: string, policy: GatePolicy | null): Promise<void> {
    if (policy === null) {
      await this.db.query('DELETE FROM model_alias_policies WHERE model = $1 AND alias = $2', [model, alias]);
      return;
    }
    await this.db.query(
      `INSERT INTO model_alias_policies (model, alias, policy) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (model, alias) DO UPDATE SET policy = $3::jsonb`,
      [model, alias, JSON.stringify(policy)],
    );
  }

  async archived(model: string): Promise<Map<number, VersionArchive>> {
    const rows = await this.db.query<{
      version: number;
      archived_at: Date | string;
      archived_by: string;
      reason: string | null;
    }>('SELECT version, archived_at, archived_by, reason FROM model_version_states WHERE model = $1', [model]);
    return new Map(
      rows.map((r) => [
        r.version,
        { at: iso(r.archived_at), by: r.archived_by, ...(r.reason ? { reason: r.reason } : {}) },
      ]),
    );
  }

  async archive(model: string, version: number, actor: string, reason?: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.lock(tx, model);
      const use = await this.useIn(tx, model, version);
      if (use.aliases.length || use.deployments.length) throw new VersionInUseError(model, version, use, 'archived');
      await tx.query(
        `INSERT INTO model_version_states (model, version, archived_by, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model, version) DO NOTHING`,
        [model, version, actor, reason ?? null],
      );
    });
  }

  async unarchive(model: string, version: number): Promise<void> {
    await this.db.query('DELETE FROM model_version_states WHERE model = $1 AND version = $2', [model, version]);
  }

  async deleteVersion(model: string, version: number, actor: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await this.lock(tx, model);
      const use = await this.useIn(tx, model, version);
      if (use.aliases.length || use.deployments.length) throw new VersionInUseError(model, version, use, 'deleted');
      const rows = await tx.query<{ version: number }>(
        `UPDATE registry_versions SET deleted_at = now(), deleted_by = $3
          WHERE kind = 'model' AND name = $1 AND version = $2 AND deleted_at IS NULL RETURNING version`,
        [model, version, actor],
      );
      return rows.length > 0;
    });
  }

  use(model: string, version: number): Promise<ModelVersionUse> {
    return this.useIn(this.db, model, version);
  }

  async contentInUse(sha256: string): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM registry_versions
        WHERE kind = 'model' AND deleted_at IS NULL
          AND (spec->'artifact'->>'sha256' = $1 OR spec->'manifest'->>'sha256' = $1)
        LIMIT 1`,
      [sha256],
    );
    return rows.length > 0;
  }

  async saveEvaluation(e: Evaluation): Promise<void> {
    await this.db.query('INSERT INTO model_evaluations (id, model, at, doc) VALUES ($1, $2, $3, $4::jsonb)', [
      e.id,
      e.model,
      e.at,
      JSON.stringify(e),
    ]);
  }

  async evaluations(model: string, limit = 100): Promise<Evaluation[]> {
    const rows = await this.db.query<{ doc: string }>(
      'SELECT doc::text AS doc FROM model_evaluations WHERE model = $1 ORDER BY at DESC LIMIT $2',
      [model, limit],
    );
    return rows.map((r) => JSON.parse(r.doc) as Evaluation);
  }

  async evaluation(id: string): Promise<Evaluation | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const rows = await this.db.query<{ doc: string }>('SELECT doc::text AS doc FROM model_evaluations WHERE id = $1', [
      id,
    ]);
    return rows[0] ? (JSON.parse(rows[0].doc) as Evaluation) : null;
  }

  // Alias moves, archiving and deletion of one model take turns.
  private async lock(tx: SqlDriver, model: string): Promise<void> {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('model-alias'), hashtext($1))", [model]);
  }

  private async currentVersion(tx: SqlDriver, model: string, alias: string): Promise<number | null> {
    const rows = await tx.query<{ version: number }>(
      'SELECT version FROM model_aliases WHERE model = $1 AND alias = $2',
      [model, alias],
    );
    return rows[0]?.version ?? null;
  }

  private async aliasIn(tx: SqlDriver, model: string, alias: string): Promise<ModelAlias | null> {
    const rows = await tx.query<AliasRow>(
      `SELECT a.model, a.alias, a.version, a.updated_at, a.updated_by, p.policy::text AS policy
         FROM model_aliases a LEFT JOIN model_alias_policies p ON p.model = a.model AND p.alias = a.alias
        WHERE a.model = $1 AND a.alias = $2`,
      [model, alias],
    );
    return rows[0] ? toAlias(rows[0]) : null;
  }

  private async isArchived(tx: SqlDriver, model: string, version: number): Promise<boolean> {
    const rows = await tx.query('SELECT 1 FROM model_version_states WHERE model = $1 AND version = $2', [
      model,
      version,
    ]);
    return rows.length > 0;
  }

  /** Aliases pointing at the version and live deployments serving it (their newest record). */
  private async useIn(tx: SqlDriver, model: string, version: number): Promise<ModelVersionUse> {
    const aliases = await tx.query<{ alias: string }>(
      'SELECT alias FROM model_aliases WHERE model = $1 AND version = $2 ORDER BY alias',
      [model, version],
    );
    const deployments = await tx.query<{ name: string }>(
      `SELECT name FROM (
         SELECT DISTINCT ON (name) name, spec FROM registry_versions
          WHERE kind = 'deployment' AND deleted_at IS NULL ORDER BY name, version DESC) d
        WHERE d.spec->>'model' = $1 AND (d.spec->>'version')::int = $2
        ORDER BY name`,
      [model, version],
    );
    return { aliases: aliases.map((a) => a.alias), deployments: deployments.map((d) => d.name) };
  }

  private async event(
    tx: SqlDriver,
    model: string,
    alias: string,
    action: AliasEvent['action'],
    from: number | null,
    to: number | null,
    actor: string,
    reason: string,
    forced: boolean,
    evaluationId?: string,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO model_alias_events
         (model, alias, action, from_version, to_version, actor, reason, forced, evaluation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [model, alias, action, from, to, actor, reason, forced, evaluationId ?? null],
    );
  }
}
