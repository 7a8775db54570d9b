/**
 * A small ONNX graph builder: values, initializers and nodes with unique names, opset imports
 * and model metadata, producing a {@link ModelJson} or encoded bytes.
 */
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeJson,
  type DataTypeValue,
  type DimensionJson,
  type ModelJson,
  type NodeJson,
  type OperatorSetIdJson,
  type TensorJson,
  type ValueInfoJson,
} from './proto';

/** Default ONNX operator set. 17 is fully supported by onnxruntime 1.14+ and onnx 1.12+. */
export const AI_ONNX_OPSET = 17;
/** Classical-ML operator set (`ai.onnx.ml`), needed for `Imputer`. */
export const AI_ONNX_ML_OPSET = 3;
/** The `ai.onnx.ml` domain name. */
export const ML_DOMAIN = 'ai.onnx.ml';
/** IR version 8 is the one that goes with opset 17. */
export const IR_VERSION = 8;
/** Written to ModelProto.producer_name. */
export const PRODUCER_NAME = 'plinth';
/** Written to ModelProto.producer_version. */
export const PRODUCER_VERSION = '0.1.0';

/**
 * A typed attribute value. JS numbers do not say whether they are floats or ints, so the
 * caller says it (see {@link attr}).
 */
export type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'strings'; value: readonly string[] };

/**
 * Constructors for {@link AttributeValue}s.
 *
 * @example
 * ```ts
 * b.addNode('Concat', ['a', 'b'], { attributes: { axis: attr.int(1) } });
 * b.addNode('Imputer', ['x'], { domain: ML_DOMAIN, attributes: { replaced_value_float: attr.float(NaN) } });
 * ```
 */
export const attr = {
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  strings: (value: readonly string[]): AttributeValue => ({ kind: 'strings', value }),
};

/** A tensor shape: numbers are fixed sizes, strings symbolic ones (e.g. 'N' for the batch). */
export type Shape = readonly (number | string)[];

/** Options for {@link GraphBuilder.addNode}. */
export interface NodeOptions {
  /** Operator domain; '' (default) is ai.onnx. */
  domain?: string;
  attributes?: Record<string, AttributeValue>;
  /** Base for the node name and, when `outputs` is not given, its single output. */
  name?: string;
  /** Output value names to create (made unique). Default: one output named after the node. */
  outputs?: readonly string[];
  docString?: string;
}

/** Options for {@link GraphBuilder}. */
export interface GraphBuilderOptions {
  graphName?: string;
  docString?: string;
  /** Opset imports; default ai.onnx {@link AI_ONNX_OPSET} and ai.onnx.ml {@link AI_ONNX_ML_OPSET}. */
  opsets?: OperatorSetIdJson[];
  irVersion?: number;
}

const INT64_LIMIT = 2 ** 53;

/**
 * Builds one ONNX graph. Every name (inputs, outputs, initializers, node outputs, node names)
 * is unique: {@link GraphBuilder.uniqueName} suffixes `_1`, `_2`, … to a taken base name,
 * while inputs and outputs keep their exact names (they are the public interface) and throw
 * if taken.
 *
 * @example
 * ```ts
 * import { GraphBuilder, attr } from '@plinth/kernel-lib';
 * const b = new GraphBuilder({ graphName: 'double' });
 * const x = b.addInput('x', ['N', 1]);
 * const two = b.addFloatInitializer('two', [2], [1]);
 * const [y] = b.addNode('Mul', [x, two]);
 * b.addNode('Identity', [y], { outputs: ['y'] });
 * b.addOutput('y', ['N', 1]);
 * b.setMetadata('owner', 'fraud-team');
 * const bytes = b.encode(); // ONNX protobuf, ready for onnxruntime
 * ```
 */
