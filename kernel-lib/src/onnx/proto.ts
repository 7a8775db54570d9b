/**
 * ONNX protobuf messages, declared by hand with protobufjs reflection.
 *
 * Why by hand: ONNX is Plinth's one model format, so the compiler owns its encoding instead of
 * depending on an ONNX-building library. Field numbers, scalar types and packing follow
 * `onnx/onnx.proto` (proto2) exactly; only the subset Plinth writes or reads is declared
 * (sparse tensors, training info, functions, sequence/map types are not), and protobufjs
 * skips undeclared fields when decoding. Field names are camelCase, as protobufjs itself names
 * fields parsed from `.proto` files; names never reach the wire.
 */
import * as protobuf from 'protobufjs';

/** `TensorProto.DataType` values used by Plinth. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;
/** A `TensorProto.DataType` number. */
export type DataTypeValue = number;

/** `AttributeProto.AttributeType` values. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;
/** An `AttributeProto.AttributeType` number. */
export type AttributeTypeValue = (typeof AttributeType)[keyof typeof AttributeType];

/** `StringStringEntryProto`. */
export interface StringStringEntryJson {
  key: string;
  value: string;
}

/** `OperatorSetIdProto`; domain '' (or absent) is the default `ai.onnx` domain. */
export interface OperatorSetIdJson {
  domain?: string;
  version: number;
}

