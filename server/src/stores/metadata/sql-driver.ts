/**
 * The one seam between the SQL metadata store and a database client. PGlite (embedded) and
 * `pg` (PostgreSQL) both implement it, so `SqlMetadataStore` is written, and tested, once.
 */
export interface SqlDriver {
  /** Runs ONE statement with `$1..$n` parameters and returns its rows. */
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
  /**
   * Runs `fn` in a transaction on a single connection: committed when `fn` resolves, rolled
   * back when it rejects. Calling `transaction` on the `tx` driver again joins the same
   * transaction (no savepoints): callers never need nesting.
   */
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
