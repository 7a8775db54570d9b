import { servingView, type FeatureRef, type ServingView } from '@plinth/kernel-lib';
import { problem, ProblemError, type FeatureService, type FeatureView, type FieldError } from '@plinth/schema';
import type { MetadataStore } from '../stores/types';
import { entitiesOf } from './definitions';
import { pushTarget, type PushTarget } from './push-rows';

export interface ServedView {
  spec: FeatureView;
  version: number;
  serving: ServingView;
  push: PushTarget;
}

/**
 * Feature views and services as serving needs them, cached briefly: a read at 1,000 requests
 * a second must not ask the metadata store each time, and an apply shows within `ttlMs`
 * on every control-plane replica.
 */
export class ServingCatalog {
  private readonly views = new Map<string, { at: number; value: Promise<ServedView | null> }>();
  private readonly services = new Map<string, { at: number; value: Promise<FeatureRef[] | null> }>();

  constructor(
    private readonly meta: MetadataStore,
    private readonly ttlMs = 1000,
  ) {}

  /** The latest version of a feature view, or a 404 problem naming it. */
  async view(name: string): Promise<ServedView> {
    const v = await this.cached(this.views, name, async () => {
      const r = await this.meta.getLatest<FeatureView>('feature-view', name);
      if (!r) return null;
      const entities = await entitiesOf({ meta: this.meta }, r.spec);
      return {
        spec: r.spec,
        version: r.version,
        serving: servingView(r.spec, entities),
        push: pushTarget(r.spec, entities),
      };
    });
    if (!v) throw new ProblemError(problem(404, 'Not found', `feature view '${name}' does not exist`));
    return v;
  }

  /** `view:feature` references of a feature service (`name` or `name@version`); errors name `/featureService`. */
  async service(ref: string): Promise<FeatureRef[]> {
    const refs = await this.cached(this.services, ref, async () => {
      const m = /^([a-z][a-z0-9_]*)(?:@(\d+))?$/.exec(ref);
      if (!m) return null;
      const r = m[2]
        ? await this.meta.getVersion<FeatureService>('feature-service', m[1], Number(m[2]))
        : await this.meta.getLatest<FeatureService>('feature-service', m[1]);
      if (!r) return null;
      const out: FeatureRef[] = [];
      for (const f of r.spec.features) {
        const [view, feature] = f.split(':');
        if (feature) out.push({ view, feature });
        else {
          // A bare view name means all of its features, as they are now.
          const fv = await this.meta.getLatest<FeatureView>('feature-view', view);
          if (fv) out.push(...fv.spec.features.map((x) => ({ view, feature: x.name })));
          else out.push({ view, feature: '' });
        }
      }
      return out;
    });
    if (!refs) {
      const detail = /^[a-z][a-z0-9_]*(@\d+)?$/.test(ref)
        ? `feature service '${ref}' does not exist`
        : 'must be a feature service name, optionally with @version';
      const errors: FieldError[] = [{ pointer: '/featureService', detail }];
      throw new ProblemError(problem(404, 'Not found', detail, errors));
    }
    return refs;
  }

  private cached<T>(
    map: Map<string, { at: number; value: Promise<T> }>,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    const now = Date.now();
    const hit = map.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = load();
    map.set(key, { at: now, value });
    // A failed load is not remembered.
    value.catch(() => map.delete(key));
    if (map.size > 10_000) map.delete(map.keys().next().value as string);
    return value;
  }
}
