import type { ColumnStatistics, DatasetStatistics, ValueType } from '@plinth/schema';
import { type OfflineEngine, ident, valueTypeOf } from '../offline/duckdb';
import type { ObjectStore } from '../stores/types';
import { listRunDocuments, offlinePrefix } from './offline-manifest';

/**
 * Data metadata and statistics of one materialization run, computed by DuckDB over the run's
 * rows in three passes: one aggregate (counts, missing, moments, min/max, approximate
 * distinct counts of every column), one for the histograms of numeric columns, one for the
 * top values of string and bool columns.
 *
 * Missing values: NULL everywhere; in numeric columns NaN and +/-Infinity as well (they have
 * no mean, would poison every moment, and JSON cannot carry them). They are counted in
 * `missing` (and separately in `nonFinite`) and left out of every other statistic, so
 * histogram counts always sum to rows - missing.
 */

export type ColumnRole = ColumnStatistics['role'];

export interface StatisticsColumn {
  name: string;
  /** The declared type, reported as is; the computation follows the column's actual type. */
  type: ValueType;
  role: ColumnRole;
}

export interface StatisticsMeta {
  view: string;
  version: number;
  jobId: string;
  bytes: number;
  lastEventTime: string | null;
}

export const HISTOGRAM_BINS = 10;
export const TOP_VALUES = 10;

type Kind = 'numeric' | 'text' | 'timestamp';

const kindOf = (t: ValueType): Kind =>
  t === 'timestamp' ? 'timestamp' : t === 'string' || t === 'bool' ? 'text' : 'numeric';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v);
const percent = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : 0);

/** Statistics of `table` (a table or view in `engine`) over the given columns. */
export async function computeStatistics(
  engine: OfflineEngine,
  table: string,
  columns: StatisticsColumn[],
  meta: StatisticsMeta,
): Promise<DatasetStatistics> {
  const actual = new Map((await engine.describe(`SELECT * FROM ${table}`)).map((c) => [c.name, c.type]));
  const cols = columns.map((c, i) => {
    const duck = actual.get(c.name);
    if (!duck) throw new Error(`statistics: ${table} has no column '${c.name}'`);
    const kind = kindOf(valueTypeOf(duck));
    const x = ident(c.name);
    const float = kind === 'numeric' && /^(DOUBLE|FLOAT|REAL|DECIMAL)/i.test(duck);
    // The value statistics see: numbers as finite doubles (else NULL), bools and strings as text.
    const value =
      kind === 'numeric'
        ? `CASE WHEN isfinite(${x}::DOUBLE) THEN ${x}::DOUBLE END`
        : kind === 'text'
          ? `${x}::VARCHAR`
          : x;
    return { ...c, i, kind, float, x, value, v: `v${i}` };
  });
  // Float columns also carry their raw value, to tell NaN and Infinity from NULL.
  const projected = cols.flatMap((c) => [`${c.value} AS ${c.v}`, ...(c.float ? [`${c.x}::DOUBLE AS r${c.i}`] : [])]);
  const source = `(SELECT ${projected.join(', ') || '1 AS v'} FROM ${table}) AS s`;

  // Pass 1: one aggregate over every column.
  const aggs = ['count(*) AS n'];
  for (const c of cols) {
    aggs.push(`count(${c.v}) AS present${c.i}`, `approx_count_distinct(${c.v}) AS distinct${c.i}`);
    if (c.kind !== 'text') aggs.push(`min(${c.v}) AS min${c.i}`, `max(${c.v}) AS max${c.i}`);
    if (c.kind === 'numeric') aggs.push(`avg(${c.v}) AS mean${c.i}`, `var_samp(${c.v}) AS var${c.i}`);
    if (c.float) aggs.push(`count_if(r${c.i} IS NOT NULL AND NOT isfinite(r${c.i})) AS nonfinite${c.i}`);
  }
  const [a] = await engine.rows(`SELECT ${aggs.join(', ')} FROM ${source}`);
  const rows = Number(a.n);

  // Pass 2: histograms, 10 equal-width bins over [min, max] of each numeric column.
  const binned = cols.filter((c) => c.kind === 'numeric' && a[`min${c.i}`] !== null);
  const counts = new Map<number, number[]>();
  if (binned.length) {
    const bins = binned.map((c) => {
      const lo = Number(a[`min${c.i}`]);
      const width = Number(a[`max${c.i}`]) - lo;
      // A value equal to max falls in the last bin; a constant column puts everything in bin 0.
      const bin =
        width > 0 ? `least(floor((${c.v} - (${lo})) / (${width}) * ${HISTOGRAM_BINS}), ${HISTOGRAM_BINS - 1})` : '0';
      return `histogram(CASE WHEN ${c.v} IS NOT NULL THEN ${bin}::INTEGER END) AS h${c.i}`;
    });
    const [h] = await engine.rows(`SELECT ${bins.join(', ')} FROM ${source}`);
    for (const c of binned) {
      const out = new Array<number>(HISTOGRAM_BINS).fill(0);
      for (const { key, value } of (h[`h${c.i}`] ?? []) as { key: number | null; value: bigint }[])
        if (key !== null) out[key] += Number(value);
      counts.set(c.i, out);
    }
  }

  // Pass 3: top values of string and bool columns, every column in one grouped scan.
  const texts = cols.filter((c) => c.kind === 'text');
  const top = new Map<number, { value: string; count: number }[]>(texts.map((c) => [c.i, []]));
  if (texts.length) {
    const which = `CASE ${texts.map((c) => `WHEN grouping(${c.v}) = 0 THEN ${c.i}`).join(' ')} END`;
    const value = `CASE ${texts.map((c) => `WHEN grouping(${c.v}) = 0 THEN ${c.v}`).join(' ')} END`;
    const grouped = `SELECT ${which} AS col, ${value} AS value, count(*) AS n FROM ${source}
      GROUP BY GROUPING SETS (${texts.map((c) => `(${c.v})`).join(', ')})`;
    const ranked = await engine.rows(
      `SELECT col, value, n FROM (${grouped}) WHERE value IS NOT NULL
       QUALIFY row_number() OVER (PARTITION BY col ORDER BY n DESC, value) <= ${TOP_VALUES}
       ORDER BY col, n DESC, value`,
    );
    for (const r of ranked) top.get(Number(r.col))!.push({ value: String(r.value), count: Number(r.n) });
  }

  let missingCells = 0;
  const out: ColumnStatistics[] = cols.map((c) => {
    const present = Number(a[`present${c.i}`]);
    const missing = rows - present;
    missingCells += missing;
    const s: ColumnStatistics = {
      name: c.name,
      type: c.type,
      role: c.role,
      missing,
      missingPercent: percent(missing, rows),
      distinctApprox: Number(a[`distinct${c.i}`]),
    };
    if (c.float) s.nonFinite = Number(a[`nonfinite${c.i}`]);
    if (c.kind === 'numeric') {
      const lo = num(a[`min${c.i}`]);
      const hi = num(a[`max${c.i}`]);
      Object.assign(s, { mean: num(a[`mean${c.i}`]), variance: num(a[`var${c.i}`]), min: lo, max: hi });
      if (lo !== null && hi !== null) {
        const w = (hi - lo) / HISTOGRAM_BINS;
        const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, k) => (k === HISTOGRAM_BINS ? hi : lo + k * w));
        s.histogram = { edges, counts: counts.get(c.i) ?? new Array<number>(HISTOGRAM_BINS).fill(0) };
      }
    } else if (c.kind === 'timestamp') {
      Object.assign(s, { min: iso(a[`min${c.i}`]), max: iso(a[`max${c.i}`]) });
    } else {
      s.topValues = top.get(c.i) ?? [];
    }
    return s;
  });

  return {
    view: meta.view,
    version: meta.version,
    jobId: meta.jobId,
    computedAt: new Date().toISOString(),
    rows,
    bytes: meta.bytes,
    lastEventTime: meta.lastEventTime,
    totalMissingPercent: percent(missingCells, rows * cols.length),
    columns: out,
  };
}

