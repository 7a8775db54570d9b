import { open, type RootDatabase } from 'lmdb';
import type { OnlineRow, OnlineStore, OnlineWrite } from '../types';

/**
 * Online store layout (LMDB, embedded mode), the contract other readers rely on:
 *
 * - key: ordered-binary array `[view, entityKey]` (lmdb's default key encoding), so all rows of
 *   a view form one contiguous key range;
 * - value: MessagePack (lmdb's default encoding) of `{ t: eventTs, v: values }`, where `t` is
 *   epoch milliseconds and `v` the feature values by name.
 */
export interface StoredOnlineRow {
  t: number;
  v: Record<string, unknown>;
}

type RowKey = [string, string];

/**
 * Upper bound of a view's key range: `[view]` + separator + 0xff. No UTF-8 string byte is
 * 0xff, so every `[view, entityKey]` sorts before it, and `[view + 'x', ...]` after it.
 */
const RANGE_END = new Uint8Array([0xff]);
const DELETE_CHUNK = 10_000;

export class LmdbOnlineStore implements OnlineStore {
  private constructor(
    private readonly db: RootDatabase<StoredOnlineRow, RowKey>,
    private readonly readOnly: boolean,
  ) {}

  /**
   * Opens (or creates) the store at `path`. Many processes may open the same path: writers
   * take LMDB's write lock per transaction; readers see every committed write.
   */
  static open(path: string, opts: { readOnly?: boolean } = {}): LmdbOnlineStore {
    const readOnly = opts.readOnly ?? false;
    const db = open<StoredOnlineRow, RowKey>({ path, readOnly });
    return new LmdbOnlineStore(db, readOnly);
  }

  async writeBatch(view: string, rows: OnlineWrite[]): Promise<{ written: number; skippedOlder: number }> {
    this.assertWritable();
    requireView(view);
    rows.forEach((row, i) => {
      if (typeof row.entityKey !== 'string' || row.entityKey.length === 0) {
        throw new TypeError(`row #${i}: entityKey must be a non-empty string`);
      }
      if (!Number.isFinite(row.eventTs)) {
        throw new TypeError(`row #${i} (${row.entityKey}): eventTs must be a finite number`);
      }
    });
    // Read-compare-write inside one write transaction: no other writer (thread or process)
    // can slip a newer row in between, and rows earlier in this batch are seen too.
    // Synchronous: one write transaction per batch, without a round trip through lmdb's async
    // write queue per call (about twice the throughput for materialization's large batches).
    return this.db.transactionSync(() => {
      let written = 0;
      let skippedOlder = 0;
      for (const row of rows) {
        const key: RowKey = [view, row.entityKey];
        const current = this.db.get(key);
        // Strictly older loses; an equal timestamp is a correction and replaces.
        if (current !== undefined && current.t > row.eventTs) {
          skippedOlder++;
          continue;
        }
        this.db.putSync(key, { t: row.eventTs, v: row.values });
        written++;
      }
      return { written, skippedOlder };
    });
  }

  async read(view: string, entityKeys: string[]): Promise<(OnlineRow | null)[]> {
    requireView(view);
    if (entityKeys.length === 0) return [];
    const values = await this.db.getMany(entityKeys.map((k): RowKey => [view, k]));
    return values.map((s) => (s === undefined ? null : { eventTs: s.t, values: s.v }));
  }

  /** Removes every row of `view`, scanning only its key range; returns how many. */
  async deleteView(view: string): Promise<number> {
    this.assertWritable();
    requireView(view);
    let removed = 0;
    // Chunked: a huge view must not become one huge write transaction.
    for (;;) {
      // The range end is a raw-bytes key part, which lmdb accepts in keys but RowKey omits.
      const end = [view, RANGE_END] as unknown as RowKey;
      const keys = Array.from(this.db.getKeys({ start: [view], end, limit: DELETE_CHUNK }));
      if (keys.length === 0) break;
      const n = await this.db.transaction(() => {
        let count = 0;
        for (const k of keys) if (this.db.removeSync(k)) count++;
        return count;
      });
      removed += n;
      if (n === 0) break; // someone else deleted them meanwhile; nothing left to do here
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private assertWritable(): void {
    if (this.readOnly) throw new Error('online store was opened read-only');
  }
}

function requireView(view: string): void {
  if (typeof view !== 'string' || view.length === 0) {
    throw new TypeError('view must be a non-empty string');
  }
}
