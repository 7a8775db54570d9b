import {
  problem,
  ProblemError,
  type Entity,
  type FeatureStatus,
  type FeatureView,
  type FieldError,
  type OnlineValue,
} from '@plinth/schema';
import { encodeEntityKey } from './entity-key';
import { OnlineStoreUnavailableError, type OnlineRow, type OnlineStore } from './types';

/** What reading a view online needs: its join keys (typed), TTL, features and their defaults. */
export interface ServingView {
  name: string;
  joinKeys: { name: string; type: 'int32' | 'int64' | 'string' }[];
  ttlSeconds: number;
  /** Feature name -> declared default (undefined: none). */
  features: Map<string, OnlineValue | undefined>;
}

/**
 * The serving description of a feature view.
 *
 * @example
 * const sv = servingView(viewSpec, [userEntity]);
 */
export function servingView(view: FeatureView, entities: Entity[]): ServingView {
  return {
    name: view.name,
    joinKeys: entities.flatMap((e) => e.joinKeys),
    ttlSeconds: view.ttlSeconds ?? 0,
    features: new Map(view.features.map((f) => [f.name, f.default ?? undefined])),
  };
}

export interface FeatureRef {
  view: string;
  feature: string;
}

export interface OnlineResultRow {
  /** `view:feature` -> value; the declared default (or null) when not present. */
  values: Record<string, OnlineValue>;
  statuses: Record<string, FeatureStatus>;
  /** `view:feature` names whose value is the view's declared default, not a stored value. */
  defaulted?: string[];
}

export interface OnlineReadResult {
  rows: OnlineResultRow[];
  /** True when the latency budget ran out and some views are marked 'timeout'. */
  partial: boolean;
}

/** JSON Pointer of join key `key` of instance `i` in the request document. */
export type KeyPointer = (i: number, key: string) => string;

export interface OnlineReadOptions {
  /** Errors name `/instances/<i>/<key>` unless this maps them to the request's shape. */
  pointer?: KeyPointer;
  /** Clock for TTL checks (epoch ms). */
  now?: number;
  /** Tighter than the views' TTL: values older than this come back 'expired'. */
  maxAgeSeconds?: number;
  /**
   * Answer within this many milliseconds: views not read by then come back 'timeout' (with
   * their defaults) and the result is flagged `partial`.
   */
  budgetMs?: number;
  /**
   * When the store cannot be reached: 'error' (default) throws a 503 problem; 'defaults'
   * answers with status 'unavailable' and the declared defaults.
   */
  onUnavailable?: 'error' | 'defaults';
}

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

const TIMED_OUT = Symbol('timeout');
const UNAVAILABLE = Symbol('unavailable');

/** Online features of many instances, one column per requested reference, in the order asked. */
export interface OnlineColumns {
  /** `view:feature` of each column. */
  names: string[];
  /** Per column, per instance: the value; the declared default (or null) when not present. */
  values: OnlineValue[][];
  statuses: FeatureStatus[][];
  /** True when the latency budget ran out and some views are marked 'timeout'. */
  partial: boolean;
}

/**
 * Reads features of many entities from the online store, N entities x M features of any
 * number of views in one round trip (the views' reads are issued together). Every value has
 * a status: 'present'; 'not_found' (the entity has no row); 'expired' (older than the
 * view's TTL or `maxAgeSeconds`, checked at read time); 'timeout' (budget exhausted);
 * 'unavailable' (store down, with `onUnavailable: 'defaults'`). A value that is not present
 * takes the feature's declared default when there is one, listed in `defaulted`.
 *
 * @example
 * const { rows } = await readOnlineFeatures(store, views, [{ view: 'user_features', feature: 'clicks_7d' }],
 *   [{ user_id: 7 }, { user_id: 8 }], { budgetMs: 5 });
 * rows[0].values['user_features:clicks_7d']; rows[0].statuses['user_features:clicks_7d']; // 'present'
 */
export async function readOnlineFeatures(
  online: OnlineStore,
  views: Map<string, ServingView>,
  refs: FeatureRef[],
  instances: Record<string, unknown>[],
  opts: OnlineReadOptions = {},
): Promise<OnlineReadResult> {
  const c = await readOnlineColumns(online, views, refs, instances, opts);
  // Features with a declared default, which values not present took.
  const hasDefault = refs.map((r) => views.get(r.view)?.features.get(r.feature) !== undefined);
  const rows = instances.map((_, i): OnlineResultRow => {
    const o: OnlineResultRow = { values: {}, statuses: {} };
    for (let j = 0; j < c.names.length; j++) {
      const status = c.statuses[j][i];
      o.values[c.names[j]] = c.values[j][i];
      o.statuses[c.names[j]] = status;
      if (status !== 'present' && hasDefault[j]) (o.defaulted ??= []).push(c.names[j]);
    }
    return o;
  });
  return { rows, partial: c.partial };
}

