/**
 * s3:// data sources. DuckDB cannot read S3 here (httpfs is not bundled and the platform runs
 * offline), so a source's objects are staged into the local cache and DuckDB reads the copies.
 *
 * A staged table is `<cache>/lake/<hash of URI>/<hash of listing>/`: the listing (keys,
 * ETags, sizes) names the snapshot, so a changed lake stages a new one while readers of the
 * old one are undisturbed. Files are hard links to the per-object cache (local-cache.ts), so
 * an unchanged object is downloaded once. Relative paths are kept: hive folders such as
 * `date=2026-10-01/` still become columns.
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, link, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { cachedVersion, fileExists, getCacheRoot, mapLimit } from '../stores/object/local-cache';
import {
  createS3Client,
  describeS3Error,
  downloadS3,
  listS3,
  parseS3Uri,
  s3ErrorCode,
  type S3Listing,
  type S3Settings,
} from '../stores/object/s3-store';

/** A lake problem the user can fix (missing bucket, no files, access denied). */
export class S3LakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3LakeError';
  }
}

let settings: S3Settings | undefined;
let client: S3Client | undefined;

/**
 * The S3 settings lake reads use: the platform passes the object store's (same endpoint and
 * credentials). Unset, PLINTH_S3_ENDPOINT / PLINTH_S3_REGION and the AWS chain apply.
 */
export function configureLakeS3(s: S3Settings): void {
  if (settings && JSON.stringify(settings) === JSON.stringify(s)) return;
  settings = s;
  // Not destroyed: a staging in flight may still hold it; idle sockets close on their own.
  client = undefined;
}

function lakeClient(): S3Client {
  client ??= createS3Client(
    settings ?? {
      endpoint: process.env.PLINTH_S3_ENDPOINT || undefined,
      region: process.env.PLINTH_S3_REGION || process.env.AWS_REGION || undefined,
    },
  );
  return client;
}

const hash = (s: string, n = 32) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** Spark and Hive keep work in progress and markers under `_x` and `.x` names: not table data. */
const hidden = (rel: string) => rel.split('/').some((s) => s.startsWith('_') || s.startsWith('.'));

/**
 * Stages the table at `uri` (one object, or every `.<ext>` object under it as a folder) and
 * returns the local file or folder DuckDB should read.
 */
export async function stageS3Table(uri: string, ext: string): Promise<string> {
  let bucket: string;
  let prefix: string;
  try {
    ({ bucket, prefix } = parseS3Uri(uri));
  } catch (e) {
    throw new S3LakeError((e as Error).message);
  }
  const s3 = lakeClient();
  // The lake may change between listing and download (If-Match fails): list again.
  for (let attempt = 0; ; attempt++) {
    try {
      return await stageOnce(s3, uri, bucket, prefix, ext);
    } catch (err) {
      if (attempt < 2 && s3ErrorCode(err).code === 'PreconditionFailed') continue;
      if (err instanceof S3LakeError || s3ErrorCode(err).status === undefined) throw err;
      throw lakeError(uri, bucket, err);
    }
  }
}

/**
 * S3's 4xx answers (missing bucket, access denied) are the user's to fix: an S3LakeError, which
 * becomes a DataSourceError that is not retried. 5xx and network errors pass on as plain errors,
 * so a job retries them.
 */
function lakeError(uri: string, bucket: string, err: unknown): Error {
  const { status } = s3ErrorCode(err);
  const message = describeS3Error(uri, bucket, err);
  return status !== undefined && status >= 400 && status < 500
    ? new S3LakeError(message)
    : new Error(message, { cause: err });
}

async function stageOnce(s3: S3Client, uri: string, bucket: string, prefix: string, ext: string): Promise<string> {
  let objects: S3Listing[];
  try {
    objects = await listS3(s3, bucket, prefix);
  } catch (err) {
    throw lakeError(uri, bucket, err);
  }
  const fetch = (o: S3Listing) =>
    cachedVersion(`s3://${bucket}/${o.key}`, `${o.etag}:${o.size}`, path.posix.basename(o.key), (file) =>
      downloadS3(s3, bucket, o.key, file, o.etag),
    );

  // A URI ending in "/" is a folder even if an object has the same name without it.
  const single = uri.endsWith('/') ? undefined : objects.find((o) => o.key === prefix);
  if (single) return fetch(single);

  const base = prefix ? `${prefix}/` : '';
  const under = objects.filter((o) => o.key.startsWith(base));
  const files = under
    .filter((o) => o.key.toLowerCase().endsWith(`.${ext}`))
    .map((o) => ({ o, rel: o.key.slice(base.length) }))
    .filter(({ rel }) => !hidden(rel));
  if (files.length === 0) {
    throw new S3LakeError(
      under.length === 0 ? `nothing found at ${uri}` : `no .${ext} files under ${uri} (${under.length} other objects)`,
    );
  }
  for (const { rel } of files) {
    // Keys become local paths: nothing may climb out of the staging folder.
    if (rel.split('/').some((s) => s === '' || s === '..') || rel.includes('\\') || rel.includes('\0'))
      throw new S3LakeError(`s3://${bucket}/${base}${rel}: this object key cannot be staged as a local file`);
  }

  const tableDir = path.join(getCacheRoot(), 'lake', hash(`s3://${bucket}/${prefix}`));
  const snapshot = path.join(tableDir, hash(JSON.stringify(files.map(({ o, rel }) => [rel, o.etag, o.size]))));
  if (await fileExists(snapshot)) return snapshot;

  const tmp = path.join(tableDir, `.tmp-${randomUUID()}`);
  try {
    await mapLimit(files, 4, async ({ o, rel }) => {
      const cached = await fetch(o);
      const target = path.join(tmp, ...rel.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      // A hard link costs no space; across filesystems, a copy.
      await link(cached, target).catch(() => copyFile(cached, target));
    });
    try {
      await rename(tmp, snapshot);
    } catch (err) {
      // Another job staged the same snapshot first: theirs is as good as ours.
      if (!(await fileExists(snapshot))) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return snapshot;
}
