/**
 * The pipeline compiler: fitted stages + model (train/types.ts) -> one ONNX graph, and the
 * TypeScript reference evaluation of the same pipeline that the graph is tested against.
 */
import type { Model, OutputName, Predictions, TransformerStage } from '../train/types';
import { applyStages, stageOutputNames } from '../train/preprocess';
import { predict } from '../train/predict';
import { validateTreeEnsemble } from '../train/tree-ensemble';
import { GraphBuilder, attr } from './graph-builder';
import type { EmittedOutput } from './emitted';
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

/** The output of a binary classifier: P(y = classes[1]), float32, shape [N]. */
export const PROBABILITY_OUTPUT = 'probability';

/** Metadata keys the compiler writes itself; user metadata may not use them. */
export const METADATA_KEYS = {
  inputs: 'plinth.inputs',
  outputs: 'plinth.outputs',
  stages: 'plinth.stages',
  model: 'plinth.model',
} as const;

/** What {@link compilePipeline} and {@link evaluatePipeline} take. */
export interface PipelineSpec {
  /** One float32 input per feature, in the first stage's (or the model's) featureNames order; these names are public. */
  inputs: { name: string }[];
  /** Applied in order to the [N, F] feature matrix. */
  stages: TransformerStage[];
  model: Model;
  /** Extra `metadata_props` (e.g. run id, feature service); keys must not start with 'plinth.'. */
  metadata?: Record<string, string>;
}

/** The public outputs a model writes, in graph order. */
export function outputsOf(model: Model): OutputName[] {
  switch (model.kind) {
    case 'logisticRegression':
      return ['probability'];
    case 'multinomialLogisticRegression':
      return ['probabilities', 'label'];
    case 'linearRegression':
      return ['prediction'];
    case 'kmeans':
      return ['cluster', 'distances'];
    case 'treeEnsemble':
      return model.task === 'regression'
        ? ['prediction']
        : model.task === 'binary'
          ? ['probability']
          : ['probabilities', 'label'];
    default:
      throw new Error(`unsupported model kind '${(model as { kind: string }).kind}'`);
  }
}

/**
 * Compiles a fitted pipeline into ONE ONNX model (the format the notebook and the inference
 * tier both run with onnxruntime).
 *
 * Graph: one float32 input `[N, 1]` per feature, named exactly as the feature -> Concat(axis 1)
 * into one [N, F] matrix -> each stage (emit-stages.ts) -> the model (emit-linear.ts,
 * emit-trees.ts, emit-kmeans.ts) -> the outputs of its task, float32, named as in
 * `Predictions`: `probability` [N] (binary), `probabilities` [N, K] and `label` [N]
 * (multiclass), `prediction` [N] (regression), `cluster` [N] and `distances` [N, K] (k-means).
 * Parameters are stored as float32.
 *
 * Throws if a stage's or the model's featureNames differ from the columns it receives (naming the mismatch),
 * if a parameter array has the wrong length, or a parameter is not finite / overflows float32.
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
 *   metadata: { run: 'run-42' },
 * });
 * const session = await PipelineSession.create(bytes);
 * const { probability } = await session.run({ age: [30, NaN], income: [61000, 12000] });
 * ```
 */
export function compilePipeline(spec: PipelineSpec): Uint8Array {
  const names = validatePipelineSpec(spec);
  const model = spec.model;
  const b = new GraphBuilder({
    graphName: 'plinth_pipeline',
    docString: `Plinth pipeline: ${[...spec.stages.map((s) => s.kind), model.kind].join(' -> ')}`,
  });
  // Output names are public; reserve them first so no generated name can take them.
  const outputs = outputsOf(model);
  for (const o of outputs) b.reserveName(o);
  for (const name of names) b.addInput(name, ['N', 1]);

  // One [N, F] matrix lets every stage be a single vectorised node over all features.
  let x =
    names.length === 1
      ? names[0]
      : b.addNode('Concat', names, { name: 'features', attributes: { axis: attr.int(1) } })[0];
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
  const got = emitted.map((o) => o.name);
  if (got.join() !== outputs.join())
    throw new Error(`internal: the ${model.kind} emitter wrote [${got.join(', ')}], expected [${outputs.join(', ')}]`);
  for (const o of emitted) b.addOutput(o.name, o.shape);

  // Metadata lets the model repository and the inference tier read the interface without
  // parsing the graph.
  for (const [key, value] of Object.entries(spec.metadata ?? {})) b.setMetadata(key, value);
  b.setMetadata(METADATA_KEYS.inputs, JSON.stringify(names));
  b.setMetadata(METADATA_KEYS.outputs, JSON.stringify(outputs));
  b.setMetadata(METADATA_KEYS.stages, JSON.stringify(spec.stages.map((s) => s.kind)));
  b.setMetadata(METADATA_KEYS.model, model.kind);
  return b.encode();
}

