import { describe, expect, it } from 'vitest';
import { AttributeType, DataType, decodeModel, encodeModel, type ModelJson } from './proto';

const f32 = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

function sampleModel(): ModelJson {
  return {
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    producerName: 'plinth',
    producerVersion: '0.1.0',
    modelVersion: 3,
    docString: 'round trip',
    graph: {
      name: 'g',
      node: [
        {
          name: 'imp',
          opType: 'Imputer',
          domain: 'ai.onnx.ml',
          input: ['x'],
          output: ['y'],
          attribute: [
            { name: 'imputed_value_floats', type: AttributeType.FLOATS, floats: [1.5, -2.25] },
            { name: 'replaced_value_float', type: AttributeType.FLOAT, f: NaN },
          ],
        },
        {
          name: 'cat',
          opType: 'Concat',
          input: ['y', 'w'],
          output: ['z'],
          attribute: [
            { name: 'axis', type: AttributeType.INT, i: 0 },
            { name: 'perm', type: AttributeType.INTS, ints: [0, -1, 2 ** 40] },
            { name: 'mode', type: AttributeType.STRING, s: new TextEncoder().encode('constant') },
          ],
        },
      ],
      initializer: [
        { name: 'w', dims: [1, 2], dataType: DataType.FLOAT, rawData: f32([0.5, -7]) },
        { name: 'shape', dims: [1], dataType: DataType.INT64, int64Data: [-1] },
        { name: 'fd', dims: [2], dataType: DataType.FLOAT, floatData: [1, 2] },
      ],
      input: [
        {
          name: 'x',
          type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } },
        },
      ],
      output: [{ name: 'z', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }] } } } }],
    },
    metadataProps: [
      { key: 'run', value: 'r-1' },
      { key: 'empty', value: '' },
    ],
  };
}

describe('ONNX protobuf encode/decode', () => {
  it('round-trips a model exactly (NaN attribute, int64, bytes, zero ints, metadata)', () => {
    const model = sampleModel();
    const bytes = encodeModel(model);
    const back = decodeModel(bytes);
    expect(back).toEqual(model);
    // toEqual treats NaN as equal to NaN; make the float attribute's NaN explicit.
    expect(Number.isNaN(back.graph.node[0].attribute?.[1].f)).toBe(true);
    // An explicitly set i = 0 must be on the wire (the ONNX checker requires the field).
    expect(back.graph.node[1].attribute?.[0]).toEqual({ name: 'axis', type: AttributeType.INT, i: 0 });
    expect(back.graph.initializer?.[0].rawData).toBeInstanceOf(Uint8Array);
    // Encoding is deterministic.
    expect(encodeModel(back)).toEqual(bytes);
  });

  it('writes field numbers and packing as in onnx.proto', () => {
    // ModelProto.ir_version = 1 (varint): tag 0x08.
    const bytes = encodeModel({ irVersion: 8, opsetImport: [], graph: { node: [], input: [], output: [], name: 'g' } });
    expect(bytes[0]).toBe(0x08);
    expect(bytes[1]).toBe(8);
    // AttributeProto.floats (7) is an unpacked proto2 repeated float: one tag (7<<3|5 = 0x3d) per value.
    const withFloats = sampleModel();
    const enc = Buffer.from(encodeModel(withFloats));
    const floatsTag = Buffer.from([0x3d, ...Buffer.from(new Float32Array([1.5]).buffer)]);
    expect(enc.indexOf(floatsTag)).toBeGreaterThan(0);
    // TensorProto.float_data (4) is packed: tag 4<<3|2 = 0x22, length 8.
    const packed = Buffer.from([0x22, 0x08, ...Buffer.from(new Float32Array([1, 2]).buffer)]);
    expect(enc.indexOf(packed)).toBeGreaterThan(0);
  });

  it('rejects bytes that are not an ONNX model', () => {
    expect(() => decodeModel(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
    expect(() => decodeModel(new Uint8Array(0))).toThrow(/ir_version/);
  });
});
