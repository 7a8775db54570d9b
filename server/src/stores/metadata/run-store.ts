import { randomUUID } from 'node:crypto';
import type { MetricPoint, Run, RunCreate, RunLog, RunUpdate } from '@plinth/schema';
import type { Clause, OrderTerm } from '../../tracking/run-filter';
import type { RunQuery, RunStore } from '../types';
import type { SqlDriver } from './sql-driver';

/** A run as {@link RUN_JSON} builds it. */
interface RunJson {
  id: string;
  experiment: string;
  name: string | null;
  status: Run['status'];
  start_time: string;
  end_time: string | null;
  created_by: string;
  source: Run['source'] | null;
  environment: Run['environment'] | null;
  example_set: string | null;
  example_set_version: number | null;
  params: Run['params'];
  tags: Run['tags'];
  metrics: Record<string, { value: number; step: number | string; at: string }>;
  artifacts: Run['artifacts'];
}

// Runs are read as ONE JSON value (a json_agg of these) and parsed here: on PGlite, decoding a
// text value per column of every run (or its own jsonb decoding) costs ~30% more.
const RUN_JSON = `json_build_object('id', r.id, 'experiment', r.experiment, 'name', r.name, 'status', r.status,
  'start_time', r.start_time, 'end_time', r.end_time, 'created_by', r.created_by, 'source', r.source,
  'environment', r.environment, 'example_set', r.example_set, 'example_set_version', r.example_set_version,
  'params', r.params, 'tags', r.tags, 'metrics', r.metrics, 'artifacts', r.artifacts)`;

const iso = (v: Date | string): string => (v instanceof Date ? v : new Date(v)).toISOString();

function toRun(r: RunJson): Run {
  const run: Run = {
    id: r.id,
    experiment: r.experiment,
    status: r.status,
    startTime: iso(r.start_time),
    createdBy: r.created_by,
    params: r.params,
    metrics: Object.fromEntries(
      Object.entries(r.metrics).map(([k, m]) => [k, { value: m.value, step: Number(m.step), timestamp: iso(m.at) }]),
    ),
    tags: r.tags,
    artifacts: r.artifacts.map((a) => ({ ...a, bytes: Number(a.bytes) })),
  };
  if (r.name !== null) run.name = r.name;
  if (r.end_time !== null) run.endTime = iso(r.end_time);
  if (r.source && Object.keys(r.source).length) run.source = r.source;
  if (r.environment && Object.keys(r.environment).length) run.environment = r.environment;
  if (r.example_set !== null && r.example_set_version !== null)
    run.exampleSet = { name: r.example_set, version: r.example_set_version };
  return run;
}

