/**
 * The pipeline compiler: fitted stages + model (train/types.ts) -> one ONNX graph, and the
 * TypeScript reference evaluation of the same pipeline that the graph is tested against.
 */
import type { Postprocessor, ValueType } from '@plinth/schema';
import type { Model, Predictions, TransformerStage } from '../train/types';
import { applyStages, stageOutputNames } from '../train/preprocess';
import { predict } from '../train/predict';
import { validateTreeEnsemble } from '../train/tree-ensemble';
import { encodeStrings } from '../pipeline/vocabulary';
import { GraphBuilder, ML_DOMAIN, attr } from './graph-builder';
import type { EmittedOutput, GraphValue } from './emitted';
import { emitStage, validateStage } from './emit-stages';
import {
  emitLinearRegression,
  emitLogisticRegression,
  emitMultinomialLogisticRegression,
  validateLinearRegression,
  validateLogisticRegression,
  validateMultinomialLogisticRegression,
} from './emit-linear';
import { emitTreeEnsemble } from './emit-trees';
import { emitKMeans, validateKMeans } from './emit-kmeans';
import {
  applyPostprocessor,
  emitPostprocessor,
  postprocessorOutputs,
  validatePostprocessor,
  type PostprocessorOutputs,
} from './emit-postprocess';
import { modelOutputs, outputsOf } from './model-info';
import { DataType, encodeModel } from './proto';
import { PipelineSpecError, at } from './spec-error';

export { outputsOf } from './model-info';

/** The output of a binary classifier: P(y = classes[1]), float32, shape [N]. */
export const PROBABILITY_OUTPUT = 'probability';

/** Metadata keys the compiler writes itself; user metadata may not use them. */
export const METADATA_KEYS = {
  inputs: 'plinth.inputs',
  outputs: 'plinth.outputs',
  stages: 'plinth.stages',
  model: 'plinth.model',
  postprocessor: 'plinth.postprocessor',
} as const;

/** One graph input of a {@link PipelineSpec}. */
export interface PipelineSpecInput {
  /** The graph input's name (public: callers feed it by name). */
  name: string;
  /**
   * Logical type (default float64). A `string` input is a tensor(string) [N, 1] that the graph
   * encodes to the value's index in `categories` (ai.onnx.ml LabelEncoder); any other type is a
   * float32 [N, 1] tensor.
   */
  type?: ValueType;
  /** `string` inputs: the vocabulary (non-empty, distinct strings). */
  categories?: readonly string[];
  /**
   * `string` inputs: the category that unknown and missing values (null, '') take in the graph;
   * without one they become NaN. Numeric inputs: the value `assembleInputs` fills in for a missing
   * one (the graph itself leaves NaN to the stages and the model).
   */
  default?: number | string | null;
}

/** What {@link compilePipeline} and {@link evaluatePipeline} take. */
export interface PipelineSpec {
  /** One input per feature, in the first stage's (or the model's) featureNames order; these names are public. */
  inputs: PipelineSpecInput[];
  /** Applied in order to the [N, F] feature matrix. */
  stages: TransformerStage[];
  model: Model;
  /** Appended after the model's outputs (default: none, as `identity`). */
  postprocessor?: Postprocessor;
  /** Extra `metadata_props` (e.g. run id, feature service); keys must not start with 'plinth.'. */
  metadata?: Record<string, string>;
}

/**
 * One input column: numbers (NaN = missing), or for a `string` input its values (null, undefined
 * or '' = missing).
 */
export type PipelineColumn = ArrayLike<number> | ArrayLike<string | null | undefined>;

/** The reference outputs of a pipeline: the model's, then the post-processor's. */
export type PipelineOutputs = Predictions & PostprocessorOutputs;

/** A compiled graph and its interface ({@link compilePipelineGraph}). */
export interface CompiledGraph {
  /** The ONNX model (protobuf bytes). */
  onnx: Uint8Array;
  /** Graph inputs in order: float32 [N, 1], or string [N, 1] for string inputs. */
  inputs: GraphValue[];
  /** Graph outputs in order: the model's, then the post-processor's. */
  outputs: GraphValue[];
  irVersion: number;
  /** Operator sets the graph imports ('' is the default ai.onnx domain). */
  opsets: { domain: string; version: number }[];
}

