import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BAD_OBJECT_KEYS } from '../../test-support/object-keys';
import { startS3, type RunningS3 } from '../../test-support/s3';
import { getCacheRoot, localFile, localFiles, setCacheRoot } from './local-cache';
import { LocalObjectStore, ObjectNotFoundError } from './local-store';
import { S3ObjectStore, parseS3Uri } from './s3-store';

const MiB = 1024 * 1024;

let s3: RunningS3;
let root: string;
let n = 0;
/** A fresh prefix per test, so tests never see each other's objects. */
let store: S3ObjectStore;
const newStore = (opts: ConstructorParameters<typeof S3ObjectStore>[1] = {}, prefix = `t${n}/objects`) =>
  new S3ObjectStore(`s3://${s3.bucket}/${prefix}`, { endpoint: s3.endpoint, ...opts });
const pendingUploads = async () =>
  (await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))).Uploads ?? [];

beforeAll(async () => {
  s3 = await startS3();
  root = await mkdtemp(join(tmpdir(), 'plinth-s3-'));
});
afterAll(async () => {
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  n++;
  store = newStore();
});

describe('S3ObjectStore', () => {
  it('put then get returns the same bytes; overwrite replaces; no local path, an s3:// uri', async () => {
    await store.put('views/clicks/part-0.parquet', new Uint8Array([1, 2, 3]));
    expect(await store.get('views/clicks/part-0.parquet')).toEqual(Buffer.from([1, 2, 3]));
    await store.put('views/clicks/part-0.parquet', Buffer.from('second'));
    expect((await store.get('views/clicks/part-0.parquet')).toString()).toBe('second');
    expect(store.localPath('views/clicks/part-0.parquet')).toBeNull();
    expect(store.uri('views/clicks/part-0.parquet')).toBe(
      `s3://${s3.bucket}/t${n}/objects/views/clicks/part-0.parquet`,
    );
    // The key sits under the store's prefix in the bucket.
    expect(await newStore({}, `t${n}`).list('')).toEqual(['objects/views/clicks/part-0.parquet']);
  });

  it('putFile uploads a local file and leaves the source', async () => {
    const src = join(root, 'model.onnx');
    await writeFile(src, 'onnx-bytes');
    await store.putFile('models/m/1/model.onnx', src);
    expect((await store.get('models/m/1/model.onnx')).toString()).toBe('onnx-bytes');
    expect((await readFile(src)).toString()).toBe('onnx-bytes');
    await expect(store.putFile('x', join(root, 'missing'))).rejects.toThrow(/ENOENT/);
    expect(await store.exists('x')).toBe(false);
  });

  it('putFile above the threshold goes up in parts and arrives whole', async () => {
    const big = newStore({ multipartThreshold: 6 * MiB, partSize: 5 * MiB });
    const src = join(root, 'big.bin');
    const data = Buffer.alloc(12 * MiB + 12345);
    for (let i = 0; i + 4 <= data.length; i += 4) data.writeUInt32LE(i, i);
    await writeFile(src, data);
    await big.putFile('big/file.bin', src);
    const st = await big.stat('big/file.bin');
    expect(st?.size).toBe(data.length);
    expect(st?.version).toMatch(/-3$/); // S3's ETag of a 3-part upload
    expect((await big.get('big/file.bin')).equals(data)).toBe(true);
    expect(await pendingUploads()).toEqual([]);
  });

  it('a failed multipart upload is aborted: nothing visible, no parts left behind', async () => {
    // Parts below S3's 5 MiB minimum: the server refuses to complete the upload.
    const bad = newStore({ multipartThreshold: MiB, partSize: MiB });
    const src = join(root, 'three.bin');
    await writeFile(src, Buffer.alloc(3 * MiB, 7));
    await bad.put('kept', Buffer.from('old'));
    await expect(bad.putFile('kept', src)).rejects.toThrow(`s3://${s3.bucket}/t${n}/objects/kept: EntityTooSmall`);
    expect((await bad.get('kept')).toString()).toBe('old');
    await expect(bad.putFile('fresh', src)).rejects.toThrow(/EntityTooSmall/);
    expect(await bad.exists('fresh')).toBe(false);
    expect(await pendingUploads()).toEqual([]);
  });

  it('exists, stat and delete; deleting a missing key is fine; get of a missing key names bucket and key', async () => {
    await store.put('a/b/c', Buffer.from('xyz'));
    expect(await store.exists('a/b/c')).toBe(true);
    expect(await store.exists('a/b')).toBe(false); // a prefix is not an object
    const st = await store.stat('a/b/c');
    expect(st).toMatchObject({ size: 3 });
    expect(st?.version).toMatch(/^[0-9a-f]{32}$/);
    await store.put('a/b/c', Buffer.from('xyw'));
    expect((await store.stat('a/b/c'))?.version).not.toBe(st?.version);
    await store.delete('a/b/c');
    expect(await store.exists('a/b/c')).toBe(false);
    expect(await store.stat('a/b/c')).toBeNull();
    await store.delete('a/b/c');
    await expect(store.get('a/b/c')).rejects.toThrow(ObjectNotFoundError);
    await expect(store.get('a/b/c')).rejects.toThrow(`s3://${s3.bucket}/t${n}/objects/a/b/c: NoSuchKey`);
    await expect(store.get('a')).rejects.toMatchObject({ code: 'ENOENT', key: 'a' });
  });

  it('list returns keys under a string prefix, sorted, and nothing outside the store prefix', async () => {
    for (const k of ['b/2', 'a/x/1', 'a/x/10', 'a/x/2', 'a/xy', 'a/y/1', 'c', 'ab/1']) {
      await store.put(k, Buffer.from(k));
    }
    // A sibling prefix that starts with the same letters is another store.
    await newStore({}, `t${n}/objects2`).put('a/x/1', Buffer.from('other'));
    expect(await store.list('')).toEqual(['a/x/1', 'a/x/10', 'a/x/2', 'a/xy', 'a/y/1', 'ab/1', 'b/2', 'c']);
    expect(await store.list('a/')).toEqual(['a/x/1', 'a/x/10', 'a/x/2', 'a/xy', 'a/y/1']);
    expect(await store.list('a/x')).toEqual(['a/x/1', 'a/x/10', 'a/x/2', 'a/xy']);
    expect(await store.list('a/x/')).toEqual(['a/x/1', 'a/x/10', 'a/x/2']);
    expect(await store.list('a/x/1')).toEqual(['a/x/1', 'a/x/10']);
    expect(await store.list('a')).toEqual(['a/x/1', 'a/x/10', 'a/x/2', 'a/xy', 'a/y/1', 'ab/1']);
    expect(await store.list('zzz/')).toEqual([]);
    expect(await store.list('c/')).toEqual([]);
    expect(await newStore({}, `t${n}/never-written`).list('')).toEqual([]);
  });

  it('list pages past 1000 keys (ListObjectsV2 pagination)', async () => {
    const keys = Array.from({ length: 1234 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((k) => store.put(k, Buffer.from(k))));
    }
    const listed = await store.list('many/');
    expect(listed.length).toBe(1234);
    expect(listed).toEqual([...keys].sort());
  });

  it('rejects bad keys with an error naming the key, touching nothing', async () => {
    for (const [key, why] of BAD_OBJECT_KEYS) {
      await expect(store.put(key, Buffer.from('x')), key).rejects.toThrow(why);
      await expect(store.put(key, Buffer.from('x')), key).rejects.toThrow(`invalid object key ${JSON.stringify(key)}`);
      await expect(store.putFile(key, join(root, 'missing')), key).rejects.toThrow(/invalid object key/);
      await expect(store.get(key), key).rejects.toThrow(/invalid object key/);
      await expect(store.exists(key), key).rejects.toThrow(/invalid object key/);
      await expect(store.delete(key), key).rejects.toThrow(/invalid object key/);
      expect(() => store.localPath(key), key).toThrow(/invalid object key/);
      expect(() => store.uri(key), key).toThrow(/invalid object key/);
    }
    await expect(store.list('../')).rejects.toThrow(/invalid object key/);
    await expect(store.list('/abs')).rejects.toThrow(/absolute/);
    expect(await newStore({}, `t${n}`).list('')).toEqual([]);
  });

  it('rejects bad locations, naming them', () => {
    expect(() => new S3ObjectStore('s3://')).toThrow(/'s3:\/\/' has no bucket/);
    expect(() => new S3ObjectStore('s3:///x')).toThrow(/no bucket/);
    expect(() => new S3ObjectStore('s3://Bad_Bucket/x')).toThrow(/'Bad_Bucket' is not a valid bucket name/);
    expect(() => new S3ObjectStore('http://x/y')).toThrow(/not an s3:\/\/ URI/);
    expect(() => new S3ObjectStore('s3://bucket/a/../b')).toThrow(/"\.\." segments/);
    expect(parseS3Uri('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', prefix: 'a/b' });
    expect(parseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
  });

  it('a missing bucket is named as such by every operation', async () => {
    const gone = new S3ObjectStore('s3://no-such-bucket/p', { endpoint: s3.endpoint });
    const msg = "bucket 'no-such-bucket' does not exist";
    await expect(gone.put('k', Buffer.from('x'))).rejects.toThrow(msg);
    await expect(gone.get('k')).rejects.toThrow(msg);
    await expect(gone.get('k')).rejects.toThrow('s3://no-such-bucket/p/k');
    await expect(gone.exists('k')).rejects.toThrow(msg);
    await expect(gone.list('')).rejects.toThrow(msg);
    await expect(gone.delete('k')).rejects.toThrow(msg);
  });

  it('concurrent writers of one key leave one whole object, never a mix', async () => {
    const big = (c: number) => Buffer.alloc(MiB, c);
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.put('k', big(i))));
    const got = await store.get('k');
    expect(got.length).toBe(MiB);
    expect(got.every((b) => b === got[0])).toBe(true);
  });
});

