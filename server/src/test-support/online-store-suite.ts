/**
 * The behaviours every OnlineStore must have (LMDB, Redis and Redis Cluster run the same
 * suite): values round trip, the timestamp guard (an older value never replaces a newer one,
 * also under racing writers; an equal one replaces), schema changes, views are separate,
 * deleting a view or its expired rows removes only those, sizes add up, bad input is refused.
 */
import { describe, expect, it } from 'vitest';
import { encodeEntityKey, type OnlineStore } from '@plinth/kernel-lib';

const k = (n: number | string) => encodeEntityKey([n]);
const batch = (features: string[], rows: [string, number, unknown[]][]) => ({
  features,
  rows: rows.map(([entityKey, eventTs, values]) => ({ entityKey, eventTs, values })),
});

export function onlineStoreSuite(name: string, store: () => OnlineStore): void {
  describe(`${name}: the OnlineStore contract`, () => {
    it('round-trips values of every kind, in request order, null for unknown entities', async () => {
      const s = store();
      const f = ['a', 'b', 'c', 'd', 'e'];
      await s.writeBatch(
        'c_round',
        batch(f, [
          [k(1), 1000, [1.5, 'x', true, null, -7]],
          [k('u-2'), 2000, [2, 'y', false, 0.1, 2 ** 40]],
        ]),
      );
      expect(await s.read('c_round', [k('u-2'), k(99), k(1)], f)).toEqual([
        { eventTs: 2000, values: [2, 'y', false, 0.1, 2 ** 40] },
        null,
        { eventTs: 1000, values: [1.5, 'x', true, null, -7] },
      ]);
      // Any subset, in any order.
      expect(await s.read('c_round', [k(1)], ['e', 'a'])).toEqual([{ eventTs: 1000, values: [-7, 1.5] }]);
      expect(await s.read('c_round', [], f)).toEqual([]);
    });

    it('reads rows written before a feature was added: the new feature is undefined', async () => {
      const s = store();
      await s.writeBatch('c_schema', batch(['a'], [[k(1), 1, [10]]]));
      await s.writeBatch('c_schema', batch(['a', 'b'], [[k(2), 1, [20, 'new']]]));
      expect(await s.read('c_schema', [k(1), k(2)], ['b', 'a'])).toEqual([
        { eventTs: 1, values: [undefined, 10] },
        { eventTs: 1, values: ['new', 20] },
      ]);
    });

    it('never replaces a newer value with an older one; an equal time replaces', async () => {
      const s = store();
      await s.writeBatch('c_guard', batch(['v'], [[k(1), 5000, [5]]]));
      expect(await s.writeBatch('c_guard', batch(['v'], [[k(1), 4000, [4]]]))).toEqual({ written: 0, skippedOlder: 1 });
      expect((await s.read('c_guard', [k(1)], ['v']))[0]?.values).toEqual([5]);
      await s.writeBatch('c_guard', batch(['v'], [[k(1), 5000, [50]]]));
      expect((await s.read('c_guard', [k(1)], ['v']))[0]?.values).toEqual([50]);
      // Within one batch the newest row wins, whatever the order.
      expect(
        await s.writeBatch(
          'c_guard',
          batch(
            ['v'],
            [
              [k(3), 300, ['newest']],
              [k(3), 100, ['old']],
            ],
          ),
        ),
      ).toEqual({ written: 1, skippedOlder: 1 });
      expect((await s.read('c_guard', [k(3)], ['v']))[0]?.values).toEqual(['newest']);
    });

    it('racing writers (a batch and stream updates) leave the newest value for every entity', async () => {
      const s = store();
      const entities = 200;
      // 20 writers, each writing every entity at its own time, started together in shuffled order.
      const times = Array.from({ length: 20 }, (_, w) => 1000 + ((w * 7) % 20) * 10);
      await Promise.all(
        times.map((t) =>
          s.writeBatch(
            'c_race',
            batch(
              ['t'],
              Array.from({ length: entities }, (_, e): [string, number, unknown[]] => [k(e), t, [t]]),
            ),
          ),
        ),
      );
      const got = await s.read(
        'c_race',
        Array.from({ length: entities }, (_, e) => k(e)),
        ['t'],
      );
      const newest = Math.max(...times);
      expect(got.every((r) => r?.eventTs === newest && r.values[0] === newest)).toBe(true);
    });

    it('keeps views apart, deletes one view only, and sizes each', async () => {
      const s = store();
      const rows = Array.from({ length: 500 }, (_, i): [string, number, unknown[]] => [k(i), 1, [i]]);
      await s.writeBatch('c_del_a', batch(['i'], rows));
      await s.writeBatch('c_del_ab', batch(['i'], rows.slice(0, 10)));
      const sizeA = await s.size('c_del_a');
      expect(sizeA.entities).toBe(500);
      expect(sizeA.bytes).toBeGreaterThan(500 * 14);
      expect((await s.size('c_del_ab')).entities).toBe(10);
      expect(await s.deleteView('c_del_a')).toBe(500);
      expect(await s.read('c_del_a', [k(0), k(499)], ['i'])).toEqual([null, null]);
      expect((await s.read('c_del_ab', [k(3)], ['i']))[0]?.values).toEqual([3]);
      expect(await s.size('c_del_a')).toEqual({ entities: 0, bytes: 0 });
      expect(await s.deleteView('c_del_a')).toBe(0);
    });

    it('purges rows older than a cutoff (TTL expiry) in one view only', async () => {
      const s = store();
      const rows = Array.from({ length: 300 }, (_, i): [string, number, unknown[]] => [k(i), i < 100 ? 10 : 50, [i]]);
      await s.writeBatch('c_ttl', batch(['i'], rows));
      await s.writeBatch('c_ttl_other', batch(['i'], rows));
      expect(await s.purgeOlderThan('c_ttl', 20)).toBe(100);
      expect(await s.read('c_ttl', [k(0), k(99), k(100)], ['i'])).toEqual([null, null, { eventTs: 50, values: [100] }]);
      expect((await s.size('c_ttl')).entities).toBe(200);
      expect((await s.size('c_ttl_other')).entities).toBe(300);
      expect(await s.purgeOlderThan('c_ttl', 20)).toBe(0);
    });

    it('refuses bad input naming it', async () => {
      const s = store();
      await expect(s.writeBatch('', { features: [], rows: [] })).rejects.toThrow(/view must be a feature view name/);
      await expect(s.writeBatch('c_bad', batch(['a'], [['', 1, [1]]]))).rejects.toThrow(/row #0/);
      await expect(s.writeBatch('c_bad', batch(['a'], [[k(1), NaN, [1]]]))).rejects.toThrow(
        /eventTs must be a finite number/,
      );
      await expect(s.writeBatch('c_bad', batch(['a', 'b'], [[k(1), 1, [1]]]))).rejects.toThrow(
        /one entry per feature \(2\)/,
      );
    });
  });
}
