import { open, type Database, type RootDatabase } from 'lmdb';
import {
  newestPerEntity,
  requireRows,
  requireView,
  type OnlineBatch,
  type OnlineRow,
  type OnlineStore,
  type ViewSize,
  type WriteResult,
} from './types';
import { decodeHeader, decodeValues, encodeValue, eventTsOf, Projection, schemaId, schemaIdHex } from './value-codec';

/**
 * Online store in LMDB (embedded mode). Layout (docs/online-store-format.md):
 *
 * - database `values`: key = UTF-8 `<view>` 0x00 `<canonical entity key>`, value = the binary
 *   value of value-codec.ts. A view's rows form one contiguous key range, so deleting a view,
 *   sweeping its TTL or sizing it scans that range only;
 * - database `meta` (MessagePack values): `schema:<view>:<id hex>` = the feature names of a
 *   schema id; `size:<view>` = { entities, bytes }, kept exact inside every write transaction.
 *
 * Writes are synchronous LMDB transactions: read-compare-write of the timestamp guard cannot
 * interleave with another writer, in this process or another.
 */
const DELETE_CHUNK = 10_000;
const SEP = 0x00;

function viewPrefix(view: string): Buffer {
  return Buffer.from(`${view}\u0000`, 'utf8');
}

/** End of a view's key range: the byte after the separator. */
function viewEnd(view: string): Buffer {
  return Buffer.from(`${view}\u0001`, 'utf8');
}

interface SizeRecord {
  entities: number;
  bytes: number;
}

export class LmdbOnlineStore implements OnlineStore {
  readonly description: string;
  private readonly schemas = new Map<string, readonly string[]>();

  private constructor(
    private readonly root: RootDatabase,
    private readonly values: Database<Buffer, Buffer>,
    private readonly meta: Database<unknown, string>,
    private readonly readOnly: boolean,
    path: string,
  ) {
    this.description = `LMDB at ${path}`;
  }

  /**
   * Opens (or creates) the store at `path`. Many processes may open the same path: writers
   * take LMDB's write lock per transaction; readers see every committed write.
   *
   * @example
   * const store = LmdbOnlineStore.open('/home/jovyan/.plinth/online', { readOnly: true });
   * const [row] = await store.read('user_features', [encodeEntityKey([42])], ['clicks_7d']);
   */
  static open(path: string, opts: { readOnly?: boolean } = {}): LmdbOnlineStore {
    const readOnly = opts.readOnly ?? false;
    const root = open({ path, readOnly, maxDbs: 4 });
    const values = root.openDB<Buffer, Buffer>({ name: 'values', keyEncoding: 'binary', encoding: 'binary' });
    const meta = root.openDB<unknown, string>({ name: 'meta' });
    return new LmdbOnlineStore(root, values, meta, readOnly, path);
  }

  async writeBatch(view: string, batch: OnlineBatch): Promise<WriteResult> {
    this.assertWritable();
    requireView(view);
    requireRows(batch);
    const schema = schemaId(batch.features);
    const rows = newestPerEntity(batch.rows);
    const prefix = viewPrefix(view);
    // Keys in byte order: consecutive puts land on neighbouring B-tree pages, which is several
    // times faster than random order for large batches.
    const keyed = rows.map((row) => ({ key: Buffer.concat([prefix, Buffer.from(row.entityKey, 'utf8')]), row }));
    keyed.sort((a, b) => Buffer.compare(a.key, b.key));
    return this.root.transactionSync(() => {
      this.ensureSchema(view, schema, batch.features);
      let written = 0;
      let added = 0;
      let bytes = 0;
      for (const { key, row } of keyed) {
        const current = this.values.getBinaryFast(key);
        let currentLength = 0;
        if (current !== undefined) {
          // Strictly older loses; an equal timestamp is a correction and replaces.
          if (eventTsOf(current) > row.eventTs) continue;
          currentLength = current.length;
        } else added++;
        const value = encodeValue(row.eventTs, schema, row.values);
        this.values.putSync(key, value);
        bytes += value.length - currentLength + (current === undefined ? key.length : 0);
        written++;
      }
      this.addSize(view, added, bytes);
      return { written, skippedOlder: batch.rows.length - written };
    });
  }

  async read(view: string, entityKeys: readonly string[], features: readonly string[]): Promise<(OnlineRow | null)[]> {
    return this.readSync(view, entityKeys, features);
  }

