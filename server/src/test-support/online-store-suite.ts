/**
 * The behaviours every OnlineStore must have (LMDB and Redis run the same suite): values round
 * trip, the timestamp guard (an older value never replaces a newer one; an equal one
 * replaces), views are separate, deleting a view removes only its rows, bad input is refused.
 */
import { describe, expect, it } from 'vitest';
import type { OnlineStore } from '../stores/types';
import { encodeEntityKey } from '../stores/online/entity-key';

const k = (n: number | string) => encodeEntityKey([n]);

export function onlineStoreSuite(name: string, store: () => OnlineStore): void {
  describe(`${name}: the OnlineStore contract`, () => {
    it('round-trips values of every kind, in request order, null for unknown entities', async () => {
      const s = store();
      await s.writeBatch('c_round', [
        { entityKey: k(1), eventTs: 1000, values: { a: 1.5, b: 'x', c: true, d: null, e: -7 } },
        { entityKey: k('u-2'), eventTs: 2000, values: { a: 2 } },
      ]);
      expect(await s.read('c_round', [k('u-2'), k(99), k(1)])).toEqual([
        { eventTs: 2000, values: { a: 2 } },
        null,
        { eventTs: 1000, values: { a: 1.5, b: 'x', c: true, d: null, e: -7 } },
      ]);
      expect(await s.read('c_round', [])).toEqual([]);
    });

    it('never replaces a newer value with an older one; an equal time replaces', async () => {
      const s = store();
      await s.writeBatch('c_guard', [{ entityKey: k(1), eventTs: 5000, values: { v: 5 } }]);
      const older = await s.writeBatch('c_guard', [{ entityKey: k(1), eventTs: 4000, values: { v: 4 } }]);
      expect(older).toEqual({ written: 0, skippedOlder: 1 });
      expect((await s.read('c_guard', [k(1)]))[0]?.values).toEqual({ v: 5 });
      await s.writeBatch('c_guard', [{ entityKey: k(1), eventTs: 5000, values: { v: 50 } }]);
      expect((await s.read('c_guard', [k(1)]))[0]?.values).toEqual({ v: 50 });
      // Racing writers (a batch and a stream update): the newest wins whatever the order.
      await Promise.all([
        s.writeBatch('c_guard', [{ entityKey: k(2), eventTs: 9000, values: { v: 9 } }]),
        s.writeBatch('c_guard', [{ entityKey: k(2), eventTs: 8000, values: { v: 8 } }]),
        s.writeBatch('c_guard', [{ entityKey: k(2), eventTs: 7000, values: { v: 7 } }]),
      ]);
      expect((await s.read('c_guard', [k(2)]))[0]).toEqual({ eventTs: 9000, values: { v: 9 } });
    });

    it('keeps views apart and deletes one view only', async () => {
      const s = store();
      const rows = Array.from({ length: 500 }, (_, i) => ({ entityKey: k(i), eventTs: 1, values: { i } }));
      await s.writeBatch('c_del_a', rows);
      await s.writeBatch('c_del_ab', rows.slice(0, 10));
      expect(await s.deleteView('c_del_a')).toBe(500);
      expect(await s.read('c_del_a', [k(0), k(499)])).toEqual([null, null]);
      expect((await s.read('c_del_ab', [k(3)]))[0]?.values).toEqual({ i: 3 });
      expect(await s.deleteView('c_del_a')).toBe(0);
    });

    it('refuses bad input naming it', async () => {
      const s = store();
      await expect(s.writeBatch('', [])).rejects.toThrow(/view must be a non-empty string/);
      await expect(s.writeBatch('c_bad', [{ entityKey: '', eventTs: 1, values: {} }])).rejects.toThrow(/row #0/);
      await expect(s.writeBatch('c_bad', [{ entityKey: k(1), eventTs: NaN, values: {} }])).rejects.toThrow(
        /eventTs must be a finite number/,
      );
    });
  });
}
