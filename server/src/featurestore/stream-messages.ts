import type { OnlineStore, OnlineWrite } from '@plinth/kernel-lib';
import type { StreamStatus } from '@plinth/schema';
import { parsePushRow, type PushTarget } from './push-rows';

/** One stream message: its id in the stream (Redis entry id, or Kafka partition/offset) and its row or why it has none. */
export type StreamMessage = { id: string; row: unknown; reason?: undefined } | { id: string; reason: string };

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A text field of a Redis Streams entry as the value its column's type wants; left as text when it is not one. */
function fromText(type: string, text: string): unknown {
  if (type === 'string') return text;
  if (text === '') return null;
  if (type === 'int32' || type === 'int64') return INTEGER.test(text) ? Number(text) : text;
  if (type === 'float32' || type === 'float64') return NUMBER.test(text) ? Number(text) : text;
  if (type === 'bool') return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
  if (type === 'timestamp') return INTEGER.test(text) ? Number(text) : text;
  return text;
}

/**
 * A Redis Streams entry's fields as a row: the JSON object in its `data` field, or else one
 * field per column, text converted by the column's type (`XADD stock * product_id 7 ts
 * 1767225600000 units_left 3`). A text that is not of its type stays text, so the row check
 * names the column.
 */
export function decodeRedisEntry(id: string, fields: string[] | null, target: PushTarget): StreamMessage {
  if (!fields) return { id, reason: 'the entry was deleted from the stream before it was read' };
  const byName = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) byName.set(fields[i], fields[i + 1]);
  if (byName.has('data')) {
    if (byName.size > 1)
      return { id, reason: `an entry with a 'data' field has no other fields, got ${[...byName.keys()].join(', ')}` };
    try {
      return { id, row: JSON.parse(byName.get('data')!) };
    } catch (e) {
      return { id, reason: `data: not JSON (${(e as Error).message})` };
    }
  }
  const types = new Map<string, string>([
    ...target.joinKeys.map((k) => [k.name, k.type] as [string, string]),
    [target.timestampColumn, 'timestamp'],
    ...target.features.map((f) => [f.name, f.type] as [string, string]),
  ]);
  return { id, row: Object.fromEntries([...byName].map(([k, v]) => [k, fromText(types.get(k) ?? 'string', v)])) };
}

/** A Kafka message value (UTF-8 JSON object) as a row. */
export function decodeKafkaValue(id: string, value: Buffer | null): StreamMessage {
  if (value === null || value.length === 0) return { id, reason: 'the message has no value (a tombstone?)' };
  try {
    return { id, row: JSON.parse(value.toString('utf8')) };
  } catch (e) {
    return { id, reason: `value: not JSON (${(e as Error).message})` };
  }
}

/**
 * Checks and writes one batch of stream messages for a view: each row is checked like a
 * pushed row, the newest row per entity is written in one guarded batch (an older value never
 * replaces a newer one), and the messages that do not parse come back with their reason for
 * the dead-letter stream. Throws only when the online store fails (the caller retries the
 * batch; nothing is acknowledged).
 */
export async function writeStreamBatch(
  online: OnlineStore,
  target: PushTarget,
  messages: StreamMessage[],
  status: StreamStatus,
): Promise<{ id: string; reason: string }[]> {
  const dead: { id: string; reason: string }[] = [];
  const newest = new Map<string, OnlineWrite>();
  for (const m of messages) {
    if (m.reason !== undefined) {
      dead.push({ id: m.id, reason: m.reason });
      continue;
    }
    const r = parsePushRow(target, m.row, '');
    if (!r.write) {
      dead.push({
        id: m.id,
        reason: r.errors.map((e) => `${e.pointer.slice(1) || 'message'}: ${e.detail}`).join('; '),
      });
      continue;
    }
    // Two messages for one entity in a batch: the newer wins, a later one on a tie (a correction).
    const seen = newest.get(r.write.entityKey);
    if (!seen || seen.eventTs <= r.write.eventTs) newest.set(r.write.entityKey, r.write);
  }
  const rows = [...newest.values()];
  const written = rows.length
    ? (await online.writeBatch(target.view, { features: target.featureNames, rows })).written
    : 0;
  status.received += messages.length;
  status.written += written;
  status.skippedOlder += messages.length - dead.length - written;
  status.deadLettered += dead.length;
  status.lastMessageAt = new Date().toISOString();
  return dead;
}