export class GraphBuilder {
  private readonly names = new Set<string>();
  /** Reserved by reserveName() and not yet produced: addNode may claim them as outputs. */
  private readonly reserved = new Set<string>();
  private readonly defined = new Set<string>();
  private readonly inputs: ValueInfoJson[] = [];
  private readonly outputs: ValueInfoJson[] = [];
  private readonly initializers: TensorJson[] = [];
  private readonly nodes: NodeJson[] = [];
  private readonly metadata = new Map<string, string>();
  private readonly options: GraphBuilderOptions;

  constructor(options: GraphBuilderOptions = {}) {
    this.options = options;
  }

  /** Returns `base` if unused, else `base_1`, `base_2`, …, and reserves the result. */
  uniqueName(base: string): string {
    const clean = base.length > 0 ? base : 'v';
    let name = clean;
    for (let k = 1; this.names.has(name); k++) name = `${clean}_${k}`;
    this.names.add(name);
    return name;
  }

  /**
   * Reserves an exact name (throws if taken), e.g. a public output, so that no generated name
   * takes it; a later addNode(..., { outputs: [name] }) may then produce it.
   */
  reserveName(name: string): string {
    this.claim(name);
    this.reserved.add(name);
    return name;
  }

  /**
   * A fresh unique name ({@link uniqueName}) that a later addNode(..., { outputs: [name] }) may
   * produce: for the extra outputs of a node with several (e.g. TopK's indices).
   */
  uniqueOutputName(base: string): string {
    const name = this.uniqueName(base);
    this.reserved.add(name);
    return name;
  }

  private claim(name: string): void {
    if (name.length === 0) throw new Error('ONNX value names must be non-empty');
    if (this.names.has(name)) throw new Error(`name '${name}' is already used in this graph`);
    this.names.add(name);
  }

