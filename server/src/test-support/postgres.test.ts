import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { findPostgresBinDir, startPostgres } from './postgres';

describe('startPostgres', () => {
  it('finds the server binaries', () => {
    const dir = findPostgresBinDir();
    expect(existsSync(`${dir}/initdb`)).toBe(true);
    expect(existsSync(`${dir}/postgres`)).toBe(true);
  });

  it('fails with a clear message when PostgreSQL is not installed', () => {
    expect(() =>
      findPostgresBinDir({
        pgConfig: '/nonexistent/pg_config',
        debianRoot: '/nonexistent',
        path: '',
      }),
    ).toThrow(/PostgreSQL server binaries \(initdb, postgres\) not found.*Install PostgreSQL/s);
  });

  it('starts a fresh server that accepts connections; stop() kills it and removes its files', async () => {
    const pg = await startPostgres();
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    const rows = (
      await client.query<{ db: string; v: number }>(
        "SELECT current_database() AS db, current_setting('server_version_num')::int AS v",
      )
    ).rows;
    await client.end();
    expect(rows[0]?.db).toBe('postgres');
    expect(rows[0]?.v).toBeGreaterThanOrEqual(120000);
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`);

    await pg.stop();
    await pg.stop(); // idempotent
    const after = new Client({ connectionString: pg.url });
    after.on('error', () => undefined);
    await expect(after.connect()).rejects.toThrow(/ECONNREFUSED/);
  });
});
