import type { OnlineStore } from '../stores/types';
import { encodeEntityKey } from '../stores/online/entity-key';
import { type OfflineEngine, ident } from '../offline/duckdb';
import { toOnlineValue } from './values';

const ONLINE_BATCH = 5_000;

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
 * online store. The store's timestamp guard keeps any newer value already there.
 */
export async function pushLatestOnline(
  engine: OfflineEngine,
  table: string,
  online: OnlineStore,
  o: OnlinePushOptions,
): Promise<{ written: number; skippedOlder: number }> {
  const keyList = o.keys.map(ident).join(', ');
  const ts = o.timestampColumn;
  await engine.run(
    `CREATE TEMP TABLE latest AS SELECT * FROM ${ident(table)} QUALIFY row_number() OVER (PARTITION BY ${keyList} ORDER BY ${ident(ts)} DESC) = 1`,
  );
  const [{ m }] = (await engine.rows('SELECT count(*) AS m FROM latest')) as { m: bigint }[];
  const total = Number(m);
  let written = 0;
  let skippedOlder = 0;
  for (let offset = 0; offset < total; offset += ONLINE_BATCH) {
    const batch = await engine.rows(`SELECT * FROM latest ORDER BY ${keyList} LIMIT ${ONLINE_BATCH} OFFSET ${offset}`);
    const r = await online.writeBatch(
      o.view,
      batch.map((row) => ({
        entityKey: encodeEntityKey(o.keys.map((k) => row[k] as string | number | bigint)),
        eventTs: (row[ts] as Date).getTime(),
        values: Object.fromEntries(o.features.map((f) => [f, toOnlineValue(row[f])])),
      })),
    );
    written += r.written;
    skippedOlder += r.skippedOlder;
    await o.progress?.(Math.min(total, offset + ONLINE_BATCH) / Math.max(total, 1));
  }
  return { written, skippedOlder };
}
