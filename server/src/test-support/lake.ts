import { OfflineEngine } from '../offline/duckdb';

/** Writes a query's rows to a Parquet file (folders created): hand-made lakes for tests. */
export async function writeParquet(file: string, selectSql: string): Promise<void> {
  const engine = await OfflineEngine.create({ threads: 1 });
  try {
    await engine.copyToParquet(selectSql, file);
  } finally {
    engine.close();
  }
}

/** Runs a query on a throwaway DuckDB and returns its rows. */
export async function queryRows(sql: string): Promise<Record<string, unknown>[]> {
  const engine = await OfflineEngine.create({ threads: 1 });
  try {
    return await engine.rows(sql);
  } finally {
    engine.close();
  }
}
