/**
 * The pipeline compiler: fitted stages + model (train/types.ts) -> one ONNX graph, and the
 * TypeScript reference evaluation of the same pipeline that the graph is tested against.
 */
import type {
  ImputerStage,
  LogisticRegressionModel,
  Model,
  StandardScalerStage,
  TransformerStage,
} from '../train/types';
import { GraphBuilder, ML_DOMAIN, attr } from './graph-builder';

/** The compiled graph's one output: P(y = 1), float32, shape [N]. */
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
  /** One float32 input per feature, in model.featureNames order; these names are public. */
  inputs: { name: string }[];
  /** Applied in order to the [N, F] feature matrix. */
  stages: TransformerStage[];
  model: Model;
  /** Extra `metadata_props` (e.g. run id, feature service); keys must not start with 'plinth.'. */
  metadata?: Record<string, string>;
}

/**
 * Compiles a fitted pipeline into ONE ONNX model (the format the notebook and the inference
 * tier both run with onnxruntime).
 *
 * Graph: one float32 input `[N, 1]` per feature, named exactly as the feature -> Concat(axis 1)
 * -> per stage: ImputerStage = `ai.onnx.ml` Imputer (replaces NaN), StandardScalerStage =
 * Sub(mean) then Div(scale) -> LogisticRegression = MatMul(W [F, 1]) + Add(b) -> Sigmoid ->
 * Reshape -> output `probability` float32 `[N]`. Parameters are stored as float32.
 *
 * Throws if stage or model featureNames differ from the input names (naming the mismatch),
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
  const names = validateSpec(spec);
  const f = names.length;
  const b = new GraphBuilder({
    graphName: 'plinth_pipeline',
    docString: `Plinth pipeline: ${[...spec.stages.map((s) => s.kind), spec.model.kind].join(' -> ')}`,
  });
  // The output name is public; reserve it first so no generated name can take it.
  b.reserveName(PROBABILITY_OUTPUT);
  for (const name of names) b.addInput(name, ['N', 1]);

  // One [N, F] matrix lets every stage be a single vectorised node over all features.
  let x = f === 1 ? names[0] : b.addNode('Concat', names, { name: 'features', attributes: { axis: attr.int(1) } })[0];

  spec.stages.forEach((stage, k) => {
    switch (stage.kind) {
      case 'imputer':
        x = b.addNode('Imputer', [x], {
          name: `imputer_${k}`,
          domain: ML_DOMAIN,
          attributes: {
            imputed_value_floats: attr.floats(stage.values),
            // NaN is the missing marker (train/types.ts); ORT's Imputer matches NaN by isnan.
            replaced_value_float: attr.float(NaN),
          },
        })[0];
        break;
      case 'standardScaler': {
        // Sub/Div rather than ai.onnx.ml Scaler (which multiplies by 1/scale): dividing by
        // float32(scale) rounds once less, so the graph stays closer to the reference.
        const mean = b.addFloatInitializer(`scaler_${k}_mean`, stage.mean, [1, f]);
        const scale = b.addFloatInitializer(`scaler_${k}_scale`, stage.scale, [1, f]);
        const centred = b.addNode('Sub', [x, mean], { name: `scaler_${k}_sub` })[0];
        x = b.addNode('Div', [centred, scale], { name: `scaler_${k}_div` })[0];
        break;
      }
      default:
        throw new Error(`stage ${k}: unsupported kind '${(stage as { kind: string }).kind}'`);
    }
  });

  const model = spec.model;
  if (model.kind !== 'logisticRegression') {
    throw new Error(`unsupported model kind '${(model as { kind: string }).kind}'`);
  }
  const w = b.addFloatInitializer('logreg_coefficients', model.coefficients, [f, 1]);
  const bias = b.addFloatInitializer('logreg_intercept', [model.intercept], [1]);
  const [dot] = b.addNode('MatMul', [x, w], { name: 'logreg_matmul' });
  const [logit] = b.addNode('Add', [dot, bias], { name: 'logreg_logit' });
  const [p] = b.addNode('Sigmoid', [logit], { name: 'logreg_sigmoid' });
  const flat = b.addInt64Initializer('probability_shape', [-1], [1]);
  b.addNode('Reshape', [p, flat], { name: 'probability_reshape', outputs: [PROBABILITY_OUTPUT] });
  b.addOutput(PROBABILITY_OUTPUT, ['N']);

  // Metadata lets the model repository and the inference tier read the interface without
  // parsing the graph.
  for (const [key, value] of Object.entries(spec.metadata ?? {})) b.setMetadata(key, value);
  b.setMetadata(METADATA_KEYS.inputs, JSON.stringify(names));
  b.setMetadata(METADATA_KEYS.outputs, JSON.stringify([PROBABILITY_OUTPUT]));
  b.setMetadata(METADATA_KEYS.stages, JSON.stringify(spec.stages.map((s) => s.kind)));
  b.setMetadata(METADATA_KEYS.model, model.kind);
  return b.encode();
}

/**
 * The TypeScript reference evaluation of a pipeline, in float64 with the exact fitted
 * parameters: imputer, scaler(s), then the logistic model. Compiled graphs are tested against
 * it, so a difference between training-time and serving-time predictions is a test failure.
 *
 * `columns[j]` is the column of `spec.inputs[j]`; NaN means missing. Returns P(y = 1) per row.
 *
 * @example
 * ```ts
 * import { evaluatePipeline } from '@plinth/kernel-lib';
 * const p = evaluatePipeline(spec, [Float64Array.from([30, NaN]), Float64Array.from([61000, 12000])]);
 * // p[i] matches (await session.run(...)).probability[i] within float32 rounding
 * ```
 */
