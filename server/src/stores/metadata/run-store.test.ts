import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../test-support/postgres';
import { parseRunFilter, parseRunOrder } from '../../tracking/run-filter';
import type { MetadataStore, RunStore } from '../types';
import {
  PgDriver,
  PgliteDriver,
  RunConflictError,
  RunNotFoundError,
  SqlMetadataStore,
  SqlRunStore,
  type SqlDriver,
} from './index';

/** The run store's suite, run on both backends. */
function runStoreSuite(
  name: string,
  setup: () => Promise<{ store: MetadataStore; driver: SqlDriver; teardown(): Promise<void> }>,
) {
  describe(name, () => {
    let runs: RunStore;
    let driver: SqlDriver;
    let teardown: () => Promise<void>;
    beforeAll(async () => {
      const b = await setup();
      runs = b.store.runs;
      driver = b.driver;
      teardown = b.teardown;
    }, 120_000);
    afterAll(async () => teardown?.());

    const experiment = () => `exp_${randomUUID().slice(0, 8)}`;
    const search = (experiments: string[], filter = '', orderBy: string[] = [], limit = 100, offset = 0) =>
      runs.search({ experiments, clauses: parseRunFilter(filter), order: parseRunOrder(orderBy), limit, offset });

    it('creates a run with its parameters, tags, source, environment and example set', async () => {
      const e = experiment();
      const run = await runs.create({
        experiment: e,
        name: 'first try',
        createdBy: 'alice',
        params: { model: 'gbt', num_leaves: '31' },
        tags: { team: 'growth' },
        source: { notebook: 'work/ctr.ipynb', cell: '7', gitCommit: 'abc1234' },
        environment: { node: 'v20.0.0', '@plinth/kernel-lib': '0.1.0' },
        exampleSet: { name: 'clicks', version: 3 },
      });
      expect(run).toMatchObject({
        experiment: e,
        name: 'first try',
        status: 'running',
        createdBy: 'alice',
        params: { model: 'gbt', num_leaves: '31' },
        tags: { team: 'growth' },
        metrics: {},
        artifacts: [],
        source: { notebook: 'work/ctr.ipynb', cell: '7', gitCommit: 'abc1234' },
        environment: { node: 'v20.0.0', '@plinth/kernel-lib': '0.1.0' },
        exampleSet: { name: 'clicks', version: 3 },
      });
      expect(run.endTime).toBeUndefined();
      expect(Date.now() - Date.parse(run.startTime)).toBeLessThan(60_000);
      expect(await runs.get(run.id)).toEqual(run);
      expect(await runs.get(randomUUID())).toBeNull();
      expect(await runs.get('not-a-uuid')).toBeNull();
    });

    it('keeps every metric point by step; the latest is the highest step, whatever the order logged', async () => {
      const run = await runs.create({ experiment: experiment(), createdBy: 'bob' });
      await runs.log(run.id, {
        metrics: [
          { key: 'loss', value: 0.5, step: 2 },
          { key: 'loss', value: 0.9, step: 0 },
          { key: 'auc', value: 0.7 },
        ],
      });
      await runs.log(run.id, { metrics: [{ key: 'loss', value: 0.7, step: 1 }] });
      await runs.log(run.id, { metrics: [{ key: 'loss', value: 0.45, step: 2 }] }); // same step: replaced
      const got = await runs.get(run.id);
      expect(got!.metrics.loss).toMatchObject({ value: 0.45, step: 2 });
      expect(got!.metrics.auc).toMatchObject({ value: 0.7, step: 0 });
      expect((await runs.history(run.id, 'loss')).map((p) => [p.step, p.value])).toEqual([
        [0, 0.9],
        [1, 0.7],
        [2, 0.45],
      ]);
      expect(await runs.history(run.id, 'nothing')).toEqual([]);
    });

    it('parameters never change: the same value again is fine, another fails and writes nothing of the batch', async () => {
      const run = await runs.create({ experiment: experiment(), createdBy: 'bob', params: { lr: '0.1' } });
      await runs.log(run.id, { params: { lr: '0.1', depth: '6' } });
      await expect(
        runs.log(run.id, { params: { lr: '0.2' }, metrics: [{ key: 'auc', value: 0.9 }], tags: { t: 'x' } }),
      ).rejects.toThrow(RunConflictError);
      await expect(runs.log(run.id, { params: { lr: '0.2' } })).rejects.toThrow(
        /parameter 'lr' is already logged as '0.1'; parameters cannot change \(got '0.2'\)/,
      );
      const got = await runs.get(run.id);
      expect(got!.params).toEqual({ lr: '0.1', depth: '6' });
      expect(got!.metrics).toEqual({});
      expect(got!.tags).toEqual({});
      await expect(runs.log(randomUUID(), { tags: { a: 'b' } })).rejects.toThrow(RunNotFoundError);
    });

    it('tags and artifacts are overwritten by key; finishing sets the end time', async () => {
      const run = await runs.create({ experiment: experiment(), createdBy: 'bob', tags: { stage: 'dev' } });
      const sha = 'a'.repeat(64);
      await runs.log(run.id, {
        tags: { stage: 'candidate' },
        artifacts: [{ path: 'model/model.json', sha256: sha, bytes: 10 }],
      });
      await runs.log(run.id, { artifacts: [{ path: 'model/model.json', sha256: 'b'.repeat(64), bytes: 12 }] });
      const done = await runs.update(run.id, { status: 'finished', name: 'renamed' });
      expect(done).toMatchObject({
        status: 'finished',
        name: 'renamed',
        tags: { stage: 'candidate' },
        artifacts: [{ path: 'model/model.json', sha256: 'b'.repeat(64), bytes: 12 }],
      });
      expect(Date.parse(done.endTime!)).toBeGreaterThanOrEqual(Date.parse(done.startTime));
      const failed = await runs.update(run.id, { status: 'failed', endTime: '2030-01-01T00:00:00.000Z' });
      expect(failed.endTime).toBe('2030-01-01T00:00:00.000Z');
      await expect(runs.update(randomUUID(), { status: 'killed' })).rejects.toThrow(RunNotFoundError);
    });

    describe('search', () => {
      const e = `search_${randomUUID().slice(0, 8)}`;
      const other = `other_${randomUUID().slice(0, 8)}`;
      const ids: Record<string, string> = {};
      beforeAll(async () => {
        const specs: [string, Record<string, string>, Record<string, number>, Record<string, string>][] = [
          ['a', { model: 'gbt', num_leaves: '31' }, { auc: 0.81, loss: 0.4 }, { team: 'growth' }],
          ['b', { model: 'gbt', num_leaves: '127' }, { auc: 0.84 }, { team: 'ads' }],
          ['c', { model: 'logistic', C: '1.0' }, { auc: 0.74 }, { team: 'growth' }],
          ['d', { model: 'gbt', num_leaves: '15' }, {}, { team: 'growth', note: "it's fine" }],
        ];
        let t = Date.parse('2026-11-01T00:00:00Z');
        for (const [name, params, metrics, tags] of specs) {
          const r = await runs.create({
            experiment: e,
            name,
            createdBy: name === 'c' ? 'carol' : 'alice',
            params,
            tags,
            startTime: new Date((t += 60_000)).toISOString(),
          });
          await runs.log(r.id, { metrics: Object.entries(metrics).map(([key, value]) => ({ key, value })) });
          ids[name] = r.id;
        }
        await runs.update(ids.a, { status: 'finished' });
        await runs.update(ids.b, { status: 'finished' });
        const gone = await runs.create({
          experiment: e,
          name: 'deleted',
          createdBy: 'alice',
          params: { model: 'gbt' },
        });
        expect(await runs.delete(gone.id)).toBe(true);
        expect(await runs.delete(gone.id)).toBe(false);
        await runs.create({ experiment: other, name: 'x', createdBy: 'alice', params: { model: 'gbt' } });
      });
      const names = (rs: { name?: string }[]) => rs.map((r) => r.name);

      it('lists an experiment newest first, without deleted runs', async () => {
        expect(names(await search([e]))).toEqual(['d', 'c', 'b', 'a']);
        expect(names(await search([e, other]))).toEqual(['x', 'd', 'c', 'b', 'a']);
      });

      it('filters on metrics, parameters (as strings and as numbers), tags and attributes', async () => {
        expect(names(await search([e], 'metrics.auc > 0.8'))).toEqual(['b', 'a']);
        expect(names(await search([e], "metrics.auc >= 0.74 AND params.model = 'gbt'"))).toEqual(['b', 'a']);
        expect(names(await search([e], 'params.num_leaves > 20'))).toEqual(['b', 'a']);
        expect(names(await search([e], "params.num_leaves = '31'"))).toEqual(['a']);
        expect(names(await search([e], 'params.num_leaves IN (15, 127)'))).toEqual(['d', 'b']);
        expect(names(await search([e], "tags.team != 'growth'"))).toEqual(['b']);
        expect(names(await search([e], "tags.note LIKE 'it''s%'"))).toEqual(['d']);
        expect(names(await search([e], "status = 'FINISHED'"))).toEqual(['b', 'a']);
        expect(names(await search([e], "status IN ('running')"))).toEqual(['d', 'c']);
        expect(names(await search([e], "created_by = 'carol'"))).toEqual(['c']);
        expect(names(await search([e], "name ILIKE 'A'"))).toEqual(['a']);
        expect(names(await search([e], "start_time > '2026-11-01T00:02:30Z'"))).toEqual(['d', 'c']);
        expect(names(await search([e], 'metrics.missing > 0'))).toEqual([]);
        expect(names(await search([e], 'metrics.auc NOT IN (0.84, 0.74)'))).toEqual(['a']);
      });

      it('orders by a metric or parameter, runs without it last, and pages', async () => {
        expect(names(await search([e], '', ['metrics.auc DESC']))).toEqual(['b', 'a', 'c', 'd']);
        expect(names(await search([e], '', ['metrics.auc']))).toEqual(['c', 'a', 'b', 'd']);
        expect(names(await search([e], '', ['params.num_leaves DESC']))).toEqual(['b', 'a', 'd', 'c']);
        expect(names(await search([e], '', ['name']))).toEqual(['a', 'b', 'c', 'd']);
        expect(names(await search([e], '', ['metrics.auc DESC'], 2, 0))).toEqual(['b', 'a']);
        expect(names(await search([e], '', ['metrics.auc DESC'], 2, 2))).toEqual(['c', 'd']);
        expect(names(await search([e], '', ['metrics.auc DESC'], 2, 4))).toEqual([]);
        const [b] = await search([e], "name = 'b'");
        expect(b).toMatchObject({ params: { model: 'gbt', num_leaves: '127' }, metrics: { auc: { value: 0.84 } } });
      });
    });

    it('merges the pending lists of the GIN indexes on parameters and tags (PGlite has no autovacuum)', async () => {
      await runs.create({ experiment: experiment(), createdBy: 'bob', params: { a: '1' }, tags: { b: '2' } });
      expect(await new SqlRunStore(driver).mergePendingLists()).toBeGreaterThanOrEqual(2);
    });

    describe('search: the bounded walk of the first runs in order, or the filters first', () => {
      const e = `walk_${randomUUID().slice(0, 8)}`;
      interface Made {
        id: string;
        start: number;
        score?: number;
        other: number;
        parity: string;
      }
      const made: Made[] = [];
      // The walk reads 1 to 3 runs here (and every run tied with the last): most pages need the
      // fallback, the first ones do not. `seen` counts which query answered.
      const seen = { walk: 0, fallback: 0 };
      let small: RunStore;
      beforeAll(async () => {
        const counting: SqlDriver = {
          query: (sql, params) => {
            if (sql.includes('WITH TIES')) seen.walk++;
            if (sql.includes('+ 0') || sql.includes("+ interval '0 s'")) seen.fallback++;
            return driver.query(sql, params);
          },
          transaction: (fn) => driver.transaction(fn),
          close: () => driver.close(),
        };
        small = new SqlRunStore(counting, { walk: { perRow: 1, min: 1, max: 3 } });
        const t0 = Date.parse('2026-10-01T00:00:00Z');
        for (let i = 0; i < 40; i++) {
          // Five score values (many ties), every 7th run without one; three runs per start time.
          const m: Made = {
            id: '',
            start: t0 + Math.floor(i / 3) * 60_000,
            other: ((i * 37) % 11) / 10,
            parity: i % 2 ? 'odd' : 'even',
          };
          if (i % 7 !== 3) m.score = [0.1, 0.2, 0.2, 0.5, 0.9][i % 5];
          const r = await runs.create({
            experiment: e,
            createdBy: 'alice',
            startTime: new Date(m.start).toISOString(),
            tags: { parity: m.parity },
          });
          const metrics = [{ key: 'other', value: m.other }];
          if (m.score !== undefined) metrics.push({ key: 'score', value: m.score });
          await runs.log(r.id, { metrics });
          made.push({ ...m, id: r.id });
        }
      }, 60_000);

      const idDesc = (a: Made, b: Made) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
      const newest = (a: Made, b: Made) => b.start - a.start || idDesc(a, b);
      /** Orderings and the order the store promises for each (runs without a score after the others). */
      const orders: [string[], (a: Made, b: Made) => number][] = [
        [['metrics.score DESC'], (a, b) => b.score! - a.score! || newest(a, b)],
        [['metrics.score'], (a, b) => a.score! - b.score! || newest(a, b)],
        [['metrics.score DESC', 'metrics.other'], (a, b) => b.score! - a.score! || a.other - b.other || newest(a, b)],
        [[], newest],
        [['start_time'], (a, b) => a.start - b.start || idDesc(a, b)],
        [
          ['attributes.start_time DESC', 'metrics.other'],
          (a, b) => b.start - a.start || a.other - b.other || idDesc(a, b),
        ],
      ];
      const expected = (keep: (m: Made) => boolean, orderBy: string[], cmp: (a: Made, b: Made) => number) => {
        const kept = made.filter(keep);
        if (!orderBy[0]?.startsWith('metrics.score')) return kept.sort(cmp).map((m) => m.id);
        const without = kept.filter((m) => m.score === undefined).sort((a, b) => cmp(a, b) || newest(a, b));
        const scored = kept.filter((m) => m.score !== undefined).sort(cmp);
        return [...scored, ...without].map((m) => m.id);
      };
      const filters: [string, (m: Made) => boolean][] = [
        ['', () => true],
        ['metrics.other > 0.5', (m) => m.other > 0.5],
        ["tags.parity = 'odd'", (m) => m.parity === 'odd'],
        ['metrics.other < 0.3 AND metrics.score >= 0.2', (m) => m.other < 0.3 && (m.score ?? -1) >= 0.2],
        ["tags.parity LIKE 'e%' AND metrics.other <= 0.6", (m) => m.parity === 'even' && m.other <= 0.6],
        ['metrics.score < 0', () => false],
      ];

      it('gives every page exactly, whichever way it is found, in every order', async () => {
        for (const store of [runs, small])
          for (const [filter, keep] of filters)
            for (const [orderBy, cmp] of orders) {
              const want = expected(keep, orderBy, cmp);
              const search = (limit: number, offset: number) =>
                store.search({
                  experiments: [e],
                  clauses: parseRunFilter(filter),
                  order: parseRunOrder(orderBy),
                  limit,
                  offset,
                });
              const what = `${filter} | ${orderBy.join(', ')}`;
              expect(
                (await search(100, 0)).map((r) => r.id),
                what,
              ).toEqual(want);
              const pages: string[] = [];
              for (let offset = 0; offset <= want.length; offset += 3) {
                const page = (await search(3, offset)).map((r) => r.id);
                expect(page, `${what} from ${offset}`).toEqual(want.slice(offset, offset + 3));
                pages.push(...page);
              }
              expect(pages).toEqual(want);
            }
        expect(seen.walk).toBeGreaterThan(0);
        expect(seen.fallback).toBeGreaterThan(0);
        expect(seen.fallback).toBeLessThan(seen.walk);
      }, 120_000);
    });
  });
}

/** The store as openMetadataStore makes it, with its driver (for a second run store on it). */
async function open(driver: SqlDriver): Promise<SqlMetadataStore> {
  const store = new SqlMetadataStore(driver);
  await store.migrate();
  return store;
}

runStoreSuite('runs on PGlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-runs-'));
  const driver = await PgliteDriver.open(dir);
  const store = await open(driver);
  return {
    store,
    driver,
    async teardown() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

runStoreSuite('runs on PostgreSQL', async () => {
  const pg = await startPostgres();
  const driver = new PgDriver(pg.url);
  const store = await open(driver);
  return {
    store,
    driver,
    async teardown() {
      await store.close();
      await pg.stop();
    },
  };
});
