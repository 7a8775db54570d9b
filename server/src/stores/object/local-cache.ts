/**
 * Local copies of remote objects, for DuckDB: it reads local files only here, because its
 * httpfs extension is not bundled and cannot be downloaded at run time (DESIGN.md).
 *
 * A copy lives at `<cache>/objects/<hash of its location>/<hash of its version>/<name>`: a
 * rewritten object has a new version (ETag), so it is fetched again, and a copy is whole or
 * absent (temporary name, then rename). Old versions are not evicted; the cache directory can
 * be deleted whenever no job is running.
 */
import { createHash, randomUUID } from 'node:crypto';
import { access, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../types';
import { ObjectNotFoundError } from './local-store';
import { S3ObjectStore, s3ErrorCode } from './s3-store';

let cacheRoot = path.join(os.tmpdir(), `plinth-cache-${os.userInfo().uid}`);

/** Where this process keeps cached copies; the platform sets `<dataDir>/cache` at start. */
export function setCacheRoot(dir: string): void {
  cacheRoot = path.resolve(dir);
}

export function getCacheRoot(): string {
  return cacheRoot;
}

const hash = (s: string | Buffer, n = 32) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** Whether a file exists (any error counts as no). */
export async function fileExists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * The cached file for version `version` of the object at `location`; `fill(file)` fetches it
 * when missing and must create `file` atomically.
 */
export async function cachedVersion(
  location: string,
  version: string,
  name: string,
  fill: (file: string) => Promise<void>,
): Promise<string> {
  const file = path.join(cacheRoot, 'objects', hash(location), hash(version, 16), name);
  if (await fileExists(file)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  await fill(file);
  return file;
}

/**
 * A local file with the content of `key`: the store's own path when it has one (local
 * directory), else a cached copy of the object's current version.
 */
export async function localFile(store: ObjectStore, key: string): Promise<string> {
  const direct = store.localPath(key);
  if (direct !== null) return direct;
  const location = store.uri(key);
  const name = path.posix.basename(key);
  // The object may be rewritten between stat and download; the download then fails its
  // If-Match and the newer version is fetched.
  for (let attempt = 0; ; attempt++) {
    const st = store.stat ? await store.stat(key) : null;
    if (store.stat && !st) throw new ObjectNotFoundError(key, `object not found: ${location}`);
    try {
      if (st && store instanceof S3ObjectStore) {
        return await cachedVersion(location, st.version, name, (file) => store.download(key, file, st.version));
      }
      // A store without versions: fetch the bytes and key the copy on their hash.
      const data = await store.get(key);
      return await cachedVersion(location, hash(data), name, async (file) => {
        const tmp = `${file}.tmp-${randomUUID()}`;
        try {
          await writeFile(tmp, data, { flag: 'wx' });
          await rename(tmp, file);
        } catch (err) {
          await unlink(tmp).catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      if (attempt >= 2 || s3ErrorCode((err as Error).cause ?? err).code !== 'PreconditionFailed') throw err;
    }
  }
}

/** `localFile` of many keys (a few downloads at a time), as a map from key to local path in key order. */
export async function localFiles(store: ObjectStore, keys: string[], concurrency = 4): Promise<Map<string, string>> {
  const unique = [...new Set(keys)];
  const files = await mapLimit(unique, concurrency, (key) => localFile(store, key));
  return new Map(unique.map((k, i) => [k, files[i]]));
}

/**
 * `fn` over `items`, at most `limit` at a time, results in order. After a failure no new item
 * starts, and the first error is thrown once the running ones have settled, so a caller's
 * cleanup never races work still in flight.
 */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return out;
}
