import type { PlinthClient } from '@plinth/schema';
import {
  parseFeatureRefs,
  readOnlineFeatures,
  servingView,
  type FeatureRef,
  type OnlineReadOptions,
  type OnlineReadResult,
  type ServingView,
} from './read-features';
import type { OnlineStore } from './types';

/**
 * Reads online features straight from the store (LMDB or Redis), with the definitions of the
 * views fetched once from the control plane: the path the inference tier takes, for notebooks
 * that want the same numbers without the HTTP hop.
 *
 * @example
 * const reader = await p.onlineReader({ kind: 'redis', url: 'redis://127.0.0.1:6379' });
 * const { rows } = await reader.get('ranking_features', [{ user_id: 7 }, { user_id: 8 }]);
 * rows[0].statuses; // { 'user_features:clicks_7d': 'present', ... }
 * await reader.close();
 */
export class OnlineFeatureReader {
  private readonly views = new Map<string, Promise<ServingView>>();

  constructor(
    private readonly client: PlinthClient,
    readonly store: OnlineStore,
  ) {}

  /** `features`: `view:feature` references, or a feature service's name. */
  async get(
    features: string | string[],
    instances: Record<string, unknown>[],
    opts: Omit<OnlineReadOptions, 'pointer'> = {},
  ): Promise<OnlineReadResult> {
    const refs = typeof features === 'string' ? await this.serviceRefs(features) : parseFeatureRefs(features);
    const views = new Map<string, ServingView>();
    for (const r of refs) if (!views.has(r.view)) views.set(r.view, await this.view(r.view));
    return readOnlineFeatures(this.store, views, refs, instances, opts);
  }

  /** Forgets cached view definitions (after an apply changed them). */
  refresh(): void {
    this.views.clear();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private view(name: string): Promise<ServingView> {
    let v = this.views.get(name);
    if (!v) {
      v = (async () => {
        const fv = (await this.client.getFeatureView(name)).spec;
        const entities = await Promise.all(fv.entities.map(async (e) => (await this.client.getEntity(e)).spec));
        return servingView(fv, entities);
      })();
      v.catch(() => this.views.delete(name));
      this.views.set(name, v);
    }
    return v;
  }

  private async serviceRefs(name: string): Promise<FeatureRef[]> {
    const svc = (await this.client.getFeatureService(name)).spec;
    const refs: FeatureRef[] = [];
    for (const f of svc.features) {
      const [view, feature] = f.split(':');
      if (feature) refs.push({ view, feature });
      else refs.push(...(await this.client.getFeatureView(view)).spec.features.map((x) => ({ view, feature: x.name })));
    }
    return refs;
  }
}