/** Whether an input is fed as a tensor(string). */
export const isStringInput = (input: PipelineSpecInput): boolean => input.type === 'string';

/**
 * Every output of the pipeline's graph with element type and shape, in graph order: the model's
 * (float32), then the post-processor's. The spec should be valid ({@link validatePipelineSpec}).
 *
 * @example
 * graphOutputs({ ...spec, postprocessor: { kind: 'threshold', threshold: 0.3 } }).map((o) => o.name); // ['probability', 'decision']
 */
export function graphOutputs(spec: Pick<PipelineSpec, 'model' | 'postprocessor'>): GraphValue[] {
  return [...modelOutputs(spec.model), ...postprocessorOutputs(spec.postprocessor, spec.model)];
}

/**
 * Compiles a fitted pipeline into ONE ONNX model (the format the notebook and the inference
 * tier both run with onnxruntime).
 *
 * Graph: one input `[N, 1]` per feature, named exactly as the feature (float32; tensor(string)
 * for a `string` input, encoded in the graph to its index in `categories` by an ai.onnx.ml
 * LabelEncoder) -> Concat(axis 1) into one [N, F] float32 matrix -> each stage
 * (emit-stages.ts) -> the model (emit-linear.ts, emit-trees.ts, emit-kmeans.ts) -> the outputs
 * of its task, float32, named as in `Predictions`: `probability` [N] (binary), `probabilities`
 * [N, K] and `label` [N] (multiclass), `prediction` [N] (regression), `cluster` [N] and
 * `distances` [N, K] (k-means) -> the post-processor's outputs, if any (emit-postprocess.ts:
 * `decision`, `top_k_scores` and `top_k_items`, `class`). Parameters are stored as float32.
 *
 * Throws a {@link PipelineSpecError} naming the field if an input is badly typed, a stage's or
 * the model's featureNames differ from the columns it receives, a parameter array has the
 * wrong length, a parameter is not finite / overflows float32, or the post-processor does not
 * fit the model.
 *
 * @example
 * ```ts
 * import { compilePipeline, PipelineSession } from '@plinth/kernel-lib';
 * const featureNames = ['age', 'income'];
 * const bytes = compilePipeline({
 *   inputs: featureNames.map((name) => ({ name })),
 *   stages: [
 *     { kind: 'imputer', featureNames, values: [41.2, 52000] },
 *     { kind: 'standardScaler', featureNames, mean: [41.2, 52000], scale: [12.1, 18000] },
 *   ],
 *   model: { kind: 'logisticRegression', featureNames, coefficients: [0.4, -1.3], intercept: 0.2 },
 *   postprocessor: { kind: 'threshold', threshold: 0.3, labels: ['keep', 'review'] },
 *   metadata: { run: 'run-42' },
 * });
 * const session = await PipelineSession.create(bytes);
 * const { probability, decision } = await session.runTyped({ age: [30, NaN], income: [61000, 12000] });
 * ```
 */
export function compilePipeline(spec: PipelineSpec): Uint8Array {
  return compilePipelineGraph(spec).onnx;
}

/**
 * {@link compilePipeline}, returning with the bytes the graph's interface (inputs and outputs
 * with element types and shapes), IR version and operator sets, as the manifest lists them.
 *
 * @example
 * ```ts
 * const { onnx, inputs, outputs } = compilePipelineGraph(spec);
 * outputs.map((o) => `${o.name}: ${o.elementType}`); // ['probability: float32', 'decision: int64']
 * ```
 */
