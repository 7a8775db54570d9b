import type { ObjectStore } from '../stores/types';

/**
 * The committed offline data of one view version. Readers go through this manifest only, so
 * a file written by a run that has not committed (or failed) is never read.
 */
export interface OfflineManifest {
  view: string;
  version: number;
  kind: 'feature-view' | 'label-view';
  /** Object-store keys of the committed Parquet files, in commit order (point-in-time ties use it). */
  files: string[];
  /** The same files with the event-time range each covers; absent in manifests of older releases. */
  parts?: OfflinePart[];
  rows: number;
  lastEventTime: string | null;
  committedAt: string;
}

/**
 * One committed Parquet file and the event-time range [start, end) its run covered (null: open).
 * A later run over an overlapping range replaces the overlap, so re-running a backfill never
 * duplicates rows.
 */
export interface OfflinePart {
  key: string;
  start: string | null;
  end: string | null;
  rows: number;
  /** Size of the Parquet file; absent in manifests of older releases. */
  bytes?: number;
  lastEventTime: string | null;
}

/** The manifest's parts; files of an older manifest count as parts covering all time. */
export function partsOf(m: OfflineManifest): OfflinePart[] {
  return (
    m.parts ??
    m.files.map((key, i) => ({
      key,
      start: null,
      end: null,
      rows: i === 0 && m.files.length === 1 ? m.rows : 0,
      lastEventTime: m.lastEventTime,
    }))
  );
}

export const offlinePrefix = (view: string, version: number) => `offline/${view}/v${version}`;
const manifestKey = (view: string, version: number) => `${offlinePrefix(view, version)}/_manifest.json`;

export async function readOfflineManifest(
  objects: ObjectStore,
  view: string,
  version: number,
): Promise<OfflineManifest | null> {
  const key = manifestKey(view, version);
  if (!(await objects.exists(key))) return null;
  return JSON.parse((await objects.get(key)).toString('utf8')) as OfflineManifest;
}

export async function commitOfflineManifest(objects: ObjectStore, m: OfflineManifest): Promise<void> {
  await objects.put(manifestKey(m.view, m.version), Buffer.from(JSON.stringify(m, null, 2)));
}

/**
 * Reads the per-run JSON documents under a prefix (statistics, quality reports), newest first
 * by their time field, then job id.
 */
export async function listRunDocuments<T extends { jobId: string }>(
  objects: ObjectStore,
  prefix: string,
  timeOf: (doc: T) => string,
): Promise<T[]> {
  const keys = (await objects.list(prefix)).filter((k) => k.endsWith('.json'));
  const docs = await Promise.all(keys.map(async (k) => JSON.parse((await objects.get(k)).toString('utf8')) as T));
  return docs.sort((x, y) => timeOf(y).localeCompare(timeOf(x)) || y.jobId.localeCompare(x.jobId));
}
