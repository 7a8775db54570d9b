/**
 * The mutable side of the model repository (aliases, their history, policies, archived
 * versions, evaluations) on both backends: compare-and-set alias moves, concurrent moves,
 * and the in-use rules for archiving and deleting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../test-support/postgres';
import type { MetadataStore } from '../types';
import {
  AliasConflictError,
  PgDriver,
  PgliteDriver,
  SqlMetadataStore,
  VersionInUseError,
  type SqlDriver,
} from './index';

function modelStoreSuite(name: string, setup: () => Promise<{ store: MetadataStore; teardown(): Promise<void> }>) {
  describe(name, () => {
    let meta: MetadataStore;
    let teardown: () => Promise<void>;
    beforeAll(async () => {
      const b = await setup();
      meta = b.store;
      teardown = b.teardown;
      for (let v = 1; v <= 3; v++) await meta.putVersion('model', 'ctr', { v }, `h${v}`, 'alice');
    }, 120_000);
    afterAll(async () => teardown?.());

    const move = (version: number, expected: number | null, reason = 'r') =>
      meta.models.moveAlias({
        model: 'ctr',
        alias: 'production',
        version,
        expected,
        actor: 'bob',
        reason,
        forced: false,
      });

    it('moves an alias compare-and-set and records every move', async () => {
      expect(await meta.models.alias('ctr', 'production')).toBeNull();
      expect(await move(1, null, 'first')).toMatchObject({ alias: 'production', version: 1, updatedBy: 'bob' });
      // A mover that evaluated against "nothing" loses: the alias now points at 1.
      await expect(move(2, null)).rejects.toThrow(AliasConflictError);
      await expect(move(2, null)).rejects.toThrow(/now points at version 1, not nothing/);
      await move(2, 1, 'better');
      await meta.models.recordRefusal({
        model: 'ctr',
        alias: 'production',
        from: 2,
        to: 3,
        actor: 'eve',
        reason: 'gate',
      });
      expect(
        (await meta.models.history('ctr', 'production')).map((e) => [e.action, e.fromVersion, e.toVersion, e.reason]),
      ).toEqual([
        ['set', null, 1, 'first'],
        ['set', 1, 2, 'better'],
        ['refused', 2, 3, 'gate'],
      ]);
      expect((await meta.models.alias('ctr', 'production'))?.version).toBe(2);
    });

    it('lets exactly one of two concurrent moves from the same version win', async () => {
      const results = await Promise.allSettled([move(3, 2), move(1, 2)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(AliasConflictError);
      const history = await meta.models.history('ctr', 'production');
      expect(history.filter((e) => e.action === 'set')).toHaveLength(3);
    });

    it('refuses to archive or delete a version behind an alias or a live deployment', async () => {
      const current = (await meta.models.alias('ctr', 'production'))!.version;
      await expect(meta.models.archive('ctr', current, 'bob')).rejects.toThrow(VersionInUseError);
      await expect(meta.models.deleteVersion('ctr', current, 'bob')).rejects.toThrow(/alias 'production' uses it/);
      const other = current === 3 ? 1 : 3;
      await meta.putVersion('deployment', 'ctr_live', { model: 'ctr', version: other }, 'd1', 'bob');
      await expect(meta.models.deleteVersion('ctr', other, 'bob')).rejects.toThrow(/deployment 'ctr_live' uses it/);
      // The deployment moves on: the old version is free.
      await meta.putVersion('deployment', 'ctr_live', { model: 'ctr', version: current }, 'd2', 'bob');
      await meta.models.archive('ctr', other, 'bob', 'old');
      expect((await meta.models.archived('ctr')).get(other)).toMatchObject({ by: 'bob', reason: 'old' });
      await expect(
        meta.models.moveAlias({
          model: 'ctr',
          alias: 'staging',
          version: other,
          expected: null,
          actor: 'b',
          reason: 'x',
          forced: false,
        }),
      ).rejects.toThrow(/archived/);
      await meta.models.unarchive('ctr', other);
      expect(await meta.models.deleteVersion('ctr', other, 'bob')).toBe(true);
      expect((await meta.getVersion('model', 'ctr', other))?.deletedAt).toBeTruthy();
      // Numbering continues past deleted versions.
      const { record } = await meta.putVersion('model', 'ctr', { v: 4 }, 'h4', 'alice');
      expect(record.version).toBe(4);
    });

    it('keeps policies and evaluations', async () => {
      await meta.models.setPolicy('ctr', 'production', { metric: 'auc', maxRegression: 0.001 });
      expect((await meta.models.alias('ctr', 'production'))?.policy).toEqual({ metric: 'auc', maxRegression: 0.001 });
      await meta.models.setPolicy('ctr', 'production', null);
      expect(await meta.models.policy('ctr', 'production')).toBeNull();
      const e = {
        id: '6f1c1f0e-4a57-4c1e-9d61-0c4b8f7e2a10',
        model: 'ctr',
        candidate: { version: 2, metrics: { auc: 0.8 } },
        baseline: null,
        exampleSet: { name: 'holdout', version: 1 },
        rows: 10,
        at: new Date().toISOString(),
        actor: 'bob',
        passed: true,
      };
      await meta.models.saveEvaluation(e);
      expect(await meta.models.evaluation(e.id)).toEqual(e);
      expect(await meta.models.evaluations('ctr')).toEqual([e]);
      expect(await meta.models.evaluation('not-a-uuid')).toBeNull();
    });
  });
}

async function open(driver: SqlDriver): Promise<SqlMetadataStore> {
  const store = new SqlMetadataStore(driver);
  await store.migrate();
  return store;
}

modelStoreSuite('model store on PGlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-models-'));
  const store = await open(await PgliteDriver.open(dir));
  return {
    store,
    async teardown() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

modelStoreSuite('model store on PostgreSQL', async () => {
  const pg = await startPostgres();
  const store = await open(new PgDriver(pg.url));
  return {
    store,
    async teardown() {
      await store.close();
      await pg.stop();
    },
  };
});
