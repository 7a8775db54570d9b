/** kernel-lib's LMDB online store: its layout, persistence, read-only mode and other processes. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { open } from 'lmdb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeEntityKey, LmdbOnlineStore, schemaId } from '@plinth/kernel-lib';
import { onlineStoreSuite } from '../../test-support/online-store-suite';

const run = promisify(execFile);
const key = (id: number | string) => encodeEntityKey([id]);
const one = (entityKey: string, eventTs: number, values: unknown[]) => ({ entityKey, eventTs, values });

describe('LmdbOnlineStore', () => {
  let dir: string;
  let store: LmdbOnlineStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plinth-lmdb-'));
    store = LmdbOnlineStore.open(join(dir, 'online'));
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the documented layout: <view>\\0<entity key> -> version, event time, schema id, MessagePack array', async () => {
    await store.writeBatch('user_stats', {
      features: ['clicks', 'country'],
      rows: [one(key(42), 1_767_225_600_000, [3, 'de'])],
    });
    await store.close();
    // Read back with a plain LMDB handle, as another language's reader would.
    const env = open({ path: join(dir, 'online'), maxDbs: 4, readOnly: true });
    const values = env.openDB({ name: 'values', keyEncoding: 'binary', encoding: 'binary' });
    const raw = values.getBinary(Buffer.from('user_stats\u0000[42]')) as Buffer;
    expect(raw[0]).toBe(1);
    expect(raw.readDoubleLE(1)).toBe(1_767_225_600_000);
    expect(raw.readUInt32LE(9)).toBe(schemaId(['clicks', 'country']));
    // fixarray of 2: positive fixint 3, fixstr "de"
    expect([...raw.subarray(13)]).toEqual([0x92, 0x03, 0xa2, 0x64, 0x65]);
    const meta = env.openDB({ name: 'meta' });
    expect(meta.get(`schema:user_stats:${schemaId(['clicks', 'country']).toString(16).padStart(8, '0')}`)).toEqual([
      'clicks',
      'country',
    ]);
    await env.close();
    store = LmdbOnlineStore.open(join(dir, 'online'));
  });

  it('deletes and purges views larger than one chunk, keeping neighbours and the size exact', async () => {
    const n = 25_000;
    const rows = Array.from({ length: n }, (_, i) => one(key(i), i % 2 ? 100 : 10, [i]));
    await store.writeBatch('big', { features: ['i'], rows });
    await store.writeBatch('big_keep', { features: ['i'], rows: [one(key(1), 1, [1])] });
    expect(await store.purgeOlderThan('big', 50)).toBe(n / 2);
    expect((await store.size('big')).entities).toBe(n / 2);
    expect(await store.deleteView('big')).toBe(n / 2);
    expect(await store.read('big', [key(0), key(n - 1)], ['i'])).toEqual([null, null]);
    expect(await store.read('big_keep', [key(1)], ['i'])).toEqual([{ eventTs: 1, values: [1] }]);
    expect(await store.size('big')).toEqual({ entities: 0, bytes: 0 });
  });

  it('data persists across reopen; a read-only store reads but refuses writes', async () => {
    await store.writeBatch('v', { features: ['a'], rows: [one(key(1), 5, [1])] });
    await store.close();
    const ro = LmdbOnlineStore.open(join(dir, 'online'), { readOnly: true });
    try {
      expect(await ro.read('v', [key(1)], ['a'])).toEqual([{ eventTs: 5, values: [1] }]);
      await expect(ro.writeBatch('v', { features: [], rows: [] })).rejects.toThrow(/read-only/);
      await expect(ro.deleteView('v')).rejects.toThrow(/read-only/);
    } finally {
      await ro.close();
    }
    store = LmdbOnlineStore.open(join(dir, 'online'));
  });

  describe('across processes', () => {
    /** Runs `body` in a separate Node process with kernel-lib's built LmdbOnlineStore and `args`. */
    async function inChild(body: string, args: string[]): Promise<string> {
      const lib = resolve(__dirname, '../../../../kernel-lib/dist/online/lmdb-store.js');
      const script = `
        const { LmdbOnlineStore } = require(${JSON.stringify(lib)});
        const args = process.argv.slice(1);
        (async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`;
      const { stdout } = await run(process.execPath, ['-e', script, ...args], { timeout: 30_000 });
      return stdout.trim();
    }

    it('another process reads committed writes', async () => {
      await store.writeBatch('v', { features: ['n'], rows: [one(key(1), 10, [1]), one(key(2), 20, [2])] });
      const out = await inChild(
        `const s = LmdbOnlineStore.open(args[0], { readOnly: true });
         console.log(JSON.stringify(await s.read('v', JSON.parse(args[1]), ['n'])));
         await s.close();`,
        [join(dir, 'online'), JSON.stringify([key(2), key(3), key(1)])],
      );
      expect(JSON.parse(out)).toEqual([{ eventTs: 20, values: [2] }, null, { eventTs: 10, values: [1] }]);
    });

    it('an open store sees writes committed by another process, and the guard holds across them', async () => {
      await store.writeBatch('v', { features: ['by'], rows: [one(key(1), 50, ['parent'])] });
      expect(await store.read('v', [key(2)], ['by'])).toEqual([null]);
      const out = await inChild(
        `const s = LmdbOnlineStore.open(args[0]);
         const r = await s.writeBatch('v', { features: ['by'], rows: [
           { entityKey: args[1], eventTs: 40, values: ['child'] },
           { entityKey: args[2], eventTs: 60, values: ['child'] },
         ] });
         console.log(JSON.stringify(r));
         await s.close();`,
        [join(dir, 'online'), key(1), key(2)],
      );
      expect(JSON.parse(out)).toEqual({ written: 1, skippedOlder: 1 });
      await new Promise((r) => setImmediate(r)); // next event turn: lmdb renews its read snapshot
      expect(await store.read('v', [key(1), key(2)], ['by'])).toEqual([
        { eventTs: 50, values: ['parent'] },
        { eventTs: 60, values: ['child'] },
      ]);
      expect((await store.size('v')).entities).toBe(2);
    });
  });
});

describe('LmdbOnlineStore contract', () => {
  let dir: string;
  let shared: LmdbOnlineStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plinth-lmdb-contract-'));
    shared = LmdbOnlineStore.open(dir);
  });
  afterAll(async () => {
    await shared?.close();
    await rm(dir, { recursive: true, force: true });
  });
  onlineStoreSuite('LmdbOnlineStore', () => shared);
});
