/**
 * The online store: the newest feature values per entity and feature view, for serving.
 * Two implementations share one binary value format (value-codec.ts): LMDB (embedded; other
 * processes on the machine read committed writes) and Redis (standalone or Cluster).
 */

/** The newest values of one entity in one view. */
export interface OnlineRow {
  /** Event time in epoch milliseconds; the timestamp guard compares this. */
  eventTs: number;
  /**
   * One value per requested feature, in request order; `undefined` when the stored row was
   * written before that feature existed.
   */
  values: unknown[];
}

export interface OnlineWrite {
  /** Canonical entity key, see `encodeEntityKey`. */
  entityKey: string;
  eventTs: number;
  /** One value per feature of the batch, in the batch's `features` order. */
  values: readonly unknown[];
}

export interface OnlineBatch {
  /** The feature names every row's `values` follow. */
  features: readonly string[];
  rows: OnlineWrite[];
}

export interface WriteResult {
  written: number;
  /** Rows not written because the store holds a newer value (the timestamp guard). */
  skippedOlder: number;
}

export interface ViewSize {
  entities: number;
  /** Bytes of stored values and keys (Redis: its memory accounting of the view's keys). */
  bytes: number;
}

export interface OnlineStore {
  /** What it is, for messages: "LMDB at /data/online", "Redis at 127.0.0.1:6379". */
  readonly description: string;
  /**
   * Writes rows; a row older than the stored one is skipped (the timestamp guard), an equal
   * time replaces it (a correction). Within a batch, the newest row of an entity wins.
   */
  writeBatch(view: string, batch: OnlineBatch): Promise<WriteResult>;
  /**
   * One result per key, in order; null when the entity has no row in that view. Reads of
   * several views issued together travel together (one round trip per Redis node).
   */
  read(view: string, entityKeys: readonly string[], features: readonly string[]): Promise<(OnlineRow | null)[]>;
  /** Removes every row of a view without touching other views; returns how many. */
  deleteView(view: string): Promise<number>;
  /** Removes the view's rows whose event time is before `beforeTs` (TTL expiry); returns how many. */
  purgeOlderThan(view: string, beforeTs: number): Promise<number>;
  size(view: string): Promise<ViewSize>;
  close(): Promise<void>;
}

/** The store could not be reached (Redis down, restarting, or too slow): callers fail fast. */
export class OnlineStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OnlineStoreUnavailableError';
  }
}

export function requireView(view: string): void {
  if (typeof view !== 'string' || !/^[a-z][a-z0-9_]*$/.test(view))
    throw new TypeError(`view must be a feature view name ([a-z][a-z0-9_]*), got ${JSON.stringify(view)}`);
}

export function requireRows(batch: OnlineBatch): void {
  if (!batch || !Array.isArray(batch.features) || !Array.isArray(batch.rows))
    throw new TypeError('a batch is { features: string[], rows: OnlineWrite[] }');
  const n = batch.features.length;
  batch.rows.forEach((row, i) => {
    if (typeof row.entityKey !== 'string' || row.entityKey.length === 0)
      throw new TypeError(`row #${i}: entityKey must be a non-empty string`);
    if (!Number.isFinite(row.eventTs))
      throw new TypeError(`row #${i} (${row.entityKey}): eventTs must be a finite number`);
    if (!Array.isArray(row.values) || row.values.length !== n)
      throw new TypeError(`row #${i} (${row.entityKey}): values must have one entry per feature (${n})`);
  });
}

/** The newest row of each entity in a batch (later rows win ties), as writing them one by one would leave. */
export function newestPerEntity(rows: OnlineWrite[]): OnlineWrite[] {
  const newest = new Map<string, OnlineWrite>();
  for (const row of rows) {
    const cur = newest.get(row.entityKey);
    if (!cur || row.eventTs >= cur.eventTs) newest.set(row.entityKey, row);
  }
  return newest.size === rows.length ? rows : [...newest.values()];
}
