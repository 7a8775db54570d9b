import {
  problem,
  ProblemError,
  type DatasetStatistics,
  type Quality,
  type QualityReport,
  type QualityResult,
  type QualityRule,
} from '@plinth/schema';
import { type OfflineEngine, ident, valueTypeOf } from '../offline/duckdb';
import type { ObjectStore } from '../stores/types';
import { listRunDocuments, offlinePrefix } from './offline-manifest';
import { listStatistics } from './statistics';

/**
 * Data quality rules of a view, checked by DuckDB over the rows of one materialization run
 * (its `result` table) before anything is committed. Missing values are NULL and, in numeric
 * columns, NaN; +/-Infinity is a present value (outside any finite range). Each rule yields
 * pass, fail or skipped with the observed number and the expected condition.
 */

export interface QualityContext {
  view: string;
  version: number;
  kind?: 'feature-view' | 'label-view';
  jobId: string;
  /** The view's event-time column (freshness). */
  timestampColumn: string;
  /** Where the previous runs' statistics are (change). */
  objects: ObjectStore;
  /** The run's time (default: now). */
  now?: Date;
}

type Outcome = Pick<QualityResult, 'outcome' | 'observed' | 'expected' | 'detail'>;

const NUMERIC = new Set(['int32', 'int64', 'float32', 'float64']);
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))));
const bounds = (min?: number, max?: number) =>
  min !== undefined && max !== undefined ? `[${min}, ${max}]` : min !== undefined ? `>= ${min}` : `<= ${max}`;
const sqlValue = (v: string | number | boolean) =>
  typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : typeof v === 'boolean' ? String(v) : String(v);

