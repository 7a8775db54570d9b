import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { onlineStoreSuite } from '../../test-support/online-store-suite';
import { encodeEntityKey } from './entity-key';
import { LmdbOnlineStore } from './lmdb-store';

const run = promisify(execFile);
const key = (id: number | string) => encodeEntityKey([id]);

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

  it('writes and reads rows; N keys come back in order with null for missing', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({
      entityKey: key(i),
      eventTs: 1_000 + i,
      values: { clicks: i, country: i % 2 ? 'de' : 'fr', emb: [i, i / 2] },
    }));
    expect(await store.writeBatch('user_stats', rows)).toEqual({ written: 50, skippedOlder: 0 });
    const wanted = [key(49), key('nope'), key(0), key(7), key(1000), key(7)];
    const got = await store.read('user_stats', wanted);
    expect(got).toEqual([
      { eventTs: 1049, values: { clicks: 49, country: 'de', emb: [49, 24.5] } },
      null,
      { eventTs: 1000, values: { clicks: 0, country: 'fr', emb: [0, 0] } },
      { eventTs: 1007, values: { clicks: 7, country: 'de', emb: [7, 3.5] } },
      null,
      { eventTs: 1007, values: { clicks: 7, country: 'de', emb: [7, 3.5] } },
    ]);
    expect(await store.read('other_view', [key(1)])).toEqual([null]);
    expect(await store.read('user_stats', [])).toEqual([]);
  });

  it('timestamp guard: older rows are skipped, newer and equal ones replace', async () => {
    await store.writeBatch('v', [{ entityKey: key(1), eventTs: 100, values: { x: 'first' } }]);
    expect(await store.writeBatch('v', [{ entityKey: key(1), eventTs: 99, values: { x: 'older' } }])).toEqual({
      written: 0,
      skippedOlder: 1,
    });
    expect((await store.read('v', [key(1)]))[0]).toEqual({ eventTs: 100, values: { x: 'first' } });

    expect(await store.writeBatch('v', [{ entityKey: key(1), eventTs: 100, values: { x: 'equal' } }])).toEqual({
      written: 1,
      skippedOlder: 0,
    });
    expect((await store.read('v', [key(1)]))[0]).toEqual({ eventTs: 100, values: { x: 'equal' } });

    expect(await store.writeBatch('v', [{ entityKey: key(1), eventTs: 200, values: { x: 'newer' } }])).toEqual({
      written: 1,
      skippedOlder: 0,
    });
    expect((await store.read('v', [key(1)]))[0]).toEqual({ eventTs: 200, values: { x: 'newer' } });
  });

  it('timestamp guard also applies within one batch, whatever the order', async () => {
    const res = await store.writeBatch('v', [
      { entityKey: key(1), eventTs: 300, values: { x: 'newest' } },
      { entityKey: key(1), eventTs: 100, values: { x: 'old' } },
      { entityKey: key(2), eventTs: 100, values: { x: 'old' } },
      { entityKey: key(2), eventTs: 300, values: { x: 'newest' } },
    ]);
    expect(res).toEqual({ written: 3, skippedOlder: 1 });
    expect((await store.read('v', [key(1), key(2)])).map((r) => r?.values.x)).toEqual(['newest', 'newest']);
  });

  it('deleteView removes only that view, including views whose name extends it', async () => {
    const rows = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({ entityKey: key(i), eventTs: 1, values: { tag } }));
    await store.writeBatch('a', rows(25, 'a'));
    await store.writeBatch('ab', rows(5, 'ab'));
    await store.writeBatch('a b', rows(3, 'a b'));
    await store.writeBatch('', rows(0, '')).catch(() => undefined);
    await store.writeBatch('b', rows(4, 'b'));
    expect(await store.deleteView('a')).toBe(25);
    expect(await store.read('a', [key(0), key(24)])).toEqual([null, null]);
    expect((await store.read('ab', [key(0), key(4)])).map((r) => r?.values.tag)).toEqual(['ab', 'ab']);
    expect((await store.read('a b', [key(2)]))[0]?.values.tag).toBe('a b');
    expect((await store.read('b', [key(3)]))[0]?.values.tag).toBe('b');
    expect(await store.deleteView('a')).toBe(0);
    expect(await store.deleteView('b')).toBe(4);
    expect(await store.deleteView('ab')).toBe(5);
  });

  it('deleteView handles views larger than one delete chunk', async () => {
    const n = 25_000;
    const rows = Array.from({ length: n }, (_, i) => ({
      entityKey: key(i),
      eventTs: 1,
      values: { i },
    }));
    await store.writeBatch('big', rows);
    await store.writeBatch('keep', [{ entityKey: key(1), eventTs: 1, values: {} }]);
    expect(await store.deleteView('big')).toBe(n);
    expect(await store.read('big', [key(0), key(n - 1)])).toEqual([null, null]);
    expect(await store.read('keep', [key(1)])).toEqual([{ eventTs: 1, values: {} }]);
  });

  it('rejects bad input', async () => {
    await expect(store.writeBatch('', [])).rejects.toThrow(/view/);
    await expect(store.writeBatch('v', [{ entityKey: '', eventTs: 1, values: {} }])).rejects.toThrow(
      /row #0: entityKey/,
    );
    await expect(store.writeBatch('v', [{ entityKey: key(1), eventTs: Number.NaN, values: {} }])).rejects.toThrow(
      /eventTs must be a finite number/,
    );
  });

  it('data persists across reopen; a read-only store reads but refuses writes', async () => {
    await store.writeBatch('v', [{ entityKey: key(1), eventTs: 5, values: { a: 1 } }]);
    await store.close();
    const ro = LmdbOnlineStore.open(join(dir, 'online'), { readOnly: true });
    try {
      expect(await ro.read('v', [key(1)])).toEqual([{ eventTs: 5, values: { a: 1 } }]);
      await expect(ro.writeBatch('v', [])).rejects.toThrow(/read-only/);
      await expect(ro.deleteView('v')).rejects.toThrow(/read-only/);
    } finally {
      await ro.close();
    }
    store = LmdbOnlineStore.open(join(dir, 'online'));
  });

  describe('across processes', () => {
    /**
     * Runs `body` in a separate Node process that has the real LmdbOnlineStore (transpiled
     * from this directory's source) as `LmdbOnlineStore` and its argv as `args`.
     */
    async function inChild(body: string, args: string[]): Promise<string> {
      const src = await readFile(resolve(__dirname, 'lmdb-store.ts'), 'utf8');
      const js = ts.transpileModule(src, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      const file = join(dir, 'lmdb-store.cjs');
      await writeFile(file, js);
      const script = `
        const { LmdbOnlineStore } = require(${JSON.stringify(file)});
        const args = process.argv.slice(1);
        (async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`;
      const { stdout } = await run(process.execPath, ['-e', script, ...args], {
        env: { ...process.env, NODE_PATH: resolve(__dirname, '../../../../node_modules') },
        timeout: 30_000,
      });
      return stdout.trim();
    }

    it('another process reads committed writes', async () => {
      await store.writeBatch('v', [
        { entityKey: key(1), eventTs: 10, values: { n: 1 } },
        { entityKey: key(2), eventTs: 20, values: { n: 2 } },
      ]);
      const out = await inChild(
        `const s = LmdbOnlineStore.open(args[0], { readOnly: true });
         console.log(JSON.stringify(await s.read('v', JSON.parse(args[1]))));
         await s.close();`,
        [join(dir, 'online'), JSON.stringify([key(2), key(3), key(1)])],
      );
      expect(JSON.parse(out)).toEqual([{ eventTs: 20, values: { n: 2 } }, null, { eventTs: 10, values: { n: 1 } }]);
    });

    it('an open store sees writes committed by another process, and the guard holds across them', async () => {
      await store.writeBatch('v', [{ entityKey: key(1), eventTs: 50, values: { by: 'parent' } }]);
      expect(await store.read('v', [key(2)])).toEqual([null]);
      const out = await inChild(
        `const s = LmdbOnlineStore.open(args[0]);
         const r = await s.writeBatch('v', [
           { entityKey: args[1], eventTs: 40, values: { by: 'child' } },
           { entityKey: args[2], eventTs: 60, values: { by: 'child' } },
         ]);
         console.log(JSON.stringify(r));
         await s.close();`,
        [join(dir, 'online'), key(1), key(2)],
      );
      expect(JSON.parse(out)).toEqual({ written: 1, skippedOlder: 1 });
      await new Promise((r) => setImmediate(r)); // next event turn: lmdb renews its read snapshot
      expect(await store.read('v', [key(1), key(2)])).toEqual([
        { eventTs: 50, values: { by: 'parent' } },
        { eventTs: 60, values: { by: 'child' } },
      ]);
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
