import {
  problem,
  ProblemError,
  type Entity,
  type FeatureStatus,
  type FeatureView,
  type FieldError,
} from '@plinth/schema';
import type { OnlineStore } from '../stores/types';
import { encodeEntityKey } from '../stores/online/entity-key';

/** What reading a view online needs: its join keys (typed), TTL and features. */
export interface ServingView {
  name: string;
  joinKeys: { name: string; type: 'int32' | 'int64' | 'string' }[];
  ttlSeconds: number;
  features: Set<string>;
}

export function servingView(view: FeatureView, entities: Entity[]): ServingView {
  return {
    name: view.name,
    joinKeys: entities.flatMap((e) => e.joinKeys),
    ttlSeconds: view.ttlSeconds ?? 0,
    features: new Set(view.features.map((f) => f.name)),
  };
}

export interface FeatureRef {
  view: string;
  feature: string;
}

export type OnlineValue = number | string | boolean | null;

export interface OnlineResultRow {
  values: Record<string, OnlineValue>;
  statuses: Record<string, FeatureStatus>;
}

/** JSON Pointer of join key `key` of instance `i` in the request document. */
export type KeyPointer = (i: number, key: string) => string;

/** Reads one join key of one instance, checking its type; errors name `pointer`. */
function keyValue(
  instance: Record<string, unknown>,
  key: ServingView['joinKeys'][number],
  pointer: string,
  errors: FieldError[],
): string | number | bigint | null {
  const v = instance[key.name];
  if (v === undefined || v === null) {
    errors.push({ pointer, detail: `join key '${key.name}' is required` });
    return null;
  }
  if (key.type === 'string') {
    if (typeof v !== 'string') errors.push({ pointer, detail: `join key '${key.name}' must be a string` });
    return typeof v === 'string' ? v : null;
  }
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    errors.push({ pointer, detail: `join key '${key.name}' must be an integer (${key.type})` });
    return null;
  }
  return v;
}

/**
 * Reads features of many entities from the online store: one lookup per view for all
 * entities. Values older than the view's TTL come back as null with status 'expired'.
 * Key errors name `/instances/<i>/<key>` unless `pointer` maps them to the request's shape.
 */
export async function readOnlineFeatures(
  online: OnlineStore,
  views: Map<string, ServingView>,
  refs: FeatureRef[],
  instances: Record<string, unknown>[],
  opts: { pointer?: KeyPointer; now?: number } = {},
): Promise<OnlineResultRow[]> {
  const now = opts.now ?? Date.now();
  const pointer: KeyPointer = opts.pointer ?? ((i, key) => `/instances/${i}/${key}`);
  const errors: FieldError[] = [];
  const byView = new Map<string, FeatureRef[]>();
  for (const r of refs) {
    const v = views.get(r.view);
    if (!v) throw new ProblemError(problem(404, 'Not found', `feature view '${r.view}' does not exist`));
    if (!v.features.has(r.feature))
      throw new ProblemError(problem(404, 'Not found', `feature view '${r.view}' has no feature '${r.feature}'`));
    byView.set(r.view, [...(byView.get(r.view) ?? []), r]);
  }
  const out: OnlineResultRow[] = instances.map(() => ({ values: {}, statuses: {} }));
  const lookups: { view: ServingView; refs: FeatureRef[]; keys: string[] }[] = [];
  for (const [name, vrefs] of byView) {
    const view = views.get(name) as ServingView;
    const keys = instances.map((inst, i) => {
      const parts = view.joinKeys.map((k) => keyValue(inst, k, pointer(i, k.name), errors));
      return parts.some((x) => x === null) ? '' : encodeEntityKey(parts as (string | number | bigint)[]);
    });
    lookups.push({ view, refs: vrefs, keys });
  }
  if (errors.length) {
    // The same missing key is reported once per view otherwise.
    const unique = [...new Map(errors.map((e) => [e.pointer + e.detail, e])).values()];
    throw new ProblemError(problem(400, 'Invalid entity keys', 'some entities lack valid join keys', unique));
  }
  for (const { view, refs: vrefs, keys } of lookups) {
    const rows = await online.read(view.name, keys);
    rows.forEach((row, i) => {
      const expired = row !== null && view.ttlSeconds > 0 && row.eventTs + view.ttlSeconds * 1000 < now;
      for (const r of vrefs) {
        const name = `${r.view}:${r.feature}`;
        const v = row && !expired ? (row.values[r.feature] as OnlineValue | undefined) : undefined;
        out[i].values[name] = v ?? null;
        out[i].statuses[name] = row === null ? 'not_found' : expired ? 'expired' : 'present';
      }
    });
  }
  return out;
}

/** Parses `view:feature` references; errors name `/features/<i>`. */
export function parseFeatureRefs(refs: unknown): FeatureRef[] {
  if (!Array.isArray(refs) || refs.length === 0) {
    throw new ProblemError(
      problem(400, 'Invalid request', 'features must be a non-empty list', [
        { pointer: '/features', detail: 'must be a non-empty list of view:feature' },
      ]),
    );
  }
  return refs.map((r, i) => {
    const m = typeof r === 'string' ? /^([a-z][a-z0-9_]*):([a-z][a-z0-9_]*)$/.exec(r) : null;
    if (!m)
      throw new ProblemError(
        problem(400, 'Invalid request', `features[${i}] is not view:feature`, [
          { pointer: `/features/${i}`, detail: 'must look like view:feature' },
        ]),
      );
    return { view: m[1], feature: m[2] };
  });
}
