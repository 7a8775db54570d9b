import { JSDuckDBValueConverter } from '@duckdb/node-api';
import { encodeEntityKey, type EntityKeyValue, type OnlineStore, type OnlineWrite } from '@plinth/kernel-lib';
import { type OfflineEngine, ident } from '../offline/duckdb';
import { toOnlineValue } from './values';

// Rows per online-store write: large enough to amortise a write transaction, small enough
// that a reader is never blocked for long.
const ONLINE_BATCH = 20_000;

export interface OnlinePushOptions {
  view: string;
  keys: string[];
  timestampColumn: string;
  features: string[];
  /** Called with 0..1 as batches are written. */
  progress?: (fraction: number) => Promise<void>;
}

/**
 * Pushes the newest row per entity of `table` (a DuckDB table of materialized rows) to the
 * online store. The store's timestamp guard keeps any newer value already there. Rows are
 * streamed from DuckDB chunk by chunk, column-wise, so memory stays at one batch. They come
 * ordered by (roughly) their encoded key, so LMDB writes land on neighbouring pages.
 */
export async function pushLatestOnline(
  engine: OfflineEngine,
  table: string,
  online: OnlineStore,
  o: OnlinePushOptions,
): Promise<{ written: number; skippedOlder: number }> {
  const keyList = o.keys.map(ident).join(', ');
  const ts = ident(o.timestampColumn);
  const latest = `SELECT ${keyList}, epoch_ms(${ts}) AS "__t", ${o.features.map(ident).join(', ')} FROM ${ident(table)}
    QUALIFY row_number() OVER (PARTITION BY ${keyList} ORDER BY ${ts} DESC) = 1
    ORDER BY json_array(${keyList})`;
  const [{ m }] = (await engine.rows(`SELECT count(DISTINCT (${keyList})) AS m FROM ${ident(table)}`)) as {
    m: bigint;
  }[];
  const total = Number(m);
  const nk = o.keys.length;
  const result = await engine.conn.stream(latest);
  let batch: OnlineWrite[] = [];
  let written = 0;
  let skippedOlder = 0;
  let done = 0;
  const flush = async () => {
    if (!batch.length) return;
    const r = await online.writeBatch(o.view, { features: o.features, rows: batch });
    written += r.written;
    skippedOlder += r.skippedOlder;
    done += batch.length;
    batch = [];
    await o.progress?.(Math.min(1, done / Math.max(total, 1)));
  };
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const cols = chunk.convertColumns(JSDuckDBValueConverter) as unknown[][];
    for (let i = 0; i < chunk.rowCount; i++) {
      const key: EntityKeyValue[] = new Array(nk);
      for (let k = 0; k < nk; k++) key[k] = cols[k][i] as EntityKeyValue;
      const values = new Array<unknown>(o.features.length);
      for (let f = 0; f < o.features.length; f++) values[f] = toOnlineValue(cols[nk + 1 + f][i]);
      batch.push({ entityKey: encodeEntityKey(key), eventTs: Number(cols[nk][i]), values });
    }
    if (batch.length >= ONLINE_BATCH) await flush();
  }
  await flush();
  return { written, skippedOlder };
}
