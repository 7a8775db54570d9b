import { Pool, type PoolClient, type PoolConfig } from 'pg';
import type { SqlDriver } from './sql-driver';

/** A driver bound to one checked-out client inside BEGIN..COMMIT; nested calls join it. */
class PgClientDriver implements SqlDriver {
  constructor(private readonly client: PoolClient) {}

  async query<R>(sql: string, params?: unknown[]): Promise<R[]> {
    const res = await this.client.query(sql, params);
    return res.rows as R[];
  }

  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    return fn(this);
  }

  close(): Promise<void> {
    return Promise.reject(new Error('cannot close the pool from inside a transaction'));
  }
}

/** PostgreSQL through a `pg` connection pool (shared deployments, N control-plane replicas). */
export class PgDriver implements SqlDriver {
  private readonly pool: Pool;

  constructor(config: string | PoolConfig) {
    this.pool = new Pool(typeof config === 'string' ? { connectionString: config } : config);
    // An idle client losing its connection (server restart) emits 'error' on the pool; without
    // a listener Node would crash the process. The next query gets a fresh connection.
    this.pool.on('error', () => undefined);
  }

  async query<R>(sql: string, params?: unknown[]): Promise<R[]> {
    const res = await this.pool.query(sql, params);
    return res.rows as R[];
  }

  async transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(new PgClientDriver(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        // The connection itself failed: destroy it rather than return it to the pool.
        broken = true;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    // pg throws when a pool is ended twice; close() should be idempotent like PGlite's.
    if (this.pool.ended) return;
    await this.pool.end();
  }
}