export function compilePipelineGraph(spec: PipelineSpec): CompiledGraph {
  validatePipelineSpec(spec);
  const model = spec.model;
  const b = new GraphBuilder({
    graphName: 'plinth_pipeline',
    docString: `Plinth pipeline: ${[
      ...spec.stages.map((s) => s.kind),
      model.kind,
      ...(spec.postprocessor && spec.postprocessor.kind !== 'identity' ? [spec.postprocessor.kind] : []),
    ].join(' -> ')}`,
  });
  // Output names are public; reserve them first so no generated name can take them.
  const expected = graphOutputs(spec);
  for (const o of expected) b.reserveName(o.name);
  const inputs: GraphValue[] = [];
  const columns = spec.inputs.map((input) => {
    const string = isStringInput(input);
    b.addInput(input.name, ['N', 1], string ? DataType.STRING : DataType.FLOAT);
    inputs.push({ name: input.name, elementType: string ? 'string' : 'float32', shape: ['N', 1] });
    return string ? emitStringInput(b, input) : input.name;
  });

  // One [N, F] matrix lets every stage be a single vectorised node over all features.
  let x =
    columns.length === 1
      ? columns[0]
      : b.addNode('Concat', columns, { name: 'features', attributes: { axis: attr.int(1) } })[0];
  spec.stages.forEach((stage, k) => {
    x = emitStage(b, stage, x, k);
  });

  let emitted: EmittedOutput[];
  switch (model.kind) {
    case 'logisticRegression':
      emitted = emitLogisticRegression(b, model, x);
      break;
    case 'multinomialLogisticRegression':
      emitted = emitMultinomialLogisticRegression(b, model, x);
      break;
    case 'linearRegression':
      emitted = emitLinearRegression(b, model, x);
      break;
    case 'treeEnsemble':
      emitted = emitTreeEnsemble(b, model, x);
      break;
    case 'kmeans':
      emitted = emitKMeans(b, model, x);
      break;
  }
  const written: GraphValue[] = [
    ...emitted.map((o): GraphValue => ({ name: o.name, elementType: 'float32', shape: o.shape })),
    ...emitPostprocessor(b, spec.postprocessor, model),
  ];
  const describe = (list: GraphValue[]) => list.map((o) => `${o.name} ${o.elementType} [${o.shape.join(', ')}]`);
  if (describe(written).join() !== describe(expected).join())
    throw new Error(
      `internal: the ${model.kind} pipeline wrote [${describe(written).join(', ')}], expected [${describe(expected).join(', ')}]`,
    );
  for (const o of written) b.addOutput(o.name, o.shape, ELEMENT_TYPES[o.elementType]);

  // Metadata lets the model repository and the inference tier read the interface without
  // parsing the graph.
  for (const [key, value] of Object.entries(spec.metadata ?? {})) b.setMetadata(key, value);
  b.setMetadata(METADATA_KEYS.inputs, JSON.stringify(spec.inputs.map((i) => i.name)));
  b.setMetadata(METADATA_KEYS.outputs, JSON.stringify(written.map((o) => o.name)));
  b.setMetadata(METADATA_KEYS.stages, JSON.stringify(spec.stages.map((s) => s.kind)));
  b.setMetadata(METADATA_KEYS.model, model.kind);
  if (spec.postprocessor && spec.postprocessor.kind !== 'identity')
    b.setMetadata(METADATA_KEYS.postprocessor, JSON.stringify(spec.postprocessor));
  const onnxModel = b.toModel();
  return {
    onnx: encodeModel(onnxModel),
    inputs,
    outputs: written,
    irVersion: onnxModel.irVersion,
    opsets: onnxModel.opsetImport.map((o) => ({ domain: o.domain ?? '', version: o.version })),
  };
}

const ELEMENT_TYPES: Record<GraphValue['elementType'], number> = {
  float32: DataType.FLOAT,
  int64: DataType.INT64,
  string: DataType.STRING,
};

/** The code a string input's unknown and missing values take: the default's index, else NaN. */
function fallbackCode(input: PipelineSpecInput): number {
  return typeof input.default === 'string' ? input.categories!.indexOf(input.default) : NaN;
}

/** tensor(string) [N, 1] -> float32 [N, 1] codes (index in categories, else the fallback). */
function emitStringInput(b: GraphBuilder, input: PipelineSpecInput): string {
  const categories = input.categories!;
  return b.addNode('LabelEncoder', [input.name], {
    name: `${input.name}_encode`,
    domain: ML_DOMAIN,
    attributes: {
      keys_strings: attr.strings(categories),
      values_floats: attr.floats(categories.map((_, k) => k)),
      default_float: attr.float(fallbackCode(input)),
    },
  })[0];
}

