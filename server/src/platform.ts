import fs from 'node:fs';
import type { PlinthConfig } from './config';
import { openMetadataStore } from './stores/metadata';
import { LmdbOnlineStore } from './stores/online/lmdb-store';
import { LocalObjectStore } from './stores/object/local-store';
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

export async function openPlatform(config: PlinthConfig): Promise<Platform> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const meta = await openMetadataStore(config.metadata);
  const online = LmdbOnlineStore.open(config.onlineStore.path);
  const objects = new LocalObjectStore(config.objectStore.root);
  return {
    config,
    meta,
    online,
    objects,
    registry: new Registry(meta, config.lakeDir),
    async close() {
      await online.close();
      await meta.close();
    },
  };
}