/** A parameter's numeric reading, when it is a plain decimal number. */
function paramNumber(v: string): number | null {
  if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

const ATTRIBUTE_COLUMNS: Record<string, string> = {
  id: 'r.id::text',
  experiment: 'r.experiment',
  name: 'r.name',
  status: 'r.status',
  start_time: 'r.start_time',
  end_time: 'r.end_time',
  created_by: 'r.created_by',
  example_set: 'r.example_set',
  example_set_version: 'r.example_set_version',
};

/** Builds `$n` placeholders while collecting their values. */
class SqlParams {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

const SQL_OPS: Record<string, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** `column op value` for one clause, the value a placeholder. */
function comparison(column: string, c: Clause, p: SqlParams, cast: string): string {
  const values = Array.isArray(c.value) ? c.value : [c.value];
  if (c.op === 'IN') return `${column} = ANY(${p.add(values)}::${cast}[])`;
  if (c.op === 'NOT IN') return `NOT (${column} = ANY(${p.add(values)}::${cast}[]))`;
  if (c.op === 'LIKE' || c.op === 'ILIKE') return `${column} ${c.op} ${p.add(c.value)}`;
  return `${column} ${SQL_OPS[c.op]} ${p.add(c.value)}::${cast}`;
}

/**
 * One clause as SQL on run `r`. `walk`: the column holding the run's id in a bounded walk of
 * {@link SqlRunStore.search}; the clause's subqueries then read it (so that they are checked
 * before the run's row is read) and are checked run by run (OFFSET 0 keeps PostgreSQL from
 * turning them into joins over every run that matches).
 */
function clauseSql(c: Clause, p: SqlParams, walk?: string): string {
  const run = walk ?? 'r.id';
  const fence = walk ? ' OFFSET 0' : '';
  if (c.kind === 'metric')
    return `EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = ${run} AND m.key = ${p.add(c.key)} AND ${comparison('m.value', c, p, 'float8')}${fence})`;
  if ((c.kind === 'param' || c.kind === 'tag') && c.op === '=' && typeof c.value === 'string') {
    // Equality on the run's JSON copy, which the GIN index answers (see migration 3).
    const column = c.kind === 'param' ? 'r.params' : 'r.tags';
    return `${column} @> ${p.add(JSON.stringify({ [c.key]: c.value }))}::jsonb`;
  }
  if (c.kind === 'param' || c.kind === 'tag') {
    const table = c.kind === 'param' ? 'run_params' : 'run_tags';
    const numeric =
      c.kind === 'param' && (Array.isArray(c.value) ? c.value : [c.value]).every((v) => typeof v === 'number');
    const cond = numeric ? comparison('x.num', c, p, 'float8') : comparison('x.value', c, p, 'text');
    return `EXISTS (SELECT 1 FROM ${table} x WHERE x.run_id = ${run} AND x.key = ${p.add(c.key)} AND ${cond}${fence})`;
  }
  const column = ATTRIBUTE_COLUMNS[c.key];
  if (c.key === 'start_time' || c.key === 'end_time') {
    const t = typeof c.value === 'number' ? new Date(c.value).toISOString() : new Date(String(c.value)).toISOString();
    return comparison(column, { ...c, value: t }, p, 'timestamptz');
  }
  if (c.key === 'example_set_version') return comparison(column, c, p, 'int4');
  if (c.key === 'status') {
    const lower = Array.isArray(c.value) ? c.value.map((v) => String(v).toLowerCase()) : String(c.value).toLowerCase();
    return comparison(column, { ...c, value: lower }, p, 'text');
  }
  return comparison(column, c, p, 'text');
}

/**
 * How many of the best values of the ordering metric the bounded walk of a search reads: `perRow`
 * per run up to the page's end, at least `min`, at most `max`. Checking one run costs ~3-20 us
 * (PGlite, a few filters); a walk that ends short of a full page is wasted.
 */
const WALK = { perRow: 10, min: 1000, max: 10000 };

export interface RunStoreOptions {
  /** The bounded walk's size (tests make it small to reach its edge with few runs). */
  walk?: Partial<typeof WALK>;
}

/** SQL store of runs (PGlite embedded, PostgreSQL shared); see {@link RunStore}. */
export class SqlRunStore implements RunStore {
  private created = 0;

  constructor(
    private readonly db: SqlDriver,
    private readonly options: RunStoreOptions = {},
  ) {}

  /**
   * Refreshes the planner's statistics of the run tables and merges the GIN indexes' pending
   * lists. PostgreSQL's autovacuum does both by itself; PGlite has none, so the store does it
   * when it opens (statistics only if stale) and every 2,000 new runs.
   */
  async analyze(): Promise<void> {
    await this.db.query('ANALYZE runs, run_params, run_tags, run_metrics');
    await this.mergePendingLists();
  }

  /** {@link analyze} when the planner's idea of how many runs there are is off by more than 20%. */
  async analyzeIfStale(): Promise<void> {
    const [row] = await this.db.query<{ est: number; n: number }>(
      `SELECT (SELECT reltuples FROM pg_class WHERE relname = 'runs')::float8 AS est,
              (SELECT count(*) FROM runs)::float8 AS n`,
    );
    if (row && row.n >= 1000 && (row.est < 0 || Math.abs(row.est - row.n) > 0.2 * row.n)) await this.analyze();
    else await this.mergePendingLists();
  }

  /**
   * Moves the entries waiting in the pending lists of the runs' GIN indexes (parameters and tags)
   * into the indexes. New entries wait there, unsorted, until a vacuum merges them, and every
   * search through the index reads the whole list: at the default 4 MB limit, ~10 ms per
   * equality search on PGlite (100,000 runs). Best effort: it takes owning the indexes, and on
   * PostgreSQL autovacuum does it anyway. Returns how many indexes it merged.
   */
  async mergePendingLists(): Promise<number> {
    const rows = await this.db
      .query<{ pages: number }>(
        `SELECT gin_clean_pending_list(x.indexrelid::regclass)::int8 AS pages
           FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am a ON a.oid = c.relam
          WHERE x.indrelid = 'runs'::regclass AND a.amname = 'gin'`,
      )
      .catch(() => []);
    return rows.length;
  }

  async create(input: RunCreate & { createdBy: string }): Promise<Run> {
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO runs (id, experiment, name, status, start_time, created_by, source, environment,
                           example_set, example_set_version)
         VALUES ($1, $2, $3, 'running', COALESCE($4::timestamptz, now()), $5, $6::jsonb, $7::jsonb, $8, $9)`,
        [
          id,
          input.experiment,
          input.name ?? null,
          input.startTime ?? null,
          input.createdBy,
          JSON.stringify(input.source ?? {}),
          JSON.stringify(input.environment ?? {}),
          input.exampleSet?.name ?? null,
          input.exampleSet?.version ?? null,
        ],
      );
      await this.logIn(tx, id, { params: input.params, tags: input.tags });
    });
    if (++this.created % 2000 === 0) void this.analyze().catch(() => undefined);
    return (await this.get(id)) as Run;
  }

  async get(id: string): Promise<Run | null> {
    if (!UUID.test(id)) return null;
    const [run] = await this.runs('r.id = $1 AND r.deleted_at IS NULL', [id]);
    return run ?? null;
  }

  async log(id: string, batch: RunLog): Promise<void> {
    await this.db.transaction(async (tx) => {
      const live = await tx.query<{ id: string }>(
        'SELECT id FROM runs WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
        [UUID.test(id) ? id : '00000000-0000-0000-0000-000000000000'],
      );
      if (!live[0]) throw new RunNotFoundError(id);
      await this.logIn(tx, id, batch);
    });
  }

  /** The body of log(), inside the caller's transaction. */
  private async logIn(tx: SqlDriver, id: string, batch: RunLog): Promise<void> {
    const params = Object.entries(batch.params ?? {});
    if (params.length) {
      await tx.query(
        `INSERT INTO run_params (run_id, key, value, num)
         SELECT $1, k, v, n FROM unnest($2::text[], $3::text[], $4::float8[]) AS t(k, v, n)
         ON CONFLICT (run_id, key) DO NOTHING`,
        [id, params.map(([k]) => k), params.map(([, v]) => v), params.map(([, v]) => paramNumber(v))],
      );
      const stored = await tx.query<{ key: string; value: string }>(
        'SELECT key, value FROM run_params WHERE run_id = $1 AND key = ANY($2::text[])',
        [id, params.map(([k]) => k)],
      );
      const have = new Map(stored.map((r) => [r.key, r.value]));
      for (const [k, v] of params)
        if (have.get(k) !== v)
          throw new RunConflictError(
            `parameter '${k}' is already logged as '${have.get(k)}'; parameters cannot change (got '${v}')`,
            k,
          );
      await tx.query('UPDATE runs SET params = params || $2::jsonb WHERE id = $1', [
        id,
        JSON.stringify(Object.fromEntries(params)),
      ]);
    }
    const tags = Object.entries(batch.tags ?? {});
    if (tags.length)
      await tx.query(
        `INSERT INTO run_tags (run_id, key, value)
         SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t(k, v)
         ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value`,
        [id, tags.map(([k]) => k), tags.map(([, v]) => v)],
      );
    if (tags.length)
      await tx.query('UPDATE runs SET tags = tags || $2::jsonb WHERE id = $1', [
        id,
        JSON.stringify(Object.fromEntries(tags)),
      ]);
    const metrics = batch.metrics ?? [];
    if (metrics.length) {
      // One point per (key, step) in a batch: the last one given wins, as it would across calls.
      const points = new Map<string, { key: string; step: number; value: number; at: string }>();
      const now = new Date().toISOString();
      for (const m of metrics) {
        const step = m.step ?? 0;
        points.set(`${m.key}\u0000${step}`, { key: m.key, step, value: m.value, at: m.timestamp ?? now });
      }
      const list = [...points.values()];
      await tx.query(
        `INSERT INTO run_metric_history (run_id, key, step, value, at)
         SELECT $1, k, s, v, a FROM unnest($2::text[], $3::int8[], $4::float8[], $5::timestamptz[]) AS t(k, s, v, a)
         ON CONFLICT (run_id, key, step) DO UPDATE SET value = EXCLUDED.value, at = EXCLUDED.at`,
        [id, list.map((m) => m.key), list.map((m) => m.step), list.map((m) => m.value), list.map((m) => m.at)],
      );
      await tx.query(
        `INSERT INTO run_metrics (run_id, key, step, value, at)
         SELECT DISTINCT ON (key) run_id, key, step, value, at FROM run_metric_history
          WHERE run_id = $1 AND key = ANY($2::text[])
          ORDER BY key, step DESC, at DESC
         ON CONFLICT (run_id, key) DO UPDATE SET step = EXCLUDED.step, value = EXCLUDED.value, at = EXCLUDED.at`,
        [id, [...new Set(list.map((m) => m.key))]],
      );
      await tx.query(
        `UPDATE runs SET metrics = metrics || (
           SELECT jsonb_object_agg(key, jsonb_build_object('value', value, 'step', step, 'at', at))
             FROM run_metrics WHERE run_id = $1 AND key = ANY($2::text[]))
         WHERE id = $1`,
        [id, [...new Set(list.map((m) => m.key))]],
      );
    }
    const artifacts = batch.artifacts ?? [];
    if (artifacts.length)
      await tx.query(
        `INSERT INTO run_artifacts (run_id, path, sha256, bytes)
         SELECT $1, p, s, b FROM unnest($2::text[], $3::text[], $4::int8[]) AS t(p, s, b)
         ON CONFLICT (run_id, path) DO UPDATE SET sha256 = EXCLUDED.sha256, bytes = EXCLUDED.bytes`,
        [id, artifacts.map((a) => a.path), artifacts.map((a) => a.sha256), artifacts.map((a) => a.bytes)],
      );
    if (artifacts.length)
      await tx.query(
        `UPDATE runs SET artifacts = (
           SELECT jsonb_agg(jsonb_build_object('path', path, 'sha256', sha256, 'bytes', bytes) ORDER BY path)
             FROM run_artifacts WHERE run_id = $1)
         WHERE id = $1`,
        [id],
      );
  }

  async update(id: string, patch: RunUpdate): Promise<Run> {
    const terminal = patch.status !== undefined && patch.status !== 'running';
    const rows = await this.db.query<{ id: string }>(
      `UPDATE runs SET
         status = COALESCE($2, status),
         name = COALESCE($3, name),
         end_time = CASE WHEN $4::timestamptz IS NOT NULL THEN $4::timestamptz
                         WHEN $5 AND end_time IS NULL THEN now()
                         WHEN $2 = 'running' THEN NULL
                         ELSE end_time END
       WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
      [
        UUID.test(id) ? id : '00000000-0000-0000-0000-000000000000',
        patch.status ?? null,
        patch.name ?? null,
        patch.endTime ?? null,
        terminal,
      ],
    );
    if (!rows[0]) throw new RunNotFoundError(id);
    return (await this.get(id)) as Run;
  }

  async history(id: string, key: string): Promise<MetricPoint[]> {
    if (!UUID.test(id)) return [];
    const rows = await this.db.query<{ step: number | string; value: number; at: Date | string }>(
      'SELECT step, value, at FROM run_metric_history WHERE run_id = $1 AND key = $2 ORDER BY step',
      [id, key],
    );
    return rows.map((r) => ({ step: Number(r.step), value: r.value, timestamp: iso(r.at) }));
  }

  async search(q: RunQuery): Promise<Run[]> {
    const [first, ...rest] = q.order;
    // Searches are ordered, and the planner cannot tell how many of the first runs in that order
    // the filters keep: it takes metric ranges for independent (logloss < x AND accuracy > y
    // keeps 5x more runs than it thinks) and guesses at parameter and tag equality (2-5x off
    // either way, depending on the ANALYZE sample). It then walks an ordered index past far too
    // many runs (~50 ms), or filters every run first and sorts (~0.05 ms per run kept: 500 ms for
    // 10,000) when a walk would have stopped after a few hundred. So a search first walks the
    // first runs in its order, a thousand or so (and every run tied with the last), each checked
    // against the filters until the page is full: every run outside the walk sorts after every
    // run in it, so a full page is exact. When the page is not full, the filters keep few of the
    // first runs, and the runs they keep are found through the filters' own indexes, then sorted.
    const { perRow, min, max } = { ...WALK, ...this.options.walk };
    const walk = Math.min(max, Math.max(min, perRow * (q.offset + q.limit)));
    let ids: string[];
    if (first?.kind === 'metric') {
      const k = (p: SqlParams) => p.add(first.key);
      const dir = first.descending ? 'DESC' : 'ASC';
      let withIt = await this.ids(q, rest, q.offset, q.limit, {
        from: (p) =>
          `(SELECT run_id, value FROM run_metrics WHERE key = ${k(p)} ORDER BY value ${dir}
             FETCH FIRST ${p.add(walk)} ROWS WITH TIES) o JOIN runs r ON r.id = o.run_id`,
        where: () => [],
        lead: `o.value ${dir}`,
        walk: 'o.run_id',
      });
      if (withIt.length < q.limit)
        // o.value + 0 is no index's order: it keeps the planner from walking the metric's index.
        withIt = await this.ids(q, rest, q.offset, q.limit, {
          from: 'run_metrics o JOIN runs r ON r.id = o.run_id',
          where: (p) => [`o.key = ${k(p)}`],
          lead: `o.value + 0 ${dir}`,
        });
      ids = withIt;
      if (withIt.length < q.limit) {
        let before = q.offset + withIt.length;
        if (withIt.length === 0 && q.offset > 0) before = await this.count(q, first.key);
        const without = await this.ids(q, rest, Math.max(0, q.offset - before), q.limit - withIt.length, {
          from: 'runs r',
          where: (p) => [`NOT EXISTS (SELECT 1 FROM run_metrics z WHERE z.run_id = r.id AND z.key = ${k(p)})`],
        });
        ids = [...withIt, ...without];
      }
    } else if (!first || (first.kind === 'attribute' && first.key === 'start_time')) {
      // Newest (or oldest) first: the walk goes through the runs of the experiments by start time.
      const dir = first && !first.descending ? 'ASC' : 'DESC';
      ids = await this.ids(q, q.order, q.offset, q.limit, {
        from: (p) =>
          `(SELECT * FROM runs WHERE deleted_at IS NULL${
            q.experiments?.length ? ` AND experiment = ANY(${p.add(q.experiments)}::text[])` : ''
          } ORDER BY start_time ${dir} FETCH FIRST ${p.add(walk)} ROWS WITH TIES) r`,
        where: () => [],
        walk: 'r.id',
      });
      if (ids.length < q.limit)
        ids = await this.ids(q, q.order, q.offset, q.limit, { from: 'runs r', where: () => [], sortOnly: true });
    } else ids = await this.ids(q, q.order, q.offset, q.limit, { from: 'runs r', where: () => [] });
    if (!ids.length) return [];
    const byId = new Map((await this.runs('r.id = ANY($1::uuid[])', [ids])).map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) as Run);
  }

  /** The runs `where` selects, read as one JSON value. */
  private async runs(where: string, params: unknown[]): Promise<Run[]> {
    const [row] = await this.db.query<{ runs: string | null }>(
      `SELECT json_agg(${RUN_JSON})::text AS runs FROM runs r WHERE ${where}`,
      params,
    );
    return row?.runs ? (JSON.parse(row.runs) as RunJson[]).map(toRun) : [];
  }

  /** Ids of one page of runs matching `q`'s filters (plus `extra`), ordered by `lead` then `order`. */
  private async ids(
    q: RunQuery,
    order: OrderTerm[],
    offset: number,
    limit: number,
    extra: {
      from: string | ((p: SqlParams) => string);
      where: (p: SqlParams) => string[];
      lead?: string;
      /** The column of `from` holding the run's id in a bounded walk (see clauseSql). */
      walk?: string;
      /** Start times sorted, not read in an index's order (r.start_time + 0 s is no index's order). */
      sortOnly?: boolean;
    },
  ): Promise<string[]> {
    const p = new SqlParams();
    const from = typeof extra.from === 'string' ? extra.from : extra.from(p);
    const where = [...extra.where(p), ...this.filters(q, p, extra.walk)];
    const joins: string[] = [];
    const orderSql: string[] = extra.lead ? [extra.lead] : [];
    const startTime = extra.sortOnly ? "(r.start_time + interval '0 s')" : 'r.start_time';
    order.forEach((o, i) => {
      const dir = o.descending ? 'DESC' : 'ASC';
      // Runs without the metric, parameter or tag come last whatever the direction.
      if (o.kind === 'attribute') {
        // NOT NULL columns without NULLS LAST, so that an index in that order can serve them.
        const nullable = ['name', 'end_time', 'example_set', 'example_set_version'].includes(o.key);
        const column = o.key === 'start_time' ? startTime : ATTRIBUTE_COLUMNS[o.key];
        orderSql.push(`${column} ${dir}${nullable ? ' NULLS LAST' : ''}`);
        return;
      }
      const table = o.kind === 'metric' ? 'run_metrics' : o.kind === 'param' ? 'run_params' : 'run_tags';
      joins.push(`LEFT JOIN ${table} o${i} ON o${i}.run_id = r.id AND o${i}.key = ${p.add(o.key)}`);
      if (o.kind === 'metric') orderSql.push(`o${i}.value ${dir} NULLS LAST`);
      else if (o.kind === 'param') orderSql.push(`o${i}.num ${dir} NULLS LAST`, `o${i}.value ${dir} NULLS LAST`);
      else orderSql.push(`o${i}.value ${dir} NULLS LAST`);
    });
    if (!order.some((o) => o.kind === 'attribute' && o.key === 'start_time')) orderSql.push(`${startTime} DESC`);
    orderSql.push('r.id DESC');
    const rows = await this.db.query<{ id: string }>(
      `SELECT r.id FROM ${from} ${joins.join(' ')}
        WHERE ${where.join(' AND ')}
        ORDER BY ${orderSql.join(', ')}
        LIMIT ${p.add(limit)} OFFSET ${p.add(offset)}`,
      p.values,
    );
    return rows.map((r) => r.id);
  }

  /** How many runs match `q`'s filters and have metric `key` (for paging past them). */
  private async count(q: RunQuery, key: string): Promise<number> {
    const p = new SqlParams();
    const where = [`o.key = ${p.add(key)}`, ...this.filters(q, p)];
    const rows = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM run_metrics o JOIN runs r ON r.id = o.run_id WHERE ${where.join(' AND ')}`,
      p.values,
    );
    return rows[0]?.n ?? 0;
  }

  private filters(q: RunQuery, p: SqlParams, walk?: string): string[] {
    const where = ['r.deleted_at IS NULL'];
    if (q.experiments?.length) where.push(`r.experiment = ANY(${p.add(q.experiments)}::text[])`);
    for (const c of q.clauses) where.push(clauseSql(c, p, walk));
    return where;
  }

  async delete(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const rows = await this.db.query<{ id: string }>(
      'UPDATE runs SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id',
      [id],
    );
    return rows.length > 0;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A parameter logged again with another value (parameters never change). */
export class RunConflictError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
  }
}

/** No live run has this id. */
export class RunNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`run '${id}' does not exist`);
  }
}