  /** Adds a graph input with its exact name (float32 by default). Returns the name. */
  addInput(name: string, shape: Shape, elemType: DataTypeValue = DataType.FLOAT): string {
    if (!this.reserved.delete(name)) this.claim(name);
    this.defined.add(name);
    this.inputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  /**
   * Declares a graph output. The value must already be produced by a node (or be an input or
   * initializer); give the producing node `outputs: [name]` to control its exact name.
   */
  addOutput(name: string, shape: Shape, elemType: DataTypeValue = DataType.FLOAT): string {
    if (!this.defined.has(name)) throw new Error(`output '${name}' is not produced by any node, input or initializer`);
    if (this.outputs.some((o) => o.name === name)) throw new Error(`output '${name}' is declared twice`);
    this.outputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  /**
   * Adds a float32 constant tensor. Values are rounded to float32; a finite value that
   * overflows float32 (|x| > 3.4e38) throws, since it would silently become Infinity.
   */
  addFloatInitializer(baseName: string, values: ArrayLike<number>, dims: readonly number[]): string {
    checkDims(baseName, values.length, dims);
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const f = Math.fround(v);
      if (Number.isFinite(v) && !Number.isFinite(f)) {
        throw new Error(`initializer '${baseName}'[${i}] = ${v} overflows float32`);
      }
      // ONNX raw_data is little-endian regardless of the host.
      view.setFloat32(i * 4, f, true);
    }
    const name = this.uniqueName(baseName);
    this.defined.add(name);
    this.initializers.push({ name, dims: [...dims], dataType: DataType.FLOAT, rawData: raw });
    return name;
  }

  /** Adds an int64 constant tensor (e.g. a Reshape target shape). */
  addInt64Initializer(baseName: string, values: readonly number[], dims: readonly number[]): string {
    checkDims(baseName, values.length, dims);
    for (const v of values) {
      if (!Number.isInteger(v) || Math.abs(v) >= INT64_LIMIT)
        throw new Error(`initializer '${baseName}': ${v} is not a safe int64`);
    }
    const name = this.uniqueName(baseName);
    this.defined.add(name);
    this.initializers.push({ name, dims: [...dims], dataType: DataType.INT64, int64Data: [...values] });
    return name;
  }

  /**
   * Appends a node (nodes must be added in topological order: every input must already
   * exist). Returns its output names.
   */
  addNode(opType: string, inputs: readonly string[], options: NodeOptions = {}): string[] {
    for (const input of inputs) {
      // '' is ONNX's "optional input left out".
      if (input !== '' && !this.defined.has(input)) {
        throw new Error(`${opType} node: input '${input}' is not defined yet (add nodes in topological order)`);
      }
    }
    const nodeName = this.uniqueName(options.name ?? opType);
    const outputs = options.outputs
      ? options.outputs.map((o) => {
          if (!this.reserved.delete(o)) this.claim(o);
          return o;
        })
      : [this.uniqueName(`${nodeName}_out`)];
    for (const o of outputs) this.defined.add(o);
    const node: NodeJson = { name: nodeName, opType, input: [...inputs], output: outputs };
    if (options.domain) node.domain = options.domain;
    if (options.docString) node.docString = options.docString;
    if (options.attributes) {
      node.attribute = Object.entries(options.attributes).map(([k, v]) => toAttribute(k, v));
    }
    this.nodes.push(node);
    return outputs;
  }

  /** Sets a `metadata_props` entry (keys are distinct; setting again replaces the value). */
  setMetadata(key: string, value: string): void {
    if (key.length === 0) throw new Error('metadata keys must be non-empty');
    this.metadata.set(key, value);
  }

  /** The model as plain objects (see {@link encodeModel}). */
  toModel(): ModelJson {
    if (this.outputs.length === 0) throw new Error('a graph needs at least one output');
    const model: ModelJson = {
      irVersion: this.options.irVersion ?? IR_VERSION,
      opsetImport: this.options.opsets ?? [
        { domain: '', version: AI_ONNX_OPSET },
        { domain: ML_DOMAIN, version: AI_ONNX_ML_OPSET },
      ],
      producerName: PRODUCER_NAME,
      producerVersion: PRODUCER_VERSION,
      graph: {
        name: this.options.graphName ?? 'plinth_graph',
        node: this.nodes.map((n) => ({ ...n })),
        initializer: [...this.initializers],
        input: [...this.inputs],
        output: [...this.outputs],
      },
    };
    if (this.options.docString) model.graph.docString = this.options.docString;
    if (this.metadata.size > 0) {
      model.metadataProps = [...this.metadata].map(([key, value]) => ({ key, value }));
    }
    return model;
  }

  /** The model as ONNX protobuf bytes. */
  encode(): Uint8Array {
    return encodeModel(this.toModel());
  }
}

function checkDims(name: string, length: number, dims: readonly number[]): void {
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || size !== length) {
    throw new Error(`initializer '${name}': ${length} values do not fill dims [${dims.join(', ')}]`);
  }
}

function checkFloat32(name: string, v: number): void {
  if (Number.isFinite(v) && !Number.isFinite(Math.fround(v)))
    throw new Error(`attribute '${name}': ${v} overflows float32`);
}

function valueInfo(name: string, elemType: DataTypeValue, shape: Shape): ValueInfoJson {
  const dim: DimensionJson[] = shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function toAttribute(name: string, v: AttributeValue): AttributeJson {
  switch (v.kind) {
    case 'float':
      checkFloat32(name, v.value);
      return { name, type: AttributeType.FLOAT, f: v.value };
    case 'int':
      if (!Number.isInteger(v.value)) throw new Error(`attribute '${name}': ${v.value} is not an integer`);
      return { name, type: AttributeType.INT, i: v.value };
    case 'floats':
      for (const x of v.value) checkFloat32(name, x);
      return { name, type: AttributeType.FLOATS, floats: [...v.value] };
    case 'ints':
      for (const x of v.value) if (!Number.isInteger(x)) throw new Error(`attribute '${name}': ${x} is not an integer`);
      return { name, type: AttributeType.INTS, ints: [...v.value] };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v.value) };
    case 'strings': {
      const encoder = new TextEncoder();
      return { name, type: AttributeType.STRINGS, strings: v.value.map((x) => encoder.encode(x)) };
    }
  }
}