/**
 * The TypeScript reference evaluation of a pipeline, in float64 with the exact fitted
 * parameters: string inputs encoded as the graph does, the stages (`applyStages`), the model
 * (`predict`), then the post-processor (`applyPostprocessor`). Compiled graphs are tested
 * against it, so a difference between training-time and serving-time predictions is a test
 * failure.
 *
 * `columns[j]` is the column of `spec.inputs[j]`: numbers (NaN = missing), or strings for a
 * string input (null or '' = missing). Returns the model's outputs (e.g. `probability`, P(y =
 * 1) per row, for a binary classifier) and the post-processor's (e.g. `decision`).
 *
 * @example
 * ```ts
 * import { evaluatePipeline } from '@plinth/kernel-lib';
 * const { probability } = evaluatePipeline(spec, [Float64Array.from([30, NaN]), Float64Array.from([61000, 12000])]);
 * ```
 */
export function evaluatePipeline(spec: PipelineSpec, columns: readonly PipelineColumn[]): PipelineOutputs {
  const names = validatePipelineSpec(spec);
  if (columns.length !== names.length)
    throw new Error(`evaluatePipeline: got ${columns.length} columns for ${names.length} inputs (${names.join(', ')})`);
  const n = columns.length > 0 ? columns[0].length : 0;
  const numeric = columns.map((c, j) => {
    if (c.length !== n) throw new Error(`evaluatePipeline: column '${names[j]}' has ${c.length} rows, expected ${n}`);
    const input = spec.inputs[j];
    const string = isStringInput(input);
    const bad = (v: unknown) =>
      string ? v !== null && v !== undefined && typeof v !== 'string' : typeof v !== 'number';
    for (let i = 0; i < n; i++)
      if (bad(c[i]))
        throw new Error(
          `evaluatePipeline: column '${input.name}' row ${i} is ${JSON.stringify(c[i])}; ` +
            (string
              ? 'a string input takes strings (null = missing)'
              : 'a numeric input takes numbers (NaN = missing)'),
        );
    if (string) return encodeStrings(c as ArrayLike<string | null | undefined>, input.categories!, fallbackCode(input));
    return c instanceof Float64Array ? c : Float64Array.from(c as ArrayLike<number>);
  });
  const predictions = predict(spec.model, applyStages(spec.stages, numeric));
  return { ...predictions, ...applyPostprocessor(spec.postprocessor, spec.model, predictions) };
}

/**
 * Checks a pipeline before compiling or evaluating it: inputs (names, types, a string input's
 * categories and default), each stage's and the model's featureNames against the columns they
 * receive, every parameter's shape and finiteness, and the post-processor against the model.
 * Throws a {@link PipelineSpecError} whose message names the input, stage, model or field, and
 * whose `pointer` locates it in the pipeline document; returns the input names.
 *
 * @example
 * ```ts
 * validatePipelineSpec({ inputs: [{ name: 'x' }], stages: [], model }); // ['x']
 * validatePipelineSpec({ inputs: [{ name: 'country', type: 'string' }], stages: [], model }); // throws: input 'country': type string needs categories
 * ```
 */
export function validatePipelineSpec(spec: PipelineSpec): string[] {
  const names = spec.inputs.map((i) => i.name);
  if (names.length === 0) throw new PipelineSpecError('a pipeline needs at least one input', '/inputs');
  // Output names first: an input may not take one (the model's kind must be known for them).
  const outputs = at('/model', () => outputsOf(spec.model));
  const postOutputs = spec.postprocessor
    ? at('/postprocessor', () => postprocessorOutputs(spec.postprocessor, spec.model)).map((o) => o.name)
    : [];
  const seen = new Set<string>();
  spec.inputs.forEach((input, j) => {
    const name = input.name;
    if (typeof name !== 'string' || name.length === 0)
      throw new PipelineSpecError('input names must be non-empty strings', `/inputs/${j}/name`);
    if (seen.has(name)) throw new PipelineSpecError(`input '${name}' is listed twice`, `/inputs/${j}/name`);
    if ((outputs as string[]).includes(name))
      throw new PipelineSpecError(
        `input '${name}' collides with the output name '${name}' of the ${spec.model.kind} model`,
        `/inputs/${j}/name`,
      );
    if (postOutputs.includes(name))
      throw new PipelineSpecError(
        `input '${name}' collides with the output name '${name}' of the ${spec.postprocessor!.kind} post-processor`,
        `/inputs/${j}/name`,
      );
    seen.add(name);
    validateInput(input, j);
  });
  // Each stage must be fitted on exactly the columns the previous one produces.
  let columns = names;
  spec.stages.forEach((stage, k) => {
    const where = `stage ${k} (${stage.kind})`;
    at(`/transformer/${k}/featureNames`, () => checkFeatureNames(where, stage.featureNames, columns));
    at(`/transformer/${k}`, () => validateStage(stage, k));
    columns = stageOutputNames(stage);
  });
  const model = spec.model;
  const where = `model (${model.kind})`;
  at('/model/featureNames', () => checkFeatureNames(where, model.featureNames, columns));
  at('/model', () => {
    if (model.kind === 'logisticRegression') validateLogisticRegression(model, where);
    else if (model.kind === 'multinomialLogisticRegression') validateMultinomialLogisticRegression(model, where);
    else if (model.kind === 'linearRegression') validateLinearRegression(model, where);
    else if (model.kind === 'kmeans') validateKMeans(model, where);
    else if (model.kind === 'treeEnsemble') validateTreeEnsemble(model, where);
  });
  if (spec.postprocessor) validatePostprocessor(spec.postprocessor, model);
  for (const key of Object.keys(spec.metadata ?? {})) {
    if (key.startsWith('plinth.'))
      throw new PipelineSpecError(
        `metadata key '${key}' is reserved (keys starting with 'plinth.' are written by the compiler)`,
        '',
      );
  }
  return names;
}

