import { Packr } from 'msgpackr';

/**
 * The binary value of one entity in one feature view, shared by the LMDB and Redis online
 * stores (docs/online-store-format.md is the written spec):
 *
 * | offset | size | content                                                            |
 * |--------|------|--------------------------------------------------------------------|
 * | 0      | 1    | format version, 1                                                  |
 * | 1      | 8    | event time, epoch milliseconds, float64 little-endian              |
 * | 9      | 4    | schema id, uint32 little-endian (see `schemaId`)                   |
 * | 13     | ...  | MessagePack array: one value per feature of that schema, in order  |
 *
 * Feature names are not repeated in every value: the schema id names a feature list that
 * the store keeps once per view. The event time sits at a fixed offset so the timestamp
 * guard (and TTL sweeps) read it without decoding the values.
 */
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 13;

const packr = new Packr({ useRecords: false });

/** FNV-1a (32 bit) over the UTF-8 of the feature names joined by ','. */
export function schemaId(features: readonly string[]): number {
  const bytes = Buffer.from(features.join(','), 'utf8');
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export const schemaIdHex = (id: number): string => id.toString(16).padStart(8, '0');

export function encodeValue(eventTs: number, schema: number, values: readonly unknown[]): Buffer {
  const body = packr.pack(values);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out[0] = FORMAT_VERSION;
  out.writeDoubleLE(eventTs, 1);
  out.writeUInt32LE(schema, 9);
  body.copy(out, HEADER_BYTES);
  return out;
}

/** Event time of an encoded value, without decoding the rest. */
export function eventTsOf(value: Uint8Array): number {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).readDoubleLE(1);
}

export interface DecodedHeader {
  eventTs: number;
  schema: number;
}

export function decodeHeader(value: Uint8Array, where: string): DecodedHeader {
  const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (b.length < HEADER_BYTES || b[0] !== FORMAT_VERSION) {
    throw new Error(
      `${where}: online value has format ${b[0]} (${b.length} bytes); this Plinth reads format ${FORMAT_VERSION}. ` +
        'Materialize the view again to rewrite it.',
    );
  }
  return { eventTs: b.readDoubleLE(1), schema: b.readUInt32LE(9) };
}

export function decodeValues(value: Uint8Array): unknown[] {
  return packr.unpack(value.subarray(HEADER_BYTES)) as unknown[];
}

/**
 * Maps stored schemas onto the features a caller asked for: `pick(names)[j]` is the index
 * of `wanted[j]` in a value written with `names`, or -1 when that schema lacks it (e.g. a
 * feature added to the view after the entity's last write).
 */
export class Projection {
  private readonly cache = new Map<number, Int32Array>();
  constructor(readonly wanted: readonly string[]) {}

  indexes(schema: number, names: readonly string[]): Int32Array {
    let idx = this.cache.get(schema);
    if (!idx) {
      const at = new Map(names.map((n, i) => [n, i]));
      idx = Int32Array.from(this.wanted, (w) => at.get(w) ?? -1);
      this.cache.set(schema, idx);
    }
    return idx;
  }

  /** The wanted values of one encoded value; `undefined` where its schema lacks a feature. */
  project(value: Uint8Array, schema: number, names: readonly string[]): unknown[] {
    return this.pick(decodeValues(value), schema, names);
  }

  /** The wanted values out of all decoded values of a schema. */
  pick(all: unknown[], schema: number, names: readonly string[]): unknown[] {
    const idx = this.indexes(schema, names);
    const out = new Array<unknown>(idx.length);
    for (let j = 0; j < idx.length; j++) out[j] = idx[j] < 0 ? undefined : all[idx[j]];
    return out;
  }
}
