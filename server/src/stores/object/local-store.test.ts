import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BAD_OBJECT_KEYS } from '../../test-support/object-keys';
import { LocalObjectStore, ObjectNotFoundError } from './local-store';

describe('LocalObjectStore', () => {
  let root: string;
  let store: LocalObjectStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'plinth-obj-'));
    store = new LocalObjectStore(join(root, 'objects'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const tmpFiles = async () => readdir(join(root, 'objects', '.tmp')).catch(() => [] as string[]);

  it('put then get returns the same bytes; overwrite replaces', async () => {
    await store.put('views/clicks/part-0.parquet', new Uint8Array([1, 2, 3]));
    expect(await store.get('views/clicks/part-0.parquet')).toEqual(Buffer.from([1, 2, 3]));
    await store.put('views/clicks/part-0.parquet', Buffer.from('second'));
    expect((await store.get('views/clicks/part-0.parquet')).toString()).toBe('second');
    // The object is a plain file at the key's path, so DuckDB can read it directly.
    const p = store.localPath('views/clicks/part-0.parquet');
    expect(p).toBe(join(root, 'objects', 'views', 'clicks', 'part-0.parquet'));
    expect(await readFile(p)).toEqual(Buffer.from('second'));
    expect(await tmpFiles()).toEqual([]);
  });

  it('putFile copies a local file in atomically and leaves the source', async () => {
    const src = join(root, 'model.onnx');
    await writeFile(src, 'onnx-bytes');
    await store.putFile('models/m/1/model.onnx', src);
    expect((await store.get('models/m/1/model.onnx')).toString()).toBe('onnx-bytes');
    expect((await readFile(src)).toString()).toBe('onnx-bytes');
    expect(await tmpFiles()).toEqual([]);
  });

  it('exists and delete; deleting a missing key is fine; get of a missing key names it', async () => {
    await store.put('a/b/c', Buffer.from('x'));
    expect(await store.exists('a/b/c')).toBe(true);
    expect(await store.exists('a/b')).toBe(false); // a directory is not an object
    expect(await store.exists('a/b/c/d')).toBe(false);
    await store.delete('a/b/c');
    expect(await store.exists('a/b/c')).toBe(false);
    await store.delete('a/b/c');
    await expect(store.get('a/b/c')).rejects.toThrow(ObjectNotFoundError);
    await expect(store.get('a/b/c')).rejects.toThrow('object not found: a/b/c');
    await expect(store.get('a')).rejects.toMatchObject({ code: 'ENOENT', key: 'a' });
    // Empty directories left behind are pruned, up to (not including) the root.
    expect(await readdir(join(root, 'objects'))).toEqual(['.tmp']);
  });

  it('stat gives size and a version that changes with the content; null when missing', async () => {
    await store.put('a/b', Buffer.from('xyz'));
    const st = await store.stat('a/b');
    expect(st).toMatchObject({ size: 3 });
    await new Promise((r) => setTimeout(r, 5));
    await store.put('a/b', Buffer.from('xyzw'));
    expect((await store.stat('a/b'))?.version).not.toBe(st?.version);
    expect(await store.stat('a')).toBeNull(); // a directory is not an object
    expect(await store.stat('a/missing')).toBeNull();
    expect(await store.stat('a/b/c')).toBeNull();
    await expect(store.stat('../x')).rejects.toThrow(/invalid object key/);
  });

  it('list returns keys under a string prefix, sorted, never temp files', async () => {
    for (const k of ['b/2', 'a/x/1', 'a/x/10', 'a/x/2', 'a/xy', 'a/y/1', 'c', 'ab/1']) {
      await store.put(k, Buffer.from(k));
    }
    expect(await store.list('')).toEqual(['a/x/1', 'a/x/10', 'a/x/2', 'a/xy', 'a/y/1', 'ab/1', 'b/2', 'c']);
    expect(await store.list('a/')).toEqual(['a/x/1', 'a/x/10', 'a/x/2', 'a/xy', 'a/y/1']);
    expect(await store.list('a/x')).toEqual(['a/x/1', 'a/x/10', 'a/x/2', 'a/xy']);
    expect(await store.list('a/x/')).toEqual(['a/x/1', 'a/x/10', 'a/x/2']);
    expect(await store.list('a/x/1')).toEqual(['a/x/1', 'a/x/10']);
    expect(await store.list('a')).toEqual(['a/x/1', 'a/x/10', 'a/x/2', 'a/xy', 'a/y/1', 'ab/1']);
    expect(await store.list('zzz/')).toEqual([]);
    expect(await store.list('c/')).toEqual([]);
    expect(await new LocalObjectStore(join(root, 'never-created')).list('')).toEqual([]);
  });

  it('rejects bad keys with an error naming the key, touching nothing', async () => {
    for (const [key, why] of BAD_OBJECT_KEYS) {
      await expect(store.put(key, Buffer.from('x')), key).rejects.toThrow(why);
      await expect(store.put(key, Buffer.from('x')), key).rejects.toThrow(`invalid object key ${JSON.stringify(key)}`);
      await expect(store.get(key), key).rejects.toThrow(/invalid object key/);
      await expect(store.exists(key), key).rejects.toThrow(/invalid object key/);
      await expect(store.delete(key), key).rejects.toThrow(/invalid object key/);
      expect(() => store.localPath(key), key).toThrow(/invalid object key/);
      expect(() => store.uri(key), key).toThrow(/invalid object key/);
    }
    await expect(store.list('../')).rejects.toThrow(/invalid object key/);
    await expect(store.list('/abs')).rejects.toThrow(/absolute/);
    await expect(readdir(join(root, 'escape'))).rejects.toThrow();
    expect(await store.list('')).toEqual([]);
  });

  it('a failed write leaves no temp file and keeps the previous object', async () => {
    await store.put('dir/child', Buffer.from('child'));
    // Renaming a file over a directory fails after the temp file was written.
    await expect(store.put('dir', Buffer.from('x'))).rejects.toThrow();
    expect(await tmpFiles()).toEqual([]);
    // A missing source file fails putFile.
    await expect(store.putFile('dir/child', join(root, 'missing'))).rejects.toThrow(/ENOENT/);
    expect(await tmpFiles()).toEqual([]);
    expect((await store.get('dir/child')).toString()).toBe('child');
    // A parent path that is an object (a file) fails too.
    await expect(store.put('dir/child/deeper', Buffer.from('x'))).rejects.toThrow();
    expect(await tmpFiles()).toEqual([]);
    expect(await store.list('')).toEqual(['dir/child']);
  });

  it('concurrent writers of one key leave one whole object, never a mix', async () => {
    const big = (c: number) => Buffer.alloc(1 << 20, c);
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.put('k', big(i))));
    const got = await store.get('k');
    expect(got.length).toBe(1 << 20);
    expect(got.every((b) => b === got[0])).toBe(true);
    expect(await tmpFiles()).toEqual([]);
  });

  it('uri is a file:// URL of the local path', async () => {
    await store.put('with space/ü.txt', Buffer.from('x'));
    const uri = store.uri('with space/ü.txt');
    expect(uri.startsWith('file:///')).toBe(true);
    expect(uri).toContain('with%20space');
    expect(fileURLToPath(uri)).toBe(store.localPath('with space/ü.txt'));
    expect((await stat(fileURLToPath(uri))).isFile()).toBe(true);
  });
});