// Storage: offline/<view>/v<version>/stats/<jobId>.json, one document per run, never rewritten.

export const statisticsPrefix = (view: string, version: number) => `${offlinePrefix(view, version)}/stats/`;
const statisticsKey = (view: string, version: number, jobId: string) =>
  `${statisticsPrefix(view, version)}${jobId}.json`;

export async function writeStatistics(objects: ObjectStore, s: DatasetStatistics): Promise<void> {
  await objects.put(statisticsKey(s.view, s.version, s.jobId), Buffer.from(JSON.stringify(s, null, 2)));
}

/** Every run's statistics of a view version, newest first. */
export async function listStatistics(
  objects: ObjectStore,
  view: string,
  version: number,
): Promise<DatasetStatistics[]> {
  return listRunDocuments<DatasetStatistics>(objects, statisticsPrefix(view, version), (d) => d.computedAt);
}

/** The columns of a materialized view, with their roles: join keys, event time, features or labels. */
export function viewColumns(
  entities: { joinKeys: { name: string; type: ValueType }[] }[],
  timestampColumn: string,
  fields: { name: string; type: ValueType }[],
  kind: 'feature-view' | 'label-view',
): StatisticsColumn[] {
  return [
    ...entities.flatMap((e) => e.joinKeys.map((k) => ({ name: k.name, type: k.type, role: 'key' as const }))),
    { name: timestampColumn, type: 'timestamp', role: 'timestamp' },
    ...fields.map(
      (f) => ({ name: f.name, type: f.type, role: kind === 'feature-view' ? 'feature' : 'label' }) as const,
    ),
  ];
}

/** Computes a run's statistics over its result table and keeps them in the offline store. */
export async function recordStatistics(
  objects: ObjectStore,
  engine: OfflineEngine,
  table: string,
  columns: StatisticsColumn[],
  meta: StatisticsMeta,
): Promise<DatasetStatistics> {
  const s = await computeStatistics(engine, table, columns, meta);
  await writeStatistics(objects, s);
  return s;
}