/**
 * The TypeScript reference evaluation of a pipeline, in float64 with the exact fitted
 * parameters: the stages (`applyStages`), then the model (`predict`). Compiled graphs are
 * tested against it, so a difference between training-time and serving-time predictions is a
 * test failure.
 *
 * `columns[j]` is the column of `spec.inputs[j]`; NaN means missing. Returns the model's
 * outputs (e.g. `probability`, P(y = 1) per row, for a binary classifier).
 *
 * @example
 * ```ts
 * import { evaluatePipeline } from '@plinth/kernel-lib';
 * const { probability } = evaluatePipeline(spec, [Float64Array.from([30, NaN]), Float64Array.from([61000, 12000])]);
 * ```
 */
export function evaluatePipeline(spec: PipelineSpec, columns: Float64Array[]): Predictions {
  const names = validatePipelineSpec(spec);
  if (columns.length !== names.length)
    throw new Error(`evaluatePipeline: got ${columns.length} columns for ${names.length} inputs (${names.join(', ')})`);
  const n = columns.length > 0 ? columns[0].length : 0;
  columns.forEach((c, j) => {
    if (c.length !== n) throw new Error(`evaluatePipeline: column '${names[j]}' has ${c.length} rows, expected ${n}`);
  });
  return predict(spec.model, applyStages(spec.stages, columns));
}

/**
 * Checks a pipeline before compiling or evaluating it: input names, each stage's and the
 * model's featureNames against the columns they receive, and every parameter's shape and
 * finiteness. Throws an error naming the stage or model and the field; returns the input names.
 *
 * @example
 * ```ts
 * validatePipelineSpec({ inputs: [{ name: 'x' }], stages: [], model }); // ['x']
 * ```
 */
export function validatePipelineSpec(spec: PipelineSpec): string[] {
  const names = spec.inputs.map((i) => i.name);
  if (names.length === 0) throw new Error('a pipeline needs at least one input');
  const outputs = outputsOf(spec.model);
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.length === 0) throw new Error('input names must be non-empty strings');
    if (seen.has(name)) throw new Error(`input '${name}' is listed twice`);
    if ((outputs as string[]).includes(name))
      throw new Error(`input '${name}' collides with the output name '${name}' of the ${spec.model.kind} model`);
    seen.add(name);
  }
  // Each stage must be fitted on exactly the columns the previous one produces.
  let columns = names;
  spec.stages.forEach((stage, k) => {
    checkFeatureNames(`stage ${k} (${stage.kind})`, stage.featureNames, columns);
    validateStage(stage, k);
    columns = stageOutputNames(stage);
  });
  const model = spec.model;
  const where = `model (${model.kind})`;
  checkFeatureNames(where, model.featureNames, columns);
  if (model.kind === 'logisticRegression') validateLogisticRegression(model, where);
  else if (model.kind === 'multinomialLogisticRegression') validateMultinomialLogisticRegression(model, where);
  else if (model.kind === 'linearRegression') validateLinearRegression(model, where);
  else if (model.kind === 'kmeans') validateKMeans(model, where);
  else if (model.kind === 'treeEnsemble') validateTreeEnsemble(model, where);
  for (const key of Object.keys(spec.metadata ?? {})) {
    if (key.startsWith('plinth.'))
      throw new Error(`metadata key '${key}' is reserved (keys starting with 'plinth.' are written by the compiler)`);
  }
  return names;
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
