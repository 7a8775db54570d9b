import fs from 'node:fs';
import type { PlinthConfig } from './config';
import { openMetadataStore } from './stores/metadata';
import { openOnlineStore } from '@plinth/kernel-lib';
import { LocalObjectStore } from './stores/object/local-store';
import { S3ObjectStore } from './stores/object/s3-store';
import { setCacheRoot } from './stores/object/local-cache';
import { configureLakeS3 } from './offline/s3-lake';
import type { MetadataStore, ObjectStore, OnlineStore } from './stores/types';
import { Registry } from './registry/registry';

/** The stores of one control plane, opened from configuration. */
export interface Platform {
  config: PlinthConfig;
  meta: MetadataStore;
  online: OnlineStore;
  objects: ObjectStore;
  registry: Registry;
  close(): Promise<void>;
}

/**
 * The configured object store (local directory or S3). Also points this process's cache of
 * remote objects and its s3:// lake reads at the configuration: every process that opens
 * the object store (control plane, worker, inference tier) calls this first.
 */
export function openObjectStore(config: PlinthConfig): ObjectStore {
  setCacheRoot(config.cacheDir);
  configureLakeS3(config.s3);
  return config.objectStore.kind === 's3'
    ? new S3ObjectStore(config.objectStore.location, config.s3)
    : new LocalObjectStore(config.objectStore.root);
}

/** Releases what `openObjectStore` opened (an S3 client's sockets). */
export function closeObjectStore(objects: ObjectStore): void {
  if (objects instanceof S3ObjectStore) objects.close();
}

export async function openPlatform(
  config: PlinthConfig,
  opts: { onOnlineStoreEvent?: (event: string, detail: string) => void } = {},
): Promise<Platform> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const meta = await openMetadataStore(config.metadata);
  const online = await openOnlineStore(config.onlineStore, { onEvent: opts.onOnlineStoreEvent }).catch(async (e) => {
    await meta.close();
    throw e;
  });
  const objects = openObjectStore(config);
  return {
    config,
    meta,
    online,
    objects,
    registry: new Registry(meta, config.lakeDir),
    async close() {
      await online.close();
      await meta.close();
      closeObjectStore(objects);
    },
  };
}
