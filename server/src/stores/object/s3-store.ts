import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, stat as fsStat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { ObjectStat, ObjectStore } from '../types';
import { ObjectNotFoundError, validateKey, validateKeyPrefix } from './local-store';

/** How to reach S3 or an S3-compatible server; credentials come from the AWS provider chain. */
export interface S3Settings {
  /** e.g. http://minio:9000; unset means AWS itself. */
  endpoint?: string;
  /** Default us-east-1. */
  region?: string;
  /** Bucket in the path rather than the host name; default: on when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Explicit keys; unset means the standard chain (AWS_* env, profiles, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface S3ObjectStoreOptions extends S3Settings {
  /** Files larger than this go up in parts (default 64 MiB). */
  multipartThreshold?: number;
  /** Part size of multipart uploads (default 16 MiB; S3 wants at least 5 MiB but the last). */
  partSize?: number;
}

const MiB = 1024 * 1024;
/** Parts uploaded at once: bounds memory to about partSize x this. */
const PART_CONCURRENCY = 4;

export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region ?? 'us-east-1',
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle ?? !!settings.endpoint,
    credentials: settings.credentials,
    // S3-compatible servers often lack the newer default request checksums; S3 does not need them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** `s3://bucket/a/b` -> { bucket, prefix: 'a/b' } (no leading or trailing slash). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`'${uri}' is not an s3:// URI`);
  const [, bucket, rest] = m;
  if (!bucket) throw new Error(`'${uri}' has no bucket (expected s3://bucket/optional/prefix)`);
  // S3's naming rules: what AWS and the compatible servers accept.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new Error(`'${uri}': '${bucket}' is not a valid bucket name (3-63 lower-case letters, digits, '.' and '-')`);
  const prefix = rest.replace(/\/+$/, '');
  if (prefix !== '') validateKey(prefix);
  return { bucket, prefix };
}

/** The error's S3 code (NoSuchKey, AccessDenied...) and HTTP status, whatever threw it. */
export function s3ErrorCode(err: unknown): { code: string; status?: number } {
  const e = err as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  // Network failures are plain Errors with a Node code (ECONNREFUSED...).
  const code = e?.Code ?? (e?.name && e.name !== 'Error' ? e.name : undefined) ?? e?.code ?? 'Error';
  return { code, status: e?.$metadata?.httpStatusCode };
}

/** An S3 failure as one line naming the location; missing buckets say so in plain words. */
export function describeS3Error(location: string, bucket: string, err: unknown): string {
  const { code, status } = s3ErrorCode(err);
  if (code === 'NoSuchBucket') return `bucket '${bucket}' does not exist (${location})`;
  if (code === 'AccessDenied' || status === 403) return `${location}: access denied (${code})`;
  const msg = (err as Error)?.message;
  return `${location}: ${code}${msg && msg !== code ? `: ${msg}` : ''}`;
}

export interface S3Listing {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** Every object under `prefix` in `bucket`, paginated through ListObjectsV2, sorted by key. */
export async function listS3(client: S3Client, bucket: string, prefix: string): Promise<S3Listing[]> {
  const out: S3Listing[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? []) {
      if (o.Key === undefined) continue;
      out.push({
        key: o.Key,
        size: o.Size ?? 0,
        etag: unquote(o.ETag ?? ''),
        lastModified: o.LastModified ?? new Date(0),
      });
    }
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Streams one object to `file` through a temporary name and a rename, so the file is whole
 * or absent. With `etag`, fails (PreconditionFailed) if the object has changed since.
 */
export async function downloadS3(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
  etag?: string,
): Promise<void> {
  const r = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag ? `"${etag}"` : undefined }),
  );
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${randomUUID()}`;
  try {
    await pipeline(r.Body as Readable, createWriteStream(tmp, { flags: 'wx' }));
    if (r.ContentLength !== undefined && (await fsStat(tmp)).size !== r.ContentLength)
      throw new Error(`s3://${bucket}/${key}: download ended early`);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

