import { describe, expect, it } from 'vitest';
import { GraphBuilder, attr, ML_DOMAIN } from './graph-builder';
import { AttributeType, DataType, decodeModel } from './proto';
import { PipelineSession } from './runtime';

describe('GraphBuilder', () => {
  it('generates unique names and keeps public names exact', () => {
    const b = new GraphBuilder();
    expect(b.uniqueName('w')).toBe('w');
    expect(b.uniqueName('w')).toBe('w_1');
    expect(b.uniqueName('w')).toBe('w_2');
    b.addInput('x', ['N', 1]);
    expect(() => b.addInput('x', ['N', 1])).toThrow(/'x' is already used/);
    expect(b.uniqueName('x')).toBe('x_1');
    b.reserveName('y');
    expect(b.uniqueName('y')).toBe('y_1');
    const [out] = b.addNode('Identity', ['x'], { outputs: ['y'] });
    expect(out).toBe('y');
    expect(() => b.addNode('Identity', ['nope'])).toThrow(/input 'nope' is not defined yet/);
    expect(() => b.addOutput('z', ['N'])).toThrow(/'z' is not produced/);
  });

  it('encodes attributes, initializers, opsets and metadata, and the result runs', async () => {
    const b = new GraphBuilder({ graphName: 'affine' });
    const x = b.addInput('x', ['N', 2]);
    const imputed = b.addNode('Imputer', [x], {
      domain: ML_DOMAIN,
      attributes: { imputed_value_floats: attr.floats([10, 20]), replaced_value_float: attr.float(NaN) },
    })[0];
    const w = b.addFloatInitializer('w', [0.5, 2], [1, 2]);
    const prod = b.addNode('Mul', [imputed, w])[0];
    const shape = b.addInt64Initializer('shape', [-1], [1]);
    const flat = b.addNode('Reshape', [prod, shape])[0];
    b.addNode('Identity', [flat], { outputs: ['y'], name: 'out' });
    b.addOutput('y', ['M']);
    b.setMetadata('k', 'v');
    b.setMetadata('k', 'v2');
    const model = b.toModel();
    expect(model.irVersion).toBe(8);
    expect(model.producerName).toBe('plinth');
    expect(model.metadataProps).toEqual([{ key: 'k', value: 'v2' }]);
    const decoded = decodeModel(b.encode());
    expect(decoded.graph.node[0].attribute?.map((a) => a.type)).toEqual([AttributeType.FLOATS, AttributeType.FLOAT]);
    expect(decoded.graph.initializer?.map((t) => [t.name, t.dataType])).toEqual([
      ['w', DataType.FLOAT],
      ['shape', DataType.INT64],
    ]);
    const session = await PipelineSession.create(b.encode());
    // PipelineSession feeds [N, 1] tensors, so run this [N, 2] graph through onnxruntime directly.
    expect(session.inputNames).toEqual(['x']);
    await session.dispose();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const raw = await ort.InferenceSession.create(b.encode());
    const result = await raw.run({ x: new ort.Tensor('float32', Float32Array.from([NaN, 1, 4, NaN]), [2, 2]) });
    expect(Array.from(result.y.data as Float32Array)).toEqual([5, 2, 2, 40]);
    await raw.release();
  });

  it('rejects values that do not fit', () => {
    const b = new GraphBuilder();
    expect(() => b.addFloatInitializer('w', [1, 2, 3], [2])).toThrow(/3 values do not fill dims \[2\]/);
    expect(() => b.addFloatInitializer('w', [1e40], [1])).toThrow(/overflows float32/);
    expect(() => b.addInt64Initializer('s', [1.5], [1])).toThrow(/not a safe int64/);
    b.addInput('x', [1]);
    expect(() => b.addNode('Foo', ['x'], { attributes: { n: attr.int(1.5) } })).toThrow(/not an integer/);
  });
});
