import { LmdbOnlineStore } from './lmdb-store';
import { RedisOnlineStore, type RedisOnlineStoreOptions } from './redis-store';
import type { OnlineStore } from './types';

/** Where the online store lives: the embedded LMDB directory, or Redis (standalone or Cluster). */
export type OnlineStoreConfig =
  { kind: 'lmdb'; path: string } | ({ kind: 'redis' } & Omit<RedisOnlineStoreOptions, 'onEvent'>);

/**
 * Opens the configured online store. Notebooks read features straight from it (no HTTP hop),
 * the way the inference tier does.
 *
 * @example
 * const store = await openOnlineStore({ kind: 'redis', url: 'redis://127.0.0.1:6379' });
 * const rows = await store.read('user_features', [encodeEntityKey([42])], ['clicks_7d', 'country']);
 */
export async function openOnlineStore(
  config: OnlineStoreConfig,
  opts: { readOnly?: boolean; onEvent?: RedisOnlineStoreOptions['onEvent'] } = {},
): Promise<OnlineStore> {
  if (config.kind === 'lmdb') return LmdbOnlineStore.open(config.path, { readOnly: opts.readOnly });
  const { kind: _kind, ...redis } = config;
  return RedisOnlineStore.connect({ ...redis, onEvent: opts.onEvent });
}