/**
 * Object store on S3 or an S3-compatible server (shared mode): key `k` is the object
 * `<prefix>/k` in the bucket. PutObject and CompleteMultipartUpload are atomic, so readers
 * see the old object or the new one; a failed multipart upload is aborted, leaving nothing.
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly threshold: number;
  private readonly partSize: number;
  private bucketChecked = false;

  /** `location` is `s3://bucket` or `s3://bucket/some/prefix`. */
  constructor(location: string, opts: S3ObjectStoreOptions = {}) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Uri(location));
    this.client = createS3Client(opts);
    this.threshold = opts.multipartThreshold ?? 64 * MiB;
    this.partSize = opts.partSize ?? 16 * MiB;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const k = this.fullKey(key);
    await this.call(key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: k, Body: data })));
  }

  /** Streams a local file up (in parts above the multipart threshold); the file stays. */
  async putFile(key: string, localPath: string): Promise<void> {
    const k = this.fullKey(key);
    const { size } = await fsStat(localPath);
    if (size <= this.threshold) {
      await this.call(key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: k,
            Body: createReadStream(localPath),
            ContentLength: size,
          }),
        ),
      );
      return;
    }
    await this.call(key, () => this.multipart(k, localPath, size));
  }

  async get(key: string): Promise<Buffer> {
    const k = this.fullKey(key);
    return this.call(key, async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k }));
      return Buffer.from(await r.Body!.transformToByteArray());
    });
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async stat(key: string): Promise<ObjectStat | null> {
    const k = this.fullKey(key);
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k }));
      return {
        size: r.ContentLength ?? 0,
        version: unquote(r.ETag ?? ''),
        lastModified: r.LastModified ?? new Date(0),
      };
    } catch (err) {
      // HEAD answers a bare 404 for a missing bucket too: tell the two apart once.
      if (s3ErrorCode(err).status === 404) {
        await this.checkBucket(key);
        return null;
      }
      throw this.wrap(key, err);
    }
  }

  /** Keys starting with `prefix` (a plain string prefix), sorted; paginates past 1000. */
  async list(prefix: string): Promise<string[]> {
    if (prefix !== '') validateKeyPrefix(prefix);
    const base = this.prefix ? `${this.prefix}/` : '';
    const found = await this.call(prefix, () => listS3(this.client, this.bucket, base + prefix));
    return found.map((o) => o.key.slice(base.length)).sort();
  }

  /** Deleting a missing key is not an error (S3's own behaviour). */
  async delete(key: string): Promise<void> {
    const k = this.fullKey(key);
    await this.call(key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k })));
  }

  /** Streams an object to a local file (whole or absent); with `version`, only that version. */
  async download(key: string, file: string, version?: string): Promise<void> {
    const k = this.fullKey(key);
    await this.call(key, () => downloadS3(this.client, this.bucket, k, file, version));
  }

  /** Remote: DuckDB reads a cached copy instead (local-cache.ts). */
  localPath(key: string): null {
    validateKey(key);
    return null;
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }

  private fullKey(key: string): string {
    validateKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private async call<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.wrap(key, err);
    }
  }

  /** SDK errors as errors naming bucket and key; a missing key is an ObjectNotFoundError. */
  private wrap(key: string, err: unknown): Error {
    const { code } = s3ErrorCode(err);
    const location = `s3://${this.bucket}/${this.prefix ? `${this.prefix}/` : ''}${key}`;
    if (code === 'NoSuchKey') return new ObjectNotFoundError(key, `${location}: NoSuchKey (object not found)`);
    const e = new Error(describeS3Error(location, this.bucket, err), { cause: err });
    (e as Error & { code?: string }).code = code;
    return e;
  }

  private async checkBucket(key: string): Promise<void> {
    if (this.bucketChecked) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketChecked = true;
    } catch (err) {
      const { status } = s3ErrorCode(err);
      throw this.wrap(key, status === 404 ? Object.assign(new Error('NoSuchBucket'), { Code: 'NoSuchBucket' }) : err);
    }
  }

  /**
   * CreateMultipartUpload, parts read from the file a few at a time, then Complete: the
   * object appears whole at Complete. Any failure aborts the upload, so no parts linger.
   */
  private async multipart(k: string, localPath: string, size: number): Promise<void> {
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: k }));
    const fh = await open(localPath, 'r');
    try {
      const count = Math.ceil(size / this.partSize);
      const parts: CompletedPart[] = new Array(count);
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (next < count && !failed) {
          const i = next++;
          const offset = i * this.partSize;
          const buf = Buffer.alloc(Math.min(this.partSize, size - offset));
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          if (bytesRead !== buf.length) throw new Error(`${localPath} changed while it was being uploaded`);
          const r = await this.client.send(
            new UploadPartCommand({ Bucket: this.bucket, Key: k, UploadId, PartNumber: i + 1, Body: buf }),
          );
          parts[i] = { PartNumber: i + 1, ETag: r.ETag };
        }
      };
      // Every worker settles before an abort, so no part is still in flight when it runs.
      const settled = await Promise.allSettled(
        Array.from({ length: Math.min(PART_CONCURRENCY, count) }, () =>
          worker().catch((err: unknown) => {
            failed = true;
            throw err;
          }),
        ),
      );
      const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: k,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId }))
        .catch(() => undefined);
      throw err;
    } finally {
      await fh.close();
    }
  }
}
