import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { DataSource } from '@plinth/schema';
import { S3LakeError, stageS3Table } from './s3-lake';

/** Quotes an SQL identifier for DuckDB. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal for DuckDB. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export class DataSourceError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`data source '${source}': ${message}`);
    this.name = 'DataSourceError';
  }
}

/**
 * The DuckDB table expression that reads a data source from the lake. An s3:// source is
 * first staged into the local cache (s3-lake.ts), since DuckDB reads local files only here.
 */
export async function sourceTableExpr(ds: DataSource, lakeDir: string): Promise<string> {
  const ext = ds.format === 'parquet' ? 'parquet' : 'csv';
  let p: string;
  if (ds.path.startsWith('s3://')) {
    try {
      p = await stageS3Table(ds.path, ext);
    } catch (e) {
      if (e instanceof S3LakeError) throw new DataSourceError(ds.name, e.message);
      throw e;
    }
  } else {
    p = path.isAbsolute(ds.path) ? ds.path : path.join(lakeDir, ds.path);
    if (!fs.existsSync(p)) throw new DataSourceError(ds.name, `path ${p} does not exist`);
  }
  const glob = fs.statSync(p).isDirectory() ? path.join(p, '**', `*.${ext}`) : p;
  const hive = ds.partitioning ? 'true' : 'false';
  return ds.format === 'parquet'
    ? `read_parquet(${literal(glob)}, hive_partitioning = ${hive}, union_by_name = true)`
    : `read_csv(${literal(glob)}, hive_partitioning = ${hive}, union_by_name = true, header = true)`;
}

/**
 * One DuckDB database for one piece of offline work (a job, a query). In memory, so jobs do
 * not share state; closes when done.
 */
export class OfflineEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
    private readonly spillDir: string,
  ) {}

  /**
   * Memory is bounded (default 40% of the machine, so two concurrent jobs fit) and work
   * beyond it spills to a temporary directory instead of failing or swapping: example sets
   * and materializations may be far larger than memory.
   */
  static async create(opts: { threads?: number; memoryLimitBytes?: number } = {}): Promise<OfflineEngine> {
    const spill = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-duckdb-'));
    const limit = opts.memoryLimitBytes ?? Math.floor(os.totalmem() * 0.4);
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(opts.threads ?? 2),
      memory_limit: `${Math.max(256, Math.floor(limit / 2 ** 20))}MiB`,
      temp_directory: spill,
      // Sorted outputs (example sets in label-time order) need order kept, not speed of any order.
      preserve_insertion_order: 'true',
      // The embedded platform runs offline; never reach out for extensions at run time.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    return new OfflineEngine(instance, await instance.connect(), spill);
  }

  async run(sql: string): Promise<void> {
    await this.conn.run(sql);
  }

  /** Rows as plain JS objects (BIGINT -> bigint, TIMESTAMP -> Date). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    const r = await this.conn.runAndReadAll(sql);
    return r.getRowObjectsJS() as Record<string, unknown>[];
  }

  /** Column names and DuckDB type names of a query, without running it to completion. */
  async describe(sql: string): Promise<{ name: string; type: string }[]> {
    const r = await this.conn.runAndReadAll(`DESCRIBE ${sql}`);
    return (r.getRowObjectsJS() as { column_name: string; column_type: string }[]).map((c) => ({
      name: c.column_name,
      type: c.column_type,
    }));
  }

  /** Makes each data source visible to SQL as a view of its own name. */
  async registerSources(sources: DataSource[], lakeDir: string): Promise<void> {
    for (const ds of sources) {
      await this.run(`CREATE OR REPLACE VIEW ${ident(ds.name)} AS SELECT * FROM ${await sourceTableExpr(ds, lakeDir)}`);
    }
  }

  /** Writes a query's result to one Parquet file (zstd). */
  async copyToParquet(sql: string, file: string): Promise<void> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await this.run(`COPY (${sql}) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
    fs.rmSync(this.spillDir, { recursive: true, force: true });
  }
}

/** Maps a DuckDB type name to Plinth's logical value type. */
export function valueTypeOf(
  duckType: string,
): 'int32' | 'int64' | 'float32' | 'float64' | 'bool' | 'string' | 'timestamp' {
  const t = duckType.toUpperCase();
  if (t === 'INTEGER' || t === 'SMALLINT' || t === 'TINYINT' || t === 'UTINYINT' || t === 'USMALLINT') return 'int32';
  if (t === 'BIGINT' || t === 'UINTEGER' || t === 'HUGEINT' || t === 'UBIGINT') return 'int64';
  if (t === 'FLOAT') return 'float32';
  if (t === 'DOUBLE' || t.startsWith('DECIMAL')) return 'float64';
  if (t === 'BOOLEAN') return 'bool';
  if (t.startsWith('TIMESTAMP') || t === 'DATE') return 'timestamp';
  return 'string';
}
