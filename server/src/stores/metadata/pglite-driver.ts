import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { SqlDriver } from './sql-driver';

/** A driver bound to one open PGlite transaction; nested `transaction` calls join it. */
class PgliteTxDriver implements SqlDriver {
  constructor(private readonly tx: Transaction) {}

  async query<R>(sql: string, params?: unknown[]): Promise<R[]> {
    const res = await this.tx.query<R>(sql, params);
    return res.rows;
  }

  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    return fn(this);
  }

  close(): Promise<void> {
    return Promise.reject(new Error('cannot close the database from inside a transaction'));
  }
}

/**
 * Embedded PostgreSQL (WASM) persisted in a directory. PGlite is single-connection and
 * serialises queries and transactions itself, so row locks never contend here; the SQL is
 * still written for real concurrency because the same store runs on PostgreSQL.
 */
export class PgliteDriver implements SqlDriver {
  private constructor(private readonly db: PGlite) {}

  /** Opens (creating if needed) the database in `dataDir`; in memory when omitted. */
  static async open(dataDir?: string): Promise<PgliteDriver> {
    const db = await PGlite.create(dataDir);
    return new PgliteDriver(db);
  }

  async query<R>(sql: string, params?: unknown[]): Promise<R[]> {
    const res = await this.db.query<R>(sql, params);
    return res.rows;
  }

  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new PgliteTxDriver(tx)));
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