  /**
   * Synchronous read (LMDB reads are memory-mapped lookups, a few microseconds): the
   * inference tier and the latency benchmark call this directly.
   */
  readSync(view: string, entityKeys: readonly string[], features: readonly string[]): (OnlineRow | null)[] {
    requireView(view);
    const prefix = viewPrefix(view);
    const projection = new Projection(features);
    const out = new Array<OnlineRow | null>(entityKeys.length);
    for (let i = 0; i < entityKeys.length; i++) {
      // getBinaryFast returns a buffer reused by the next call: decode it before then.
      const v = this.values.getBinaryFast(Buffer.concat([prefix, Buffer.from(entityKeys[i], 'utf8')]));
      if (v === undefined) {
        out[i] = null;
        continue;
      }
      const h = decodeHeader(v, `${this.description}, view ${view}`);
      const all = decodeValues(v); // before any other LMDB read reuses v's memory
      out[i] = { eventTs: h.eventTs, values: projection.pick(all, h.schema, this.schemaNames(view, h.schema)) };
    }
    return out;
  }

  async deleteView(view: string): Promise<number> {
    this.assertWritable();
    requireView(view);
    const removed = await this.removeWhere(view, () => true);
    await this.meta.transaction(() => {
      for (const key of this.meta.getKeys({ start: `schema:${view}:`, end: `schema:${view};` }))
        this.meta.removeSync(key);
      this.meta.removeSync(`size:${view}`);
    });
    for (const k of [...this.schemas.keys()]) if (k.startsWith(`${view}:`)) this.schemas.delete(k);
    return removed;
  }

  async purgeOlderThan(view: string, beforeTs: number): Promise<number> {
    this.assertWritable();
    requireView(view);
    return this.removeWhere(view, (value) => eventTsOf(value) < beforeTs);
  }

  async size(view: string): Promise<ViewSize> {
    requireView(view);
    const s = this.meta.get(`size:${view}`) as SizeRecord | undefined;
    return { entities: s?.entities ?? 0, bytes: s?.bytes ?? 0 };
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  /** Removes the view's rows `doomed` picks, in chunks: a huge view never becomes one huge transaction. */
  private async removeWhere(view: string, doomed: (value: Buffer) => boolean): Promise<number> {
    let removed = 0;
    let start: Buffer = viewPrefix(view);
    const end = viewEnd(view);
    for (;;) {
      const batch: Buffer[] = [];
      let last: Buffer | undefined;
      let scanned = 0;
      for (const { key, value } of this.values.getRange({ start, end, limit: DELETE_CHUNK })) {
        scanned++;
        last = key;
        if (doomed(value)) batch.push(Buffer.from(key));
      }
      if (batch.length) {
        removed += this.root.transactionSync(() => {
          let n = 0;
          let bytes = 0;
          for (const k of batch) {
            const v = this.values.getBinaryFast(k);
            // Re-checked inside the write transaction: a newer write since the scan survives.
            if (v === undefined || !doomed(v)) continue;
            bytes += v.length + k.length;
            this.values.removeSync(k);
            n++;
          }
          this.addSize(view, -n, -bytes);
          return n;
        });
      }
      if (scanned < DELETE_CHUNK || !last) break;
      start = Buffer.concat([last, Buffer.from([SEP])]); // just after the last key scanned
    }
    return removed;
  }

  /** Inside a write transaction: records a schema id's feature names the first time it is used. */
  private ensureSchema(view: string, schema: number, features: readonly string[]): void {
    const key = `schema:${view}:${schemaIdHex(schema)}`;
    const existing = this.meta.get(key) as string[] | undefined;
    if (!existing) {
      this.meta.putSync(key, [...features]);
      return;
    }
    if (existing.join(',') !== features.join(','))
      throw new Error(`view ${view}: schema id ${schemaIdHex(schema)} already names other features (hash collision)`);
  }

  private schemaNames(view: string, schema: number): readonly string[] {
    const cacheKey = `${view}:${schema}`;
    let names = this.schemas.get(cacheKey);
    if (!names) {
      names = this.meta.get(`schema:${view}:${schemaIdHex(schema)}`) as string[] | undefined;
      if (!names)
        throw new Error(
          `${this.description}: view ${view} has values of schema ${schemaIdHex(schema)} but no such schema`,
        );
      this.schemas.set(cacheKey, names);
    }
    return names;
  }

  private addSize(view: string, entities: number, bytes: number): void {
    if (entities === 0 && bytes === 0) return;
    const key = `size:${view}`;
    const s = (this.meta.get(key) as SizeRecord | undefined) ?? { entities: 0, bytes: 0 };
    this.meta.putSync(key, { entities: s.entities + entities, bytes: s.bytes + bytes });
  }

  private assertWritable(): void {
    if (this.readOnly) throw new Error(`${this.description} was opened read-only`);
  }
}