/**
 * `readOnlineFeatures` by columns: the same reads, statuses and defaults, without an object
 * per instance. The inference tier's form: it feeds columns to the graph.
 *
 * @example
 * const c = await readOnlineColumns(store, views, [{ view: 'user_features', feature: 'clicks_7d' }], [{ user_id: 7 }]);
 * c.names[0]; // 'user_features:clicks_7d'
 * c.values[0][0]; c.statuses[0][0]; // the value of instance 0, and 'present'
 */
export async function readOnlineColumns(
  online: OnlineStore,
  views: Map<string, ServingView>,
  refs: FeatureRef[],
  instances: Record<string, unknown>[],
  opts: OnlineReadOptions = {},
): Promise<OnlineColumns> {
  const now = opts.now ?? Date.now();
  const pointer: KeyPointer = opts.pointer ?? ((i, key) => `/instances/${i}/${key}`);
  const errors: FieldError[] = [];
  // Per view, the columns (indices into refs) it serves.
  const byView = new Map<string, number[]>();
  refs.forEach((r, j) => {
    const v = views.get(r.view);
    if (!v) throw new ProblemError(problem(404, 'Not found', `feature view '${r.view}' does not exist`));
    if (!v.features.has(r.feature))
      throw new ProblemError(problem(404, 'Not found', `feature view '${r.view}' has no feature '${r.feature}'`));
    const list = byView.get(r.view);
    if (list) list.push(j);
    else byView.set(r.view, [j]);
  });
  const lookups: { view: ServingView; cols: number[]; keys: string[] }[] = [];
  for (const [name, cols] of byView) {
    const view = views.get(name) as ServingView;
    const keys = instances.map((inst, i) => {
      const parts = view.joinKeys.map((k) => keyValue(inst, k, pointer(i, k.name), errors));
      return parts.some((x) => x === null) ? '' : encodeEntityKey(parts as (string | number | bigint)[]);
    });
    lookups.push({ view, cols, keys });
  }
  if (errors.length) {
    // The same missing key is reported once per view otherwise.
    const unique = [...new Map(errors.map((e) => [e.pointer + e.detail, e])).values()];
    throw new ProblemError(problem(400, 'Invalid entity keys', 'some entities lack valid join keys', unique));
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  const budget =
    opts.budgetMs !== undefined
      ? new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), opts.budgetMs)))
      : undefined;
  let unavailable: OnlineStoreUnavailableError | undefined;
  const results = await Promise.all(
    lookups.map(async ({ view, cols, keys }) => {
      const read = online
        .read(
          view.name,
          keys,
          cols.map((j) => refs[j].feature),
        )
        .catch((e: unknown) => {
          if (!(e instanceof OnlineStoreUnavailableError)) throw e;
          unavailable = e;
          return UNAVAILABLE;
        });
      return budget ? Promise.race([read, budget]) : read;
    }),
  ).finally(() => clearTimeout(timer));
  if (unavailable && opts.onUnavailable !== 'defaults')
    throw new ProblemError(problem(503, 'Online store unavailable', unavailable.message));

  const n = instances.length;
  const out: OnlineColumns = {
    names: refs.map((r) => `${r.view}:${r.feature}`),
    values: refs.map(() => new Array<OnlineValue>(n)),
    statuses: refs.map(() => new Array<FeatureStatus>(n)),
    partial: false,
  };
  lookups.forEach(({ view, cols }, l) => {
    const got = results[l];
    if (got === TIMED_OUT) out.partial = true;
    const maxAge = Math.min(
      view.ttlSeconds > 0 ? view.ttlSeconds : Infinity,
      opts.maxAgeSeconds !== undefined ? opts.maxAgeSeconds : Infinity,
    );
    const defaults = cols.map((j) => view.features.get(refs[j].feature) ?? null);
    const values = cols.map((j) => out.values[j]);
    const statuses = cols.map((j) => out.statuses[j]);
    // Plain loops: 100 entities x 50 features is 5,000 values, on the inference tier's hot path.
    for (let i = 0; i < n; i++) {
      const row: OnlineRow | null = typeof got === 'symbol' ? null : got[i];
      const expired = row !== null && Number.isFinite(maxAge) && row.eventTs + maxAge * 1000 < now;
      for (let k = 0; k < cols.length; k++) {
        const v = row && !expired ? row.values[k] : undefined;
        let status: FeatureStatus;
        if (got === TIMED_OUT) status = 'timeout';
        else if (got === UNAVAILABLE) status = 'unavailable';
        else if (row === null) status = 'not_found';
        else if (expired) status = 'expired';
        else status = v === undefined ? 'not_found' : 'present';
        values[k][i] = status === 'present' ? (v as OnlineValue) : defaults[k];
        statuses[k][i] = status;
      }
    }
  });
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