/** `TensorShapeProto.Dimension`: a fixed size (`dimValue`) or a symbolic one (`dimParam`). */
export interface DimensionJson {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

/** `TensorShapeProto`. */
export interface TensorShapeJson {
  dim: DimensionJson[];
}

/** `TypeProto.Tensor`. */
export interface TensorTypeJson {
  elemType: DataTypeValue;
  shape?: TensorShapeJson;
}

/** `TypeProto` (tensor types only). */
export interface TypeJson {
  tensorType?: TensorTypeJson;
  denotation?: string;
}

/** `ValueInfoProto`. */
export interface ValueInfoJson {
  name: string;
  type?: TypeJson;
  docString?: string;
}

/**
 * `TensorProto`. Plinth writes float tensors as little-endian `rawData` and int64 tensors as
 * `int64Data`; decoding returns whichever fields the file used.
 */
export interface TensorJson {
  name?: string;
  dims: number[];
  dataType: DataTypeValue;
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: number[];
  rawData?: Uint8Array;
  doubleData?: number[];
  uint64Data?: number[];
  docString?: string;
}

/** `AttributeProto`; `type` says which one value field is set. */
export interface AttributeJson {
  name: string;
  type: AttributeTypeValue;
  refAttrName?: string;
  docString?: string;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorJson;
  g?: GraphJson;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: TensorJson[];
  graphs?: GraphJson[];
}

/** `NodeProto`. */
export interface NodeJson {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute?: AttributeJson[];
  docString?: string;
}

/** `GraphProto`. */
export interface GraphJson {
  node: NodeJson[];
  name?: string;
  initializer?: TensorJson[];
  docString?: string;
  input: ValueInfoJson[];
  output: ValueInfoJson[];
  valueInfo?: ValueInfoJson[];
}

/** `ModelProto`. */
export interface ModelJson {
  irVersion: number;
  opsetImport: OperatorSetIdJson[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: GraphJson;
  metadataProps?: StringStringEntryJson[];
}

type FieldDef = { type: string; id: number; rule?: 'repeated'; options?: { packed: boolean } };
const opt = (type: string, id: number): FieldDef => ({ type, id });
const rep = (type: string, id: number): FieldDef => ({ type, id, rule: 'repeated' });
// proto2 repeated scalars are unpacked unless marked [packed = true]; protobufjs defaults to
// packed, so every repeated scalar states its packing explicitly.
const packed = (type: string, id: number): FieldDef => ({ ...rep(type, id), options: { packed: true } });
const unpacked = (type: string, id: number): FieldDef => ({ ...rep(type, id), options: { packed: false } });

/** The protobufjs descriptor: field numbers and types as in onnx/onnx.proto (package `onnx`). */
const descriptor = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: opt('string', 1),
            refAttrName: opt('string', 21),
            docString: opt('string', 13),
            type: opt('int32', 20), // enum AttributeType; int32 has the same wire encoding
            f: opt('float', 2),
            i: opt('int64', 3),
            s: opt('bytes', 4),
            t: opt('TensorProto', 5),
            g: opt('GraphProto', 6),
            floats: unpacked('float', 7),
            ints: unpacked('int64', 8),
            strings: rep('bytes', 9),
            tensors: rep('TensorProto', 10),
            graphs: rep('GraphProto', 11),
          },
        },
        ValueInfoProto: {
          fields: { name: opt('string', 1), type: opt('TypeProto', 2), docString: opt('string', 3) },
        },
        NodeProto: {
          fields: {
            input: rep('string', 1),
            output: rep('string', 2),
            name: opt('string', 3),
            opType: opt('string', 4),
            domain: opt('string', 7),
            attribute: rep('AttributeProto', 5),
            docString: opt('string', 6),
          },
        },
        ModelProto: {
          fields: {
            irVersion: opt('int64', 1),
            opsetImport: rep('OperatorSetIdProto', 8),
            producerName: opt('string', 2),
            producerVersion: opt('string', 3),
            domain: opt('string', 4),
            modelVersion: opt('int64', 5),
            docString: opt('string', 6),
            graph: opt('GraphProto', 7),
            metadataProps: rep('StringStringEntryProto', 14),
          },
        },
        StringStringEntryProto: {
          fields: { key: opt('string', 1), value: opt('string', 2) },
        },
        GraphProto: {
          fields: {
            node: rep('NodeProto', 1),
            name: opt('string', 2),
            initializer: rep('TensorProto', 5),
            docString: opt('string', 10),
            input: rep('ValueInfoProto', 11),
            output: rep('ValueInfoProto', 12),
            valueInfo: rep('ValueInfoProto', 13),
          },
        },
        TensorProto: {
          fields: {
            dims: unpacked('int64', 1),
            dataType: opt('int32', 2),
            floatData: packed('float', 4),
            int32Data: packed('int32', 5),
            stringData: rep('bytes', 6),
            int64Data: packed('int64', 7),
            name: opt('string', 8),
            docString: opt('string', 12),
            rawData: opt('bytes', 9),
            doubleData: packed('double', 10),
            uint64Data: packed('uint64', 11),
          },
        },
        TensorShapeProto: {
          fields: { dim: rep('Dimension', 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: opt('int64', 1),
                dimParam: opt('string', 2),
                denotation: opt('string', 3),
              },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: { tensorType: opt('Tensor', 1), denotation: opt('string', 6) },
          nested: {
            Tensor: {
              fields: { elemType: opt('int32', 1), shape: opt('TensorShapeProto', 2) },
            },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: opt('string', 1), version: opt('int64', 2) },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
const ModelProto = root.lookupType('onnx.ModelProto');

/** Cheap structural checks protobufjs' own verify() does not make. */
function checkModel(model: ModelJson): void {
  if (!Number.isInteger(model.irVersion)) throw new Error(`irVersion must be an integer, got ${model.irVersion}`);
  if (!model.graph) throw new Error('model.graph is required');
}

/**
 * Serialises a model to ONNX protobuf bytes (what `onnx.load` and onnxruntime read).
 *
 * @example
 * ```ts
 * import { encodeModel, decodeModel } from '@plinth/kernel-lib';
 * const bytes = encodeModel({
 *   irVersion: 8,
 *   opsetImport: [{ domain: '', version: 17 }],
 *   producerName: 'plinth',
 *   graph: {
 *     name: 'identity',
 *     node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
 *     input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }] } } } }],
 *     output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }] } } } }],
 *   },
 * });
 * decodeModel(bytes).graph.node[0].opType; // 'Identity'
 * ```
 */
export function encodeModel(model: ModelJson): Uint8Array {
  checkModel(model);
  const message = ModelProto.fromObject(model as unknown as Record<string, unknown>);
  const problem = ModelProto.verify(message);
  if (problem) throw new Error(`invalid ONNX model: ${problem}`);
  return ModelProto.encode(message).finish();
}

/**
 * Parses ONNX protobuf bytes into plain objects (int64 fields become numbers, bytes fields
 * `Uint8Array`, absent optional fields are left out, repeated fields are always arrays).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { decodeModel } from '@plinth/kernel-lib';
 * const model = decodeModel(readFileSync('pipeline.onnx'));
 * console.log(model.graph.input.map((i) => i.name), model.metadataProps);
 * ```
 */
export function decodeModel(bytes: Uint8Array): ModelJson {
  const message = ModelProto.decode(bytes);
  const obj = ModelProto.toObject(message, {
    longs: Number,
    arrays: true,
    defaults: false,
    oneofs: false,
  }) as Record<string, unknown>;
  normalise(obj);
  const model = obj as unknown as ModelJson;
  if (model.irVersion === undefined) throw new Error('not an ONNX model: ir_version is missing');
  if (!model.graph) throw new Error('not an ONNX model: graph is missing');
  return model;
}

/** Repeated fields the typed interfaces declare as required (always arrays, maybe empty). */
const REQUIRED_ARRAYS = new Set(['opsetImport', 'node', 'input', 'output', 'dims', 'dim']);

/**
 * Shapes protobufjs' output like the typed interfaces: required repeated fields are arrays,
 * empty optional repeated fields are left out, and bytes fields are plain `Uint8Array`s
 * (protobufjs returns Node `Buffer`s), so decode(encode(m)) deep-equals m.
 */
function normalise(value: unknown): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v instanceof Uint8Array) value[i] = toPlainBytes(v);
      else normalise(v);
    }
  } else if (value !== null && typeof value === 'object') {
    const rec = value as Record<string, unknown>;
    for (const key of Object.keys(rec)) {
      const v = rec[key];
      if (v instanceof Uint8Array) rec[key] = toPlainBytes(v);
      else if (Array.isArray(v) && v.length === 0 && !REQUIRED_ARRAYS.has(key)) delete rec[key];
      else normalise(v);
    }
  }
}

function toPlainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
