/**
 * The pipeline document (schema/schemas/pipeline.json) -> one ONNX graph plus its manifest
 * (schema/schemas/pipeline-manifest.json), and the document check the control plane runs on
 * publish.
 */
import crypto from 'node:crypto';
import type { Table } from 'apache-arrow';
import {
  problem,
  ProblemError,
  validate,
  type FieldError,
  type Pipeline,
  type PipelineManifest,
  type ValidationResult,
} from '@plinth/schema';
import {
  compilePipelineGraph,
  graphOutputs,
  isStringInput,
  validatePipelineSpec,
  type PipelineSpec,
} from '../onnx/compile';
import { PRODUCER_NAME, PRODUCER_VERSION } from '../onnx/graph-builder';
import { modelInfo } from '../onnx/model-info';
import { PipelineSpecError } from '../onnx/spec-error';
import type { PipelineSession } from '../onnx/runtime';
import { pipelineColumns } from '../example-store';

/** The manifest format {@link compilePipelineDocument} writes. */
export const PIPELINE_MANIFEST_FORMAT_VERSION = 1;

/** What {@link compilePipelineDocument} returns. */
export interface CompiledPipeline {
  /** The ONNX model (protobuf bytes): what the model repository stores and the inference tier runs. */
  onnx: Uint8Array;
  /** The graph's interface and provenance; `manifest.onnx.sha256` is the hash of `onnx`. */
  manifest: PipelineManifest;
}

/**
 * The compiler's view of a pipeline document: its inputs (with type, categories and default),
 * transformer stages, model and post-processor.
 *
 * @example
 * compilePipeline(pipelineSpecOf(doc, { 'model.name': 'ctr' }));
 */