export function evaluatePipeline(spec: PipelineSpec, columns: Float64Array[]): Float64Array {
  const names = validateSpec(spec);
  if (columns.length !== names.length) {
    throw new Error(`evaluatePipeline: got ${columns.length} columns for ${names.length} inputs (${names.join(', ')})`);
  }
  const n = columns.length > 0 ? columns[0].length : 0;
  columns.forEach((c, j) => {
    if (c.length !== n) throw new Error(`evaluatePipeline: column '${names[j]}' has ${c.length} rows, expected ${n}`);
  });
  const f = names.length;
  const out = new Float64Array(n);
  const row = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) row[j] = columns[j][i];
    for (const stage of spec.stages) applyStage(stage, row);
    out[i] = logistic(spec.model, row);
  }
  return out;
}

function applyStage(stage: TransformerStage, row: Float64Array): void {
  if (stage.kind === 'imputer') {
    for (let j = 0; j < row.length; j++) if (Number.isNaN(row[j])) row[j] = stage.values[j];
  } else {
    for (let j = 0; j < row.length; j++) row[j] = (row[j] - stage.mean[j]) / stage.scale[j];
  }
}

function logistic(model: LogisticRegressionModel, row: Float64Array): number {
  let z = model.intercept;
  for (let j = 0; j < row.length; j++) z += model.coefficients[j] * row[j];
  // Two branches so exp never overflows to Infinity/Infinity.
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Checks names and parameter shapes; returns the input names (= feature order). */
function validateSpec(spec: PipelineSpec): string[] {
  const names = spec.inputs.map((i) => i.name);
  if (names.length === 0) throw new Error('a pipeline needs at least one input');
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.length === 0) throw new Error('input names must be non-empty strings');
    if (seen.has(name)) throw new Error(`input '${name}' is listed twice`);
    if (name === PROBABILITY_OUTPUT)
      throw new Error(`input '${name}' collides with the output name '${PROBABILITY_OUTPUT}'`);
    seen.add(name);
  }
  spec.stages.forEach((stage, k) => {
    const where = `stage ${k} (${stage.kind})`;
    checkFeatureNames(where, stage.featureNames, names);
    if (stage.kind === 'imputer') {
      checkParams(where, 'values', (stage as ImputerStage).values, names);
    } else if (stage.kind === 'standardScaler') {
      const s = stage as StandardScalerStage;
      checkParams(where, 'mean', s.mean, names);
      checkParams(where, 'scale', s.scale, names);
      s.scale.forEach((v, j) => {
        if (v === 0) throw new Error(`${where}: scale of '${names[j]}' is 0`);
      });
    } else {
      throw new Error(`${where}: unsupported stage kind`);
    }
  });
  const model = spec.model;
  if (model.kind !== 'logisticRegression')
    throw new Error(`unsupported model kind '${(model as { kind: string }).kind}'`);
  checkFeatureNames('model (logisticRegression)', model.featureNames, names);
  checkParams('model (logisticRegression)', 'coefficients', model.coefficients, names);
  if (!Number.isFinite(model.intercept))
    throw new Error(`model (logisticRegression): intercept ${model.intercept} is not finite`);
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

function checkParams(where: string, what: string, values: readonly number[], names: readonly string[]): void {
  if (values.length !== names.length)
    throw new Error(`${where}: ${what} has ${values.length} entries for ${names.length} features`);
  values.forEach((v, j) => {
    if (!Number.isFinite(v)) throw new Error(`${where}: ${what} of '${names[j]}' is ${v}, expected a finite number`);
  });
}

function quote(s: string): string {
  return `'${s}'`;
}