/** Evaluates every rule of `spec` over `table` and returns the report (nothing is stored). */
export async function checkQuality(
  engine: OfflineEngine,
  table: string,
  spec: Quality,
  ctx: QualityContext,
): Promise<QualityReport> {
  const now = ctx.now ?? new Date();
  const types = new Map((await engine.describe(`SELECT * FROM ${table}`)).map((c) => [c.name, c.type]));
  const one = async (sql: string) => (await engine.rows(sql))[0];
  const [{ n }] = (await engine.rows(`SELECT count(*) AS n FROM ${table}`)) as { n: bigint }[];
  const rows = Number(n);
  let previous: DatasetStatistics | null | undefined;
  const previousRun = async () =>
    (previous ??=
      (await listStatistics(ctx.objects, ctx.view, ctx.version)).find((s) => s.jobId !== ctx.jobId) ?? null);

  /** SQL: is the column's value missing (NULL, or NaN for floating columns)? */
  const missing = (column: string) => {
    const t = types.get(column) ?? '';
    const x = ident(column);
    return /^(DOUBLE|FLOAT|REAL|DECIMAL)/i.test(t) ? `(${x} IS NULL OR isnan(${x}::DOUBLE))` : `${x} IS NULL`;
  };
  const column = (name: string) => {
    if (!types.has(name)) throw new Error(`data quality: ${table} has no column '${name}'`);
    return name;
  };

  const evaluate = async (rule: QualityRule): Promise<Outcome> => {
    switch (rule.kind) {
      case 'notNull': {
        const min = rule.minShare ?? 1;
        const expected = `share of present values >= ${min}`;
        const r = await one(`SELECT count_if(NOT ${missing(column(rule.column))}) AS present FROM ${table}`);
        const present = Number(r.present);
        if (rows === 0) return { outcome: 'pass', observed: null, expected, detail: 'no rows' };
        const share = present / rows;
        return {
          outcome: share >= min ? 'pass' : 'fail',
          observed: share,
          expected,
          detail: `${present} of ${rows} values present (${rows - present} missing)`,
        };
      }
      case 'range': {
        const x = `${ident(column(rule.column))}::DOUBLE`;
        const outside = [
          ...(rule.min !== undefined ? [`${x} < ${rule.min}`] : []),
          ...(rule.max !== undefined ? [`${x} > ${rule.max}`] : []),
        ].join(' OR ');
        const r = await one(
          `SELECT count_if(NOT ${missing(rule.column)} AND (${outside || 'false'})) AS bad,
                  min(CASE WHEN NOT ${missing(rule.column)} THEN ${x} END) AS lo,
                  max(CASE WHEN NOT ${missing(rule.column)} THEN ${x} END) AS hi FROM ${table}`,
        );
        const bad = Number(r.bad);
        const seen = r.lo === null ? 'no present values' : `present values span [${r.lo}, ${r.hi}]`;
        return {
          outcome: bad === 0 ? 'pass' : 'fail',
          observed: bad,
          expected: `every present value ${bounds(rule.min, rule.max)}`,
          detail: `${bad} value${bad === 1 ? '' : 's'} out of range; ${seen}`,
        };
      }
      case 'allowedValues': {
        const x = ident(column(rule.column));
        const t = valueTypeOf(types.get(rule.column)!);
        // Compare as text: the column's type and the JSON values' types need not agree (1 vs 1.0 aside).
        const asText = (v: string | number | boolean) =>
          !NUMERIC.has(t)
            ? `'${String(v).replace(/'/g, "''")}'`
            : typeof v === 'string'
              ? `coalesce(TRY_CAST(${sqlValue(v)} AS DOUBLE)::VARCHAR, ${sqlValue(v)})`
              : `${sqlValue(v)}::DOUBLE::VARCHAR`;
        const value = NUMERIC.has(t) ? `${x}::DOUBLE::VARCHAR` : `${x}::VARCHAR`;
        const allowed = rule.values.map(asText).join(', ');
        const offending = `NOT ${missing(rule.column)} AND ${value} NOT IN (${allowed})`;
        const r = await one(`SELECT count_if(${offending}) AS bad FROM ${table}`);
        const bad = Number(r.bad);
        const examples = bad
          ? (
              await engine.rows(
                `SELECT ${x}::VARCHAR AS v, count(*) AS c FROM ${table} WHERE ${offending} GROUP BY 1 ORDER BY c DESC, v LIMIT 5`,
              )
            ).map((e) => `${String(e.v)} (${Number(e.c)})`)
          : [];
        return {
          outcome: bad === 0 ? 'pass' : 'fail',
          observed: bad,
          expected: `every present value in ${JSON.stringify(rule.values)}`,
          detail: bad
            ? `${bad} value${bad === 1 ? '' : 's'} not allowed: ${examples.join(', ')}`
            : 'all values allowed',
        };
      }
      case 'rowCount': {
        const ok = (rule.min === undefined || rows >= rule.min) && (rule.max === undefined || rows <= rule.max);
        return {
          outcome: ok ? 'pass' : 'fail',
          observed: rows,
          expected: `row count ${bounds(rule.min, rule.max)}`,
          detail: `${rows} rows`,
        };
      }
      case 'freshness': {
        const expected = `newest event at most ${rule.maxAgeSeconds} s old`;
        const r = await one(`SELECT max(${ident(column(ctx.timestampColumn))}) AS last FROM ${table}`);
        const last = r.last instanceof Date ? r.last : r.last === null ? null : new Date(String(r.last));
        if (!last) return { outcome: 'fail', observed: null, expected, detail: 'no rows, so no event time' };
        const age = (now.getTime() - last.getTime()) / 1000;
        return {
          outcome: age <= rule.maxAgeSeconds ? 'pass' : 'fail',
          observed: age,
          expected,
          detail: `newest event ${last.toISOString()}, checked at ${now.toISOString()}`,
        };
      }
      case 'change': {
        const what = rule.metric === 'mean' ? `mean of ${rule.column}` : 'row count';
        const expected = `${what} changes by at most ${rule.maxRelativeChange * 100}% against the previous run`;
        const prev = await previousRun();
        if (!prev) return { outcome: 'skipped', observed: null, expected, detail: 'no previous run to compare with' };
        let before: number | null;
        let after: number | null;
        if (rule.metric === 'rowCount') {
          before = prev.rows;
          after = rows;
        } else {
          if (!rule.column) throw new Error('data quality: a change rule on the mean needs a column');
          const x = ident(column(rule.column));
          const r = await one(`SELECT avg(CASE WHEN isfinite(${x}::DOUBLE) THEN ${x}::DOUBLE END) AS m FROM ${table}`);
          after = r.m === null ? null : Number(r.m);
          before = prev.columns.find((c) => c.name === rule.column)?.mean ?? null;
        }
        const against = `run ${prev.jobId} (${prev.computedAt})`;
        if (before === null || after === null)
          return {
            outcome: 'skipped',
            observed: null,
            expected,
            detail: `no ${what} ${before === null ? `in ${against}` : 'in this run'}`,
          };
        const delta = Math.abs(after - before);
        const relative = delta === 0 ? 0 : before === 0 ? Infinity : delta / Math.abs(before);
        return {
          outcome: relative <= rule.maxRelativeChange ? 'pass' : 'fail',
          observed: Number.isFinite(relative) ? relative : null,
          expected,
          detail: `${what} ${fmt(before)} -> ${fmt(after)} against ${against}${Number.isFinite(relative) ? '' : ' (from zero)'}`,
        };
      }
    }
  };

  const results: QualityResult[] = [];
  for (const [i, rule] of spec.rules.entries()) {
    const r = await evaluate(rule);
    const col = 'column' in rule && rule.column ? rule.column : undefined;
    results.push({
      rule: i,
      kind: rule.kind,
      ...(rule.name ? { name: rule.name } : {}),
      ...(col ? { column: col } : {}),
      ...r,
    });
  }
  const policy = spec.policy ?? 'warn';
  const passed = results.every((r) => r.outcome !== 'fail');
  return {
    view: ctx.view,
    version: ctx.version,
    ...(ctx.kind ? { kind: ctx.kind } : {}),
    jobId: ctx.jobId,
    checkedAt: now.toISOString(),
    policy,
    rows,
    passed,
    blocked: policy === 'strict' && !passed,
    results,
  };
}