export function pipelineSpecOf(doc: Pipeline, metadata?: Record<string, string>): PipelineSpec {
  return {
    inputs: doc.inputs.map((i) => ({
      name: i.name,
      ...(i.type !== undefined ? { type: i.type } : {}),
      ...(i.categories !== undefined ? { categories: i.categories } : {}),
      ...(i.default !== undefined ? { default: i.default } : {}),
    })),
    stages: doc.transformer,
    model: doc.model,
    ...(doc.postprocessor ? { postprocessor: doc.postprocessor } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

/** The document's `outputs` against the graph's: same names, same types (any order). */
function checkOutputs(doc: Pipeline): void {
  const graph = graphOutputs(doc);
  const listed = new Map(doc.outputs.map((o) => [o.name, o.type]));
  const problems: string[] = [];
  for (const o of graph) {
    const type = listed.get(o.name);
    if (type === undefined) problems.push(`'${o.name}' (${o.elementType}) is missing`);
    else if (type !== o.elementType) problems.push(`'${o.name}' is ${o.elementType}, not ${type}`);
  }
  for (const name of listed.keys())
    if (!graph.some((o) => o.name === name)) problems.push(`'${name}' is not an output of the graph`);
  if (problems.length > 0)
    throw new PipelineSpecError(
      `outputs do not match the graph, which writes [${graph.map((o) => `${o.name} (${o.elementType})`).join(', ')}]: ${problems.join('; ')}`,
      '/outputs',
    );
}

/**
 * Checks a pipeline document: its JSON Schema, then what the schema cannot say (a string
 * input's categories and default, featureNames along the stages, parameter shapes, the
 * post-processor against the model, `outputs` against the graph). Errors name the field by
 * JSON Pointer, e.g. `{ pointer: '/inputs/2/categories', detail: "input 'country': type string needs categories" }`.
 * The control plane calls it on publish.
 *
 * @example
 * const r = validatePipelineDocument(doc);
 * if (!r.ok) console.log(r.errors); // [{ pointer: '/postprocessor/k', detail: "postprocessor.k = 12 exceeds the model's 3 classes" }]
 */
export function validatePipelineDocument(doc: unknown): ValidationResult<Pipeline> {
  const r = validate('pipeline', doc);
  if (!r.ok) return r;
  try {
    // The compiler's own checks, without emitting the graph.
    validatePipelineSpec(pipelineSpecOf(r.value));
    checkOutputs(r.value);
  } catch (e) {
    const error: FieldError =
      e instanceof PipelineSpecError ? { pointer: e.pointer, detail: e.message } : { pointer: '', detail: String(e) };
    return { ok: false, errors: [error] };
  }
  return r;
}

/**
 * {@link validatePipelineDocument}, throwing a 400 {@link ProblemError} that lists every
 * invalid field (the control plane answers with it as is).
 *
 * @example
 * const doc = assertValidPipelineDocument(body.pipeline);
 */
export function assertValidPipelineDocument(doc: unknown, what = 'pipeline'): Pipeline {
  const r = validatePipelineDocument(doc);
  if (r.ok) return r.value;
  throw new ProblemError(problem(400, 'Invalid pipeline', `the ${what} is not valid`, r.errors));
}

/**
 * Compiles a pipeline document to ONE ONNX graph (inputs -> transformer stages -> model ->
 * post-processor) and its manifest: each input's logical and ONNX type, shape, source, default
 * and categories; each output's element type and shape; the stages, model and post-processor;
 * the graph's sha256, size, IR version and opsets; the compiler's version. The document is
 * checked first ({@link validatePipelineDocument}); an invalid one throws a 400
 * {@link ProblemError} naming each field.
 *
 * @example
 * const { onnx, manifest } = compilePipelineDocument(doc, { 'model.name': 'ctr' });
 * manifest.outputs; // [{ name: 'probability', elementType: 'float32', shape: ['N'] }, { name: 'decision', … }]
 * const session = await PipelineSession.create(onnx);
 */
export function compilePipelineDocument(doc: Pipeline, metadata?: Record<string, string>): CompiledPipeline {
  const valid = assertValidPipelineDocument(doc);
  const graph = compilePipelineGraph(pipelineSpecOf(valid, metadata));
  const info = modelInfo(valid.model);
  const manifest: PipelineManifest = {
    formatVersion: PIPELINE_MANIFEST_FORMAT_VERSION,
    pipeline: valid.name,
    inputs: valid.inputs.map((input, j) => ({
      name: input.name,
      type: input.type ?? 'float64',
      elementType: isStringInput(input) ? 'string' : 'float32',
      shape: [...graph.inputs[j].shape],
      source: input.source,
      ...(input.default !== undefined ? { default: input.default } : {}),
      ...(input.categories !== undefined ? { categories: [...input.categories] } : {}),
    })),
    outputs: graph.outputs.map((o) => ({ name: o.name, elementType: o.elementType, shape: [...o.shape] })),
    stages: valid.transformer.map((s) => s.kind),
    model: {
      kind: valid.model.kind,
      task: info.task,
      ...(info.classes ? { classes: info.classes } : {}),
      ...(info.task === 'clustering' ? { clusters: info.size } : {}),
    },
    postprocessor: valid.postprocessor ?? { kind: 'identity' },
    onnx: {
      sha256: crypto.createHash('sha256').update(graph.onnx).digest('hex'),
      bytes: graph.onnx.length,
      irVersion: graph.irVersion,
      opsets: graph.opsets.map((o) => ({ domain: o.domain || 'ai.onnx', version: o.version })),
    },
    compiler: { name: PRODUCER_NAME, version: PRODUCER_VERSION },
  };
  return { onnx: graph.onnx, manifest };
}

/** Stored sample values: numbers (NaN as null) or strings. */
export type ReferenceValues = Record<string, (number | string | null)[]>;

/**
 * Reference examples for deploy-time sanity tests: the first `rows` rows of `table` as the
 * pipeline's inputs (strings kept for string inputs, NaN as null) and the graph's outputs on
 * them (flat, row-major; strings kept), ready to store with the model version and replay.
 *
 * @example
 * const session = await PipelineSession.create(onnx);
 * const referenceExamples = await referenceExamplesOf(doc, session, test);
 */
export async function referenceExamplesOf(
  doc: Pipeline,
  session: PipelineSession,
  table: Table,
  rows = 32,
): Promise<{ inputs: ReferenceValues; outputs: ReferenceValues }> {
  const columns = pipelineColumns(table.slice(0, Math.min(rows, table.numRows)), doc.inputs);
  const out = await session.runTyped(columns);
  const toJson = (a: ArrayLike<number | string | null>) =>
    Array.from(a, (v) => (typeof v === 'number' && Number.isNaN(v) ? null : v));
  return {
    inputs: Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, toJson(v)])),
    outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toJson(t.data)])),
  };
}
