import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type RunningPostgres } from '../../test-support/postgres';
import type { MetadataStore } from '../types';
import { MIGRATIONS, migrate, openMetadataStore } from './index';
import { PgDriver } from './pg-driver';
import { PgliteDriver } from './pglite-driver';
import type { SqlDriver } from './sql-driver';
import { SqlMetadataStore } from './sql-store';

interface Backend {
  store: MetadataStore;
  driver: SqlDriver;
  /** A second, independent store on the same database (PostgreSQL only: PGlite is one process). */
  other?: MetadataStore;
  /** Closes and reopens on the same data, to check persistence. */
  reopen(): Promise<MetadataStore>;
  teardown(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uniq = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

/** The one suite both backends must pass. */
function metadataSuite(name: string, setup: () => Promise<Backend>): void {
  describe(name, () => {
    let b: Backend;
    let store: MetadataStore;
    beforeAll(async () => {
      b = await setup();
      store = b.store;
    });
    afterAll(async () => {
      await b?.teardown();
    });

    describe('migrations', () => {
      it('records every migration once; migrating again is a no-op', async () => {
        const before = await b.driver.query<{ version: number }>(
          'SELECT version FROM schema_migrations ORDER BY version',
        );
        expect(before.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
        expect(await migrate(b.driver)).toEqual([]);
        await store.migrate();
        await store.migrate();
        const after = await b.driver.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        expect(after[0]?.n).toBe(MIGRATIONS.length);
      });

      it('concurrent migrate() calls all succeed', async () => {
        const calls = [store.migrate(), store.migrate(), b.other?.migrate()];
        await expect(Promise.all(calls)).resolves.toBeDefined();
      });

      it('refuses a database migrated by a newer version', async () => {
        await expect(migrate(b.driver, MIGRATIONS.slice(0, 0))).rejects.toThrow(
          /migrations 1, 2, 3, 4 unknown to this version/,
        );
      });

      it('rejects a migration list that is not numbered 1, 2, 3', async () => {
        await expect(migrate(b.driver, [{ version: 2, name: 'x', statements: [] }])).rejects.toThrow(
          /versions must be 1, 2, 3/,
        );
      });
    });

    describe('registry', () => {
      it('putVersion creates v1, is idempotent for the same hash, and versions changes', async () => {
        const kind = uniq('feature_view');
        const t0 = Date.now();
        const a = await store.putVersion(kind, 'clicks', { sql: 'select 1', n: [1, 2] }, 'h1', 'alice');
        expect(a.created).toBe(true);
        expect(a.record).toMatchObject({
          kind,
          name: 'clicks',
          version: 1,
          spec: { sql: 'select 1', n: [1, 2] },
          specHash: 'h1',
          createdBy: 'alice',
          deletedAt: null,
        });
        expect(a.record.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(Math.abs(Date.parse(a.record.createdAt) - t0)).toBeLessThan(60_000);

        const again = await store.putVersion(kind, 'clicks', { sql: 'select 1', n: [1, 2] }, 'h1', 'bob');
        expect(again.created).toBe(false);
        expect(again.record).toEqual(a.record); // createdBy stays alice

        const b2 = await store.putVersion(kind, 'clicks', { sql: 'select 2' }, 'h2', 'bob');
        expect(b2.created).toBe(true);
        expect(b2.record.version).toBe(2);
        expect(b2.record.createdBy).toBe('bob');

        // Old version stays readable and unchanged.
        expect(await store.getVersion(kind, 'clicks', 1)).toEqual(a.record);
        expect((await store.getLatest(kind, 'clicks'))?.version).toBe(2);
        expect((await store.listVersions(kind, 'clicks')).map((r) => [r.version, r.specHash])).toEqual([
          [1, 'h1'],
          [2, 'h2'],
        ]);
        // Going back to an older spec is a change too: a new version, not a revert.
        const c = await store.putVersion(kind, 'clicks', { sql: 'select 1', n: [1, 2] }, 'h1', 'carol');
        expect(c).toMatchObject({ created: true, record: { version: 3, specHash: 'h1' } });
      });

      it('stores JSON specs of every shape, including arrays and scalars', async () => {
        const kind = uniq('doc');
        const specs: unknown[] = [[1, 'a', null], 'text', 42, null, { nested: { deep: [true] } }];
        for (const [i, spec] of specs.entries()) {
          const r = await store.putVersion(kind, `n${i}`, spec, `h${i}`, 'u');
          expect(r.record.spec).toEqual(spec);
          expect((await store.getVersion(kind, `n${i}`, 1))?.spec).toEqual(spec);
        }
      });

      it('returns null / empty for what does not exist', async () => {
        const kind = uniq('none');
        expect(await store.getLatest(kind, 'x')).toBeNull();
        expect(await store.getVersion(kind, 'x', 1)).toBeNull();
        expect(await store.getVersion(kind, 'x', 0)).toBeNull();
        expect(await store.getVersion(kind, 'x', 1.5)).toBeNull();
        expect(await store.listVersions(kind, 'x')).toEqual([]);
        expect(await store.listLatest(kind)).toEqual([]);
        expect(await store.markDeleted(kind, 'x', 'u')).toBe(false);
      });

      it('listLatest gives the newest live version per name, ordered by name, kinds apart', async () => {
        const kind = uniq('entity');
        const otherKind = uniq('entity');
        await store.putVersion(kind, 'zeta', { v: 1 }, 'z1', 'u');
        await store.putVersion(kind, 'alpha', { v: 1 }, 'a1', 'u');
        await store.putVersion(kind, 'alpha', { v: 2 }, 'a2', 'u');
        await store.putVersion(kind, 'mid', { v: 1 }, 'm1', 'u');
        await store.putVersion(otherKind, 'alpha', { v: 9 }, 'o1', 'u');
        await store.markDeleted(kind, 'mid', 'u');
        const latest = await store.listLatest<{ v: number }>(kind);
        expect(latest.map((r) => [r.name, r.version, r.spec.v])).toEqual([
          ['alpha', 2, 2],
          ['zeta', 1, 1],
        ]);
      });

      it('markDeleted hides the name but keeps its versions readable; re-applying starts a new version', async () => {
        const kind = uniq('model');
        await store.putVersion(kind, 'm', { a: 1 }, 'h1', 'u');
        await store.putVersion(kind, 'm', { a: 2 }, 'h2', 'u');
        expect(await store.markDeleted(kind, 'm', 'admin')).toBe(true);
        expect(await store.markDeleted(kind, 'm', 'admin')).toBe(false); // nothing live left
        expect(await store.getLatest(kind, 'm')).toBeNull();
        const versions = await store.listVersions(kind, 'm');
        expect(versions).toHaveLength(2);
        for (const v of versions) expect(v.deletedAt).toMatch(/Z$/);
        expect((await store.getVersion(kind, 'm', 1))?.spec).toEqual({ a: 1 });

        // Same hash as a deleted version: not idempotent against removed versions.
        const back = await store.putVersion(kind, 'm', { a: 2 }, 'h2', 'u');
        expect(back).toMatchObject({ created: true, record: { version: 3, deletedAt: null } });
        expect((await store.getLatest(kind, 'm'))?.version).toBe(3);
      });

      it('concurrent putVersion of the same spec creates exactly one version', async () => {
        const kind = uniq('race');
        const stores = [store, b.other ?? store];
        // Warm both pools so the racing calls really start together.
        await Promise.all(stores.flatMap((s) => Array.from({ length: 8 }, () => s.listLatest(kind))));
        const names = ['n0', 'n1', 'n2', 'n3'];
        const results = await Promise.all(
          Array.from({ length: 32 }, (_, i) => stores[i % 2]!.putVersion(kind, names[i % 4]!, { x: 1 }, 'hx', `u${i}`)),
        );
        for (const name of names) {
          const forName = results.filter((r) => r.record.name === name);
          expect(forName.filter((r) => r.created)).toHaveLength(1);
          expect(new Set(forName.map((r) => r.record.version))).toEqual(new Set([1]));
          expect(await store.listVersions(kind, name)).toHaveLength(1);
        }
      });

      it('concurrent putVersion of different specs numbers them 1..n without gaps', async () => {
        const kind = uniq('race');
        const stores = [store, b.other ?? store];
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => stores[i % 2]!.putVersion(kind, 'diff', { i }, `h${i}`, 'u')),
        );
        expect(results.every((r) => r.created)).toBe(true);
        expect(results.map((r) => r.record.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      });

      it('rejects empty identifiers', async () => {
        await expect(store.putVersion('', 'n', {}, 'h', 'u')).rejects.toThrow(/kind/);
        await expect(store.putVersion('k', 'n', {}, 'h', '')).rejects.toThrow(/actor/);
      });
    });

    describe('jobs', () => {
      it('enqueue then lease: the oldest queued job of the given kinds, attempts counted', async () => {
        const kind = uniq('materialize');
        const other = uniq('train');
        const j1 = await store.enqueueJob(kind, { view: 'a' });
        await store.enqueueJob(other, { run: 1 });
        const j2 = await store.enqueueJob(kind, { view: 'b' });
        expect(j1).toMatchObject({
          kind,
          status: 'queued',
          params: { view: 'a' },
          result: null,
          error: null,
          progress: 0,
          attempts: 0,
          leaseOwner: null,
          leaseUntil: null,
          startedAt: null,
          finishedAt: null,
        });
        expect(j1.id).toMatch(/^[0-9a-f-]{36}$/);

        const l1 = await store.leaseJob('w1', [kind], 30);
        expect(l1).toMatchObject({ id: j1.id, status: 'running', attempts: 1, leaseOwner: 'w1' });
        const leaseMs = Date.parse(l1!.leaseUntil!) - Date.parse(l1!.startedAt!);
        expect(leaseMs).toBeGreaterThan(29_000);
        expect(leaseMs).toBeLessThan(31_000);
        const l2 = await store.leaseJob('w2', [kind], 30);
        expect(l2?.id).toBe(j2.id);
        expect(await store.leaseJob('w3', [kind], 30)).toBeNull(); // only `other` left
        expect(await store.leaseJob('w3', [], 30)).toBeNull();
        const l3 = await store.leaseJob('w3', [kind, other], 30);
        expect(l3?.kind).toBe(other);
      });

      it('two concurrent leasers never get the same job', async () => {
        const kind = uniq('par');
        const n = 15;
        const ids = new Set<string>();
        for (let i = 0; i < n; i++) ids.add((await store.enqueueJob(kind, { i })).id);
        const stores = [store, b.other ?? store];
        const leases = await Promise.all(
          Array.from({ length: 2 * n + 6 }, (_, i) => stores[i % 2]!.leaseJob(`worker-${i % 2}`, [kind], 60)),
        );
        const got = leases.filter((l) => l !== null).map((l) => l!.id);
        expect(got).toHaveLength(n);
        expect(new Set(got)).toEqual(ids);
        expect(leases.every((l) => l === null || l.attempts === 1)).toBe(true);
      });

      it('re-leases a running job whose lease expired, counting the attempt; a live lease is kept', async () => {
        const kind = uniq('expire');
        const job = await store.enqueueJob(kind, {});
        const first = await store.leaseJob('dead-worker', [kind], 0.2);
        expect(first).toMatchObject({ id: job.id, attempts: 1, leaseOwner: 'dead-worker' });
        expect(await store.leaseJob('w2', [kind], 30)).toBeNull(); // still leased
        await sleep(400);
        const second = await store.leaseJob('w2', [kind], 30);
        expect(second).toMatchObject({
          id: job.id,
          status: 'running',
          attempts: 2,
          leaseOwner: 'w2',
        });
        expect(second!.startedAt).toBe(first!.startedAt);
        expect(await store.leaseJob('w3', [kind], 30)).toBeNull();
      });

      it('updateJob patches progress, result and status; finished jobs are not leased again', async () => {
        const kind = uniq('upd');
        const job = await store.enqueueJob(kind, { p: 1 });
        await store.leaseJob('w', [kind], 0.1);
        const p = await store.updateJob(job.id, { progress: 0.5 });
        expect(p).toMatchObject({ progress: 0.5, status: 'running' });
        const done = await store.updateJob(job.id, {
          status: 'succeeded',
          progress: 1,
          result: { rows: 10, files: ['a'] },
        });
        expect(done).toMatchObject({
          status: 'succeeded',
          progress: 1,
          result: { rows: 10, files: ['a'] },
          leaseUntil: null,
          error: null,
        });
        expect(done.finishedAt).not.toBeNull();
        await sleep(200);
        expect(await store.leaseJob('w', [kind], 30)).toBeNull();
        expect(await store.getJob(job.id)).toEqual(done);
        expect(await store.updateJob(job.id, {})).toEqual(done);
      });

      it('a failed job records its error; a job handed back to the queue is leasable at once', async () => {
        const kind = uniq('fail');
        const job = await store.enqueueJob(kind, {});
        await store.leaseJob('w', [kind], 60);
        const failed = await store.updateJob(job.id, { status: 'failed', error: 'boom' });
        expect(failed).toMatchObject({ status: 'failed', error: 'boom' });

        const job2 = await store.enqueueJob(kind, {});
        await store.leaseJob('w', [kind], 60);
        const back = await store.updateJob(job2.id, { status: 'queued' });
        expect(back).toMatchObject({
          status: 'queued',
          leaseOwner: null,
          leaseUntil: null,
          attempts: 1,
        });
        expect(await store.leaseJob('w2', [kind], 60)).toMatchObject({ id: job2.id, attempts: 2 });
      });

      it('a retry waits out notBefore; max attempts and subject are kept', async () => {
        const kind = uniq('retry');
        const job = await store.enqueueJob(kind, {}, { maxAttempts: 3, subject: 'clicks' });
        expect(job).toMatchObject({ maxAttempts: 3, subject: 'clicks', notBefore: null, dedupeKey: null });
        await store.leaseJob('w', [kind], 60);
        const later = new Date(Date.now() + 60_000).toISOString();
        const back = await store.updateJob(job.id, { status: 'queued', error: 'flaky', notBefore: later });
        expect(Date.parse(back.notBefore!)).toBe(Date.parse(later));
        expect(await store.leaseJob('w', [kind], 60)).toBeNull();
        await store.updateJob(job.id, { status: 'queued', notBefore: new Date(Date.now() - 1).toISOString() });
        expect(await store.leaseJob('w', [kind], 60)).toMatchObject({ id: job.id, attempts: 2, error: 'flaky' });
        expect((await store.listJobs({ kind, subject: 'clicks' })).map((j) => j.id)).toEqual([job.id]);
        expect(await store.listJobs({ kind, subject: 'other' })).toEqual([]);
        await expect(store.enqueueJob(kind, {}, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
      });

      it("renewLease extends only the holder's lease of a running job", async () => {
        const kind = uniq('renew');
        const job = await store.enqueueJob(kind, {});
        const leased = (await store.leaseJob('w1', [kind], 1))!;
        expect(await store.renewLease(job.id, 'w2', 60)).toBe(false);
        expect(await store.renewLease(job.id, 'w1', 60)).toBe(true);
        const renewed = (await store.getJob(job.id))!;
        expect(Date.parse(renewed.leaseUntil!) - Date.parse(leased.leaseUntil!)).toBeGreaterThan(50_000);
        // A renewed lease is not taken over.
        await sleep(1_100);
        expect(await store.leaseJob('w2', [kind], 60)).toBeNull();
        await store.updateJob(job.id, { status: 'succeeded' });
        expect(await store.renewLease(job.id, 'w1', 60)).toBe(false);
        expect(await store.renewLease(randomUUID(), 'w1', 60)).toBe(false);
        expect(await store.renewLease('not-a-uuid', 'w1', 60)).toBe(false);
      });

      it('enqueueing a used dedupe key returns the existing job', async () => {
        const kind = uniq('dedupe');
        const key = uniq('schedule:v@1:2026-01-01T00:00:00.000Z');
        const first = await store.enqueueJob(kind, { n: 1 }, { dedupeKey: key });
        const second = await store.enqueueJob(kind, { n: 2 }, { dedupeKey: key });
        expect(first.created).toBe(true);
        expect(second).toMatchObject({ id: first.id, created: false, params: { n: 1 }, dedupeKey: key });
        expect(await store.listJobs({ kind })).toHaveLength(1);
      });

      it('updateJob rejects bad patches and unknown jobs', async () => {
        const job = await store.enqueueJob(uniq('bad'), {});
        await expect(store.updateJob(job.id, { progress: 1.5 })).rejects.toThrow(/0\.\.1/);
        await expect(store.updateJob(job.id, { progress: Number.NaN })).rejects.toThrow(/0\.\.1/);
        await expect(store.updateJob(job.id, { status: 'done' as unknown as 'succeeded' })).rejects.toThrow(
          /invalid job status/,
        );
        await expect(store.updateJob(randomUUID(), { progress: 0.1 })).rejects.toThrow(/not found/);
        await expect(store.updateJob('nope', { progress: 0.1 })).rejects.toThrow(/job nope not found/);
        expect(await store.getJob(randomUUID())).toBeNull();
        expect(await store.getJob('not-a-uuid')).toBeNull();
        await expect(store.leaseJob('w', ['x'], 0)).rejects.toThrow(/leaseSeconds/);
      });

      it('listJobs filters by kind and status, newest first, with a limit', async () => {
        const kind = uniq('list');
        const a = await store.enqueueJob(kind, { n: 1 });
        const bJob = await store.enqueueJob(kind, { n: 2 });
        const c = await store.enqueueJob(kind, { n: 3 });
        await store.leaseJob('w', [kind], 60); // leases a
        expect((await store.listJobs({ kind })).map((j) => j.id)).toEqual([c.id, bJob.id, a.id]);
        expect((await store.listJobs({ kind, status: 'queued' })).map((j) => j.id)).toEqual([c.id, bJob.id]);
        expect((await store.listJobs({ kind, status: 'running' })).map((j) => j.id)).toEqual([a.id]);
        expect((await store.listJobs({ kind, limit: 1 })).map((j) => j.id)).toEqual([c.id]);
        expect((await store.listJobs({ limit: 2 })).length).toBe(2);
      });

      it('job logs append in order and belong to their job', async () => {
        const kind = uniq('log');
        const j1 = await store.enqueueJob(kind, {});
        const j2 = await store.enqueueJob(kind, {});
        for (let i = 0; i < 20; i++) await store.appendJobLog(j1.id, `line ${i}`);
        await store.appendJobLog(j2.id, 'other');
        expect(await store.getJobLog(j1.id)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}`));
        expect(await store.getJobLog(j2.id)).toEqual(['other']);
        expect(await store.getJobLog(randomUUID())).toEqual([]);
        await expect(store.appendJobLog(randomUUID(), 'x')).rejects.toThrow(/not found/);
      });
    });

    describe('audit', () => {
      it('records entries and lists them newest first', async () => {
        const target = uniq('target');
        await store.audit({ actor: 'alice', action: 'apply', target, detail: { versions: [1] } });
        await store.audit({ actor: 'bob', action: 'delete', target, detail: null });
        const entries = await store.listAudit(2);
        expect(entries.map((e) => ({ ...e, at: 'ts' }))).toEqual([
          { at: 'ts', actor: 'bob', action: 'delete', target, detail: null },
          { at: 'ts', actor: 'alice', action: 'apply', target, detail: { versions: [1] } },
        ]);
        expect(entries[0]!.at).toMatch(/Z$/);
        expect(await store.listAudit(0)).toEqual([]);
        await expect(store.listAudit(-1)).rejects.toThrow(/limit/);
      });
    });

    it('data survives closing and reopening', async () => {
      const kind = uniq('persist');
      await store.putVersion(kind, 'p', { keep: true }, 'hp', 'u');
      const job = await store.enqueueJob(kind, { keep: 1 });
      store = await b.reopen();
      expect((await store.getLatest(kind, 'p'))?.spec).toEqual({ keep: true });
      expect((await store.getJob(job.id))?.params).toEqual({ keep: 1 });
    });
  });
}

metadataSuite('SqlMetadataStore on PGlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-pglite-'));
  let driver = await PgliteDriver.open(dir);
  let store = new SqlMetadataStore(driver);
  await store.migrate();
  const backend: Backend = {
    store,
    driver,
    async reopen() {
      await store.close();
      driver = await PgliteDriver.open(dir);
      store = new SqlMetadataStore(driver);
      await store.migrate();
      backend.driver = driver;
      return store;
    },
    async teardown() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return backend;
});

metadataSuite('SqlMetadataStore on PostgreSQL', async () => {
  const pg: RunningPostgres = await startPostgres();
  let store = await openMetadataStore({ kind: 'postgres', url: pg.url });
  const driver = new PgDriver(pg.url);
  const other = new SqlMetadataStore(new PgDriver(pg.url));
  return {
    store,
    driver,
    other,
    async reopen() {
      await store.close();
      store = await openMetadataStore({ kind: 'postgres', url: pg.url });
      return store;
    },
    async teardown() {
      await Promise.allSettled([store.close(), driver.close(), other.close()]);
      await pg.stop();
    },
  };
});

describe('openMetadataStore', () => {
  it('creates and migrates a PGlite database in a new directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plinth-pglite-'));
    try {
      const store = await openMetadataStore({ kind: 'pglite', dataDir: join(dir, 'meta') });
      const r = await store.putVersion('k', 'n', { a: 1 }, 'h', 'u');
      expect(r.record.version).toBe(1);
      await store.close();
      await store.close(); // idempotent
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails clearly when PostgreSQL is unreachable', async () => {
    await expect(
      openMetadataStore({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/postgres' }),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