// Storage: offline/<view>/v<version>/quality/<jobId>.json, one document per run, never rewritten.

export const qualityPrefix = (view: string, version: number) => `${offlinePrefix(view, version)}/quality/`;

export async function writeQualityReport(objects: ObjectStore, r: QualityReport): Promise<void> {
  await objects.put(`${qualityPrefix(r.view, r.version)}${r.jobId}.json`, Buffer.from(JSON.stringify(r, null, 2)));
}

/** Every run's quality report of a view version, newest first. */
export async function listQualityReports(
  objects: ObjectStore,
  view: string,
  version: number,
): Promise<QualityReport[]> {
  return listRunDocuments<QualityReport>(objects, qualityPrefix(view, version), (d) => d.checkedAt);
}

/** One line per failed rule: `#2 range(amount): 3 values out of range; ... (expected ...)`. */
export const describeFailure = (r: QualityResult) =>
  `#${r.rule} ${r.name ? `'${r.name}' ` : ''}${r.kind}${r.column ? `(${r.column})` : ''}: ${r.detail} (expected ${r.expected})`;

/**
 * Checks a run's rows, keeps the report, and applies the policy: strict with a failed rule
 * throws a 422 problem (the caller has committed nothing yet); warn logs each failure.
 */
export async function enforceQuality(
  engine: OfflineEngine,
  table: string,
  spec: Quality,
  ctx: QualityContext,
  log: (line: string) => Promise<void>,
): Promise<QualityReport> {
  const report = await checkQuality(engine, table, spec, ctx);
  await writeQualityReport(ctx.objects, report);
  const failed = report.results.filter((r) => r.outcome === 'fail');
  const what = `${(ctx.kind ?? 'view').replace('-', ' ')} '${ctx.view}' version ${ctx.version}`;
  if (report.blocked) {
    throw new ProblemError(
      problem(
        422,
        'Data quality check failed',
        `${what} failed ${failed.length} of ${report.results.length} data quality rules (strict policy), so nothing was committed: ${failed.map(describeFailure).join('; ')}`,
        failed.map((r) => ({ pointer: `/quality/rules/${r.rule}`, detail: describeFailure(r) })),
      ),
    );
  }
  for (const r of failed) await log(`data quality (warn): ${describeFailure(r)}`);
  await log(
    `data quality: ${report.results.length - failed.length} of ${report.results.length} rules passed or skipped`,
  );
  return report;
}