/** Codes are float32 in the graph: exact up to 2^24. */
const MAX_CATEGORIES = 2 ** 24;

/** A string input's categories and default, or a numeric input's default; errors name the input. */
function validateInput(input: PipelineSpecInput, j: number): void {
  const fail = (message: string, field: string): never => {
    throw new PipelineSpecError(`input '${input.name}': ${message}`, `/inputs/${j}/${field}`);
  };
  const { categories, default: dflt } = input;
  if (!isStringInput(input)) {
    if (categories !== undefined) fail(`categories are only for type string (type is ${input.type})`, 'categories');
    if (dflt !== undefined && dflt !== null && !(typeof dflt === 'number' && Number.isFinite(dflt)))
      fail(`default must be a finite number or null, got ${JSON.stringify(dflt)}`, 'default');
    return;
  }
  if (categories === undefined) fail('type string needs categories', 'categories');
  if (!Array.isArray(categories) || categories.length === 0)
    fail('categories must be a non-empty list of strings', 'categories');
  if (categories!.length > MAX_CATEGORIES)
    fail(`has ${categories!.length} categories, more than the ${MAX_CATEGORIES} float32 codes hold`, 'categories');
  const seen = new Map<string, number>();
  categories!.forEach((c, k) => {
    if (typeof c !== 'string' || c.length === 0)
      fail(`categories[${k}] must be a non-empty string, got ${JSON.stringify(c)}`, `categories/${k}`);
    const first = seen.get(c);
    if (first !== undefined)
      fail(`category '${c}' is listed twice (categories[${first}] and [${k}])`, `categories/${k}`);
    seen.set(c, k);
  });
  if (dflt !== undefined && dflt !== null) {
    if (typeof dflt !== 'string') fail(`default must be one of its categories, got ${JSON.stringify(dflt)}`, 'default');
    if (!seen.has(dflt as string)) fail(`default '${dflt}' is not among its categories`, 'default');
  }
}

function checkFeatureNames(where: string, featureNames: readonly string[], inputs: readonly string[]): void {
  if (featureNames.length !== inputs.length) {
    const missing = inputs.filter((n) => !featureNames.includes(n));
    const extra = featureNames.filter((n) => !inputs.includes(n));
    throw new Error(
      `${where} has ${featureNames.length} features but the pipeline has ${inputs.length} inputs` +
        (missing.length ? `; missing: ${missing.map(quote).join(', ')}` : '') +
        (extra.length ? `; not an input: ${extra.map(quote).join(', ')}` : ''),
    );
  }
  for (let j = 0; j < inputs.length; j++) {
    if (featureNames[j] !== inputs[j]) {
      throw new Error(
        `${where} featureNames do not match the pipeline inputs at position ${j}: feature ${quote(featureNames[j])}, input ${quote(inputs[j])}` +
          ` (featureNames: [${featureNames.join(', ')}], inputs: [${inputs.join(', ')}])`,
      );
    }
  }
}

function quote(s: string): string {
  return `'${s}'`;
}
