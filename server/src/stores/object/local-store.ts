import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectStat, ObjectStore } from '../types';

/** Thrown by `get` for a key with no object; `code` matches Node's for callers that check it. */
export class ObjectNotFoundError extends Error {
  readonly code = 'ENOENT';
  constructor(
    readonly key: string,
    message = `object not found: ${key}`,
  ) {
    super(message);
    this.name = 'ObjectNotFoundError';
  }
}

/** Temporary files live here, inside the root so the final rename never crosses filesystems. */
const TMP_DIR = '.tmp';

/**
 * Object store on a local directory (embedded mode). Key `a/b/c.parquet` is the file
 * `<root>/a/b/c.parquet`, so DuckDB reads objects in place. Writes go to `<root>/.tmp/`, are
 * fsynced, then renamed over the target: readers see the old object or the new one, never part.
 */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    await this.commit(target, async (tmp) => {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  /** Copies (never moves) `localPath` in: the caller's file stays where it was. */
  async putFile(key: string, localPath: string): Promise<void> {
    const target = this.pathOf(key);
    await this.commit(target, async (tmp) => {
      await copyFile(localPath, tmp, fsConstants.COPYFILE_EXCL);
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'EISDIR') || isCode(err, 'ENOTDIR')) {
        throw new ObjectNotFoundError(key);
      }
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return false;
      throw err;
    }
  }

  /**
   * Keys starting with `prefix` (a plain string prefix, as in S3: `a/b` matches `a/b/c` and
   * `a/bc`), sorted. Only the directory the prefix points into is walked.
   */
  async list(prefix: string): Promise<string[]> {
    if (prefix !== '') validateKeyPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const out: string[] = [];
    await this.walk(baseKey, prefix, out);
    return out.sort();
  }

  async stat(key: string): Promise<ObjectStat | null> {
    try {
      const s = await stat(this.pathOf(key));
      if (!s.isFile()) return null;
      return { size: s.size, version: `${s.size}-${s.mtimeMs}`, lastModified: s.mtime };
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return null;
      throw err;
    }
  }

  /** Deleting a missing key is not an error (as in S3). Empty parent directories go too. */
  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return;
      throw err;
    }
    await this.pruneEmptyDirs(dirname(path));
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  uri(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  private pathOf(key: string): string {
    validateKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** Writes via `fill(tmp)`, then renames onto `target`; the temp file never outlives a failure. */
  private async commit(target: string, fill: (tmp: string) => Promise<void>): Promise<void> {
    const tmpDir = join(this.root, TMP_DIR);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomUUID());
    try {
      await fill(tmp);
      // Retry: a concurrent delete may prune the parent directory between mkdir and rename.
      for (let attempt = 0; ; attempt++) {
        await mkdir(dirname(target), { recursive: true });
        try {
          await rename(tmp, target);
          break;
        } catch (err) {
          if (!isCode(err, 'ENOENT') || attempt >= 5) throw err;
        }
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncDir(dirname(target)); // make the rename itself durable
  }

  private async walk(dirKey: string, prefix: string, out: string[]): Promise<void> {
    const dir = dirKey === '' ? this.root : join(this.root, ...dirKey.split('/'));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return;
      throw err;
    }
    for (const e of entries) {
      if (dirKey === '' && e.name === TMP_DIR) continue;
      const key = dirKey === '' ? e.name : `${dirKey}/${e.name}`;
      if (e.isDirectory()) {
        // Descend only where keys could still match the prefix.
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await this.walk(key, prefix, out);
      } else if (e.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  private async pruneEmptyDirs(dir: string): Promise<void> {
    while (dir !== this.root && dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      dir = dirname(dir);
    }
  }
}

function fail(key: string, why: string): never {
  throw new Error(`invalid object key ${JSON.stringify(key)}: ${why}`);
}

/** Keys are relative, slash-separated, and cannot escape the root or hit the temp area. */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) fail(String(key), 'must be a non-empty string');
  validateKeyPrefix(key);
  if (key.endsWith('/')) fail(key, 'must not end with "/"');
}

/** A `list` prefix: like a key, but it may be empty or end with "/". */
export function validateKeyPrefix(key: string): void {
  if (key.includes('\\')) fail(key, 'backslashes are not allowed');
  if (key.includes('\0')) fail(key, 'NUL characters are not allowed');
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) fail(key, 'must be relative, not absolute');
  const segments = key.split('/');
  // A prefix may end with "/" (e.g. "runs/"): its last, empty segment is allowed.
  segments.forEach((s, i) => {
    if (s === '' && i !== segments.length - 1) fail(key, 'empty path segment');
    if (s === '..' || s === '.') fail(key, `"${s}" segments are not allowed`);
  });
  if (segments[0] === TMP_DIR) fail(key, `"${TMP_DIR}/" is reserved for in-flight writes`);
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the data itself is already synced.
  }
}
