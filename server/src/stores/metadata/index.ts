import type { MetadataStore } from '../types';
import { PgDriver } from './pg-driver';
import { PgliteDriver } from './pglite-driver';
import type { SqlDriver } from './sql-driver';
import { SqlMetadataStore } from './sql-store';

export type MetadataStoreOptions = { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string };

/** Opens the configured metadata store and brings its schema up to date. */
export async function openMetadataStore(opts: MetadataStoreOptions): Promise<MetadataStore> {
  const driver: SqlDriver = opts.kind === 'pglite' ? await PgliteDriver.open(opts.dataDir) : new PgDriver(opts.url);
  const store = new SqlMetadataStore(driver);
  try {
    await store.migrate();
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw err;
  }
  return store;
}

export { SqlMetadataStore } from './sql-store';
export { SqlRunStore, RunConflictError, RunNotFoundError } from './run-store';
export { SqlModelStore, AliasConflictError, VersionInUseError } from './model-store';
export { PgDriver } from './pg-driver';
export { PgliteDriver } from './pglite-driver';
export type { SqlDriver } from './sql-driver';
export { MIGRATIONS, migrate, type Migration } from './migrations';
