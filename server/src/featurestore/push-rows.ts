import { encodeEntityKey, type OnlineWrite } from '@plinth/kernel-lib';
import type { Entity, FeatureView, FieldError } from '@plinth/schema';

/** What checking a pushed row needs: the view's typed join keys, timestamp column and features. */
export interface PushTarget {
  view: string;
  joinKeys: { name: string; type: 'int32' | 'int64' | 'string' }[];
  timestampColumn: string;
  features: FeatureView['features'];
  /** Feature names in the order written to the store. */
  featureNames: string[];
}

export function pushTarget(view: FeatureView, entities: Entity[]): PushTarget {
  return {
    view: view.name,
    joinKeys: entities.flatMap((e) => e.joinKeys),
    timestampColumn: view.timestampColumn,
    features: view.features,
    featureNames: view.features.map((f) => f.name),
  };
}

const INT32 = 2 ** 31;

function checkValue(type: string, v: unknown): { value?: unknown; detail?: string } {
  if (v === null || v === undefined) return { value: null };
  switch (type) {
    case 'int32':
      return Number.isInteger(v) && Math.abs(v as number) <= INT32
        ? { value: v }
        : { detail: `must be an int32 integer, got ${JSON.stringify(v)}` };
    case 'int64':
      return Number.isSafeInteger(v) ? { value: v } : { detail: `must be an integer, got ${JSON.stringify(v)}` };
    case 'float32':
    case 'float64':
      return typeof v === 'number' && Number.isFinite(v)
        ? { value: v }
        : { detail: `must be a finite number, got ${JSON.stringify(v)}` };
    case 'bool':
      return typeof v === 'boolean' ? { value: v } : { detail: `must be true or false, got ${JSON.stringify(v)}` };
    case 'string':
      return typeof v === 'string' ? { value: v } : { detail: `must be a string, got ${JSON.stringify(v)}` };
    case 'timestamp': {
      const t = parseTimestamp(v);
      return t === null ? { detail: 'must be an ISO 8601 time or epoch milliseconds' } : { value: t };
    }
    default:
      return { detail: `has unsupported type ${type}` };
  }
}

/** An ISO 8601 string or epoch milliseconds, as epoch milliseconds; null when neither. */
export function parseTimestamp(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/**
 * Checks one pushed row (an HTTP push row or a stream message) against the view: join keys
 * of the right type, the timestamp column, known features of the right type. Absent features
 * are written as null, like a row of the view's SQL with a NULL there. Errors name
 * `<pointer>/<field>`.
 */
export function parsePushRow(
  target: PushTarget,
  row: unknown,
  pointer: string,
): { write: OnlineWrite; errors: [] } | { write?: undefined; errors: FieldError[] } {
  if (row === null || typeof row !== 'object' || Array.isArray(row))
    return { errors: [{ pointer, detail: 'must be an object of join keys, timestamp and features' }] };
  const r = row as Record<string, unknown>;
  const errors: FieldError[] = [];
  const key: (string | number)[] = [];
  for (const k of target.joinKeys) {
    const v = r[k.name];
    const ok = k.type === 'string' ? typeof v === 'string' : Number.isSafeInteger(v);
    if (v === undefined || v === null) errors.push({ pointer: `${pointer}/${k.name}`, detail: 'join key is required' });
    else if (!ok)
      errors.push({
        pointer: `${pointer}/${k.name}`,
        detail: `join key must be ${k.type === 'string' ? 'a string' : `an integer (${k.type})`}, got ${JSON.stringify(v)}`,
      });
    else key.push(v as string | number);
  }
  const eventTs = parseTimestamp(r[target.timestampColumn]);
  if (eventTs === null)
    errors.push({
      pointer: `${pointer}/${target.timestampColumn}`,
      detail:
        r[target.timestampColumn] === undefined
          ? 'the timestamp column is required'
          : 'must be an ISO 8601 time or epoch milliseconds',
    });
  const known = new Set([...target.joinKeys.map((k) => k.name), target.timestampColumn, ...target.featureNames]);
  for (const name of Object.keys(r))
    if (!known.has(name))
      errors.push({ pointer: `${pointer}/${name}`, detail: `view '${target.view}' has no feature '${name}'` });
  const values = target.features.map((f) => {
    const { value, detail } = checkValue(f.type, r[f.name]);
    if (detail) errors.push({ pointer: `${pointer}/${f.name}`, detail: `feature '${f.name}' (${f.type}) ${detail}` });
    return value;
  });
  if (errors.length) return { errors };
  return { write: { entityKey: encodeEntityKey(key), eventTs: eventTs as number, values }, errors: [] };
}
