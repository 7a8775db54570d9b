/**
 * Local copies of s3:// files for the notebook, which reads Parquet with DuckDB and DuckDB
 * cannot read S3 here (its httpfs extension is not bundled; the platform runs offline).
 *
 * The S3 connection is configured like the server's: PLINTH_S3_ENDPOINT (an S3-compatible
 * server, path-style addressing), PLINTH_S3_REGION or AWS_REGION (default us-east-1), and the
 * standard AWS credential chain (AWS_ACCESS_KEY_ID..., profiles, roles). Copies are cached in
 * PLINTH_CACHE_DIR (default `<tmp>/plinth-kernel-cache-<uid>`) by ETag, so an unchanged file
 * is downloaded once and a rewritten one again; each appears whole (temporary name, rename).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';

type S3 = typeof import('@aws-sdk/client-s3');

let cached: { key: string; client: S3Client } | undefined;

/** Loaded on first use: a notebook that never reads S3 does not pay for the SDK. */
function s3(): S3 {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-s3') as S3;
}

/** One client per configuration; the environment is read each time, so a changed setting applies. */
function client(): S3Client {
  const endpoint = process.env.PLINTH_S3_ENDPOINT || undefined;
  const region = process.env.PLINTH_S3_REGION || process.env.AWS_REGION || 'us-east-1';
  const key = JSON.stringify([endpoint, region]);
  if (cached?.key !== key) {
    cached = {
      key,
      client: new (s3().S3Client)({
        region,
        endpoint,
        forcePathStyle: !!endpoint,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    };
  }
  return cached.client;
}

function parse(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m || m[2].endsWith('/')) throw new Error(`cannot read ${uri}: expected s3://bucket/key of a file`);
  return { bucket: m[1], key: m[2] };
}

function describe(uri: string, bucket: string, err: unknown): Error {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e?.name ?? 'Error';
  if (code === 'NoSuchBucket') return new Error(`cannot read ${uri}: bucket '${bucket}' does not exist`);
  if (code === 'NotFound' || code === 'NoSuchKey') return new Error(`cannot read ${uri}: no such object`);
  if (code === 'AccessDenied' || e?.$metadata?.httpStatusCode === 403)
    return new Error(`cannot read ${uri}: access denied (check the AWS credentials)`);
  return new Error(`cannot read ${uri}: ${code}${e?.message && e.message !== code ? `: ${e.message}` : ''}`);
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** The directory copies go to. */
export function s3CacheDir(): string {
  return process.env.PLINTH_CACHE_DIR || path.join(os.tmpdir(), `plinth-kernel-cache-${os.userInfo().uid}`);
}

/**
 * A local file with the current content of an s3:// object, downloading it unless the cache
 * already holds this version.
 *
 * @example
 * const file = await s3LocalFile('s3://ml-data/example-sets/clicks_train/v3/part-0.parquet');
 */
export async function s3LocalFile(uri: string): Promise<string> {
  const { bucket, key } = parse(uri);
  const { HeadObjectCommand, GetObjectCommand } = s3();
  const c = client();
  // Retried when the object is rewritten between the HEAD and the GET (If-Match fails).
  for (let attempt = 0; ; attempt++) {
    try {
      const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const etag = head.ETag ?? '';
      const version = createHash('sha256').update(`${etag}:${head.ContentLength}`).digest('hex').slice(0, 16);
      const dir = path.join(s3CacheDir(), createHash('sha256').update(uri).digest('hex').slice(0, 32), version);
      const file = path.join(dir, path.posix.basename(key));
      if (await exists(file)) return file;
      await mkdir(dir, { recursive: true });
      const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag || undefined }));
      const tmp = `${file}.tmp-${randomUUID()}`;
      try {
        await pipeline(got.Body as Readable, createWriteStream(tmp, { flags: 'wx' }));
        if (got.ContentLength !== undefined && (await stat(tmp)).size !== got.ContentLength)
          throw new Error(`cannot read ${uri}: the download ended early`);
        await rename(tmp, file);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
      return file;
    } catch (err) {
      if (attempt < 2 && (err as { name?: string })?.name === 'PreconditionFailed') continue;
      if ((err as { $metadata?: unknown })?.$metadata) throw describe(uri, bucket, err);
      throw err;
    }
  }
}