describe('localFile: local copies of remote objects for DuckDB', () => {
  let previous: string;
  beforeAll(() => {
    previous = getCacheRoot();
    setCacheRoot(join(root, 'cache'));
  });
  afterAll(() => setCacheRoot(previous));

  it('downloads once per version and again after the object changes', async () => {
    await store.put('offline/v/1/part-0.parquet', Buffer.from('one'));
    const first = await localFile(store, 'offline/v/1/part-0.parquet');
    expect(first.startsWith(join(root, 'cache', 'objects'))).toBe(true);
    expect(first.endsWith('part-0.parquet')).toBe(true); // DuckDB sees the real name
    expect((await readFile(first)).toString()).toBe('one');
    expect(await localFile(store, 'offline/v/1/part-0.parquet')).toBe(first);

    // Rewritten behind the store's back: a new ETag, so a new copy.
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: `t${n}/objects/offline/v/1/part-0.parquet`, Body: 'two' }),
    );
    const second = await localFile(store, 'offline/v/1/part-0.parquet');
    expect(second).not.toBe(first);
    expect((await readFile(second)).toString()).toBe('two');
    expect((await readFile(first)).toString()).toBe('one'); // a reader of the old copy is undisturbed

    await expect(localFile(store, 'offline/v/1/missing.parquet')).rejects.toThrow(
      `object not found: s3://${s3.bucket}/t${n}/objects/offline/v/1/missing.parquet`,
    );
  });

  it('many keys at once; a local store needs no copies', async () => {
    await Promise.all(['a', 'b', 'c'].map((k) => store.put(`m/${k}`, Buffer.from(k))));
    const got = await localFiles(store, ['m/a', 'm/b', 'm/c', 'm/a']);
    expect([...got.keys()]).toEqual(['m/a', 'm/b', 'm/c']);
    for (const [k, file] of got) expect((await readFile(file)).toString()).toBe(k.slice(2));

    const local = new LocalObjectStore(join(root, `local-${n}`));
    await local.put('x/y', Buffer.from('z'));
    expect(await localFile(local, 'x/y')).toBe(local.localPath('x/y'));
  });
});
