import type { Table } from 'apache-arrow';
import type { Pipeline, PipelineInput } from '@plinth/schema';
import { fitImputer, fitStandardScaler, applyStages } from '../train/preprocess';
import { fitLogisticRegression, predictProba } from '../train/logistic';
import { accuracy, logLoss, rocAuc } from '../train/metrics';
import type { LogisticRegressionModel, TransformerStage } from '../train/types';
import { columnsWithRole, numericColumns, SOURCE_KEY } from '../example-store';
import { progress } from '../display';

export interface TrainOptions {
  /** Training rows (e.g. an example set loaded with `loadExampleSet`). */
  data: Table;
  /** Rows to evaluate on; metrics are computed on both. */
  validation?: Table;
  /** The label column (default: the example set's only label). */
  label?: string;
  /** Feature columns (default: every feature column of the example set). */
  features?: string[];
  model?: 'logisticRegression';
  /** Inverse L2 strength, as in scikit-learn (default 1.0). */
  C?: number;
  maxIter?: number;
  /** Show progress as an updating notebook display (default true). */
  display?: boolean;
}

export interface Metrics {
  auc: number;
  logLoss: number;
  accuracy: number;
  rows: number;
  positiveRate: number;
}

/** A trained pipeline: fitted stages and model, ready to compile and publish. */
export interface TrainResult {
  featureNames: string[];
  label: string;
  stages: TransformerStage[];
  model: LogisticRegressionModel;
  metrics: { train: Metrics; validation?: Metrics };
  /** |coefficient| on standardised features: how much each feature moves the score. */
  importance: { feature: string; importance: number }[];
  /** Where each feature comes from (`view:feature`), from the example set's metadata. */
  sources: Record<string, string | undefined>;
  config: Record<string, unknown>;
}

function labelsOf(table: Table, label: string): Float64Array {
  const [y] = numericColumns(table, [label]);
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new Error(`label '${label}' must be 0 or 1; row ${i} has ${y[i]}`);
  }
  return y;
}

function evaluate(y: Float64Array, p: Float64Array): Metrics {
  const pred = Float64Array.from(p, (v) => (v >= 0.5 ? 1 : 0));
  let pos = 0;
  for (const v of y) pos += v;
  return {
    auc: rocAuc(y, p),
    logLoss: logLoss(y, p),
    accuracy: accuracy(y, pred),
    rows: y.length,
    positiveRate: pos / y.length,
  };
}

/**
 * Trains a model locally on an Arrow table: mean imputation, standard scaling and a
 * logistic regression, with metrics on the training and validation rows. Shows progress in
 * the notebook.
 *
 * @example
 * const examples = await plinth.loadExampleSet('clicks_train');
 * const { train: tr, test } = splitByTime(examples, 0.8);
 * const result = train({ data: tr, validation: test });
 * result.metrics.validation?.auc; // e.g. 0.74
 */
export function train(opts: TrainOptions): TrainResult {
  const label = opts.label ?? columnsWithRole(opts.data, 'label')[0];
  if (!label) throw new Error('no label column: pass `label`, or train on an example set');
  const featureNames = opts.features ?? columnsWithRole(opts.data, 'feature');
  if (featureNames.length === 0) throw new Error('no feature columns: pass `features`, or train on an example set');
  if (featureNames.includes(label)) throw new Error(`label '${label}' cannot also be a feature`);
  const model = opts.model ?? 'logisticRegression';
  if (model !== 'logisticRegression') throw new Error(`unknown model '${String(model)}'`);
  const show = opts.display !== false ? progress(`Training ${model}`) : null;

  const X = numericColumns(opts.data, featureNames);
  const y = labelsOf(opts.data, label);
  const imputer = fitImputer(featureNames, X);
  const imputed = applyStages([imputer], X);
  const scaler = fitStandardScaler(featureNames, imputed);
  const stages: TransformerStage[] = [imputer, scaler];
  const Z = applyStages([scaler], imputed);
  const maxIter = opts.maxIter ?? 100;
  const fitted = fitLogisticRegression({
    featureNames,
    columns: Z,
    y,
    C: opts.C ?? 1.0,
    maxIter,
    onIteration: (it, loss) => show?.update(Math.min(0.95, it / 15), `iteration ${it}, loss ${loss.toFixed(5)}`),
  });
  const trainMetrics = evaluate(y, predictProba(fitted, Z));
  let validation: Metrics | undefined;
  if (opts.validation) {
    const Xv = applyStages(stages, numericColumns(opts.validation, featureNames));
    validation = evaluate(labelsOf(opts.validation, label), predictProba(fitted, Xv));
  }
  show?.done(
    `done: train AUC ${trainMetrics.auc.toFixed(4)}${validation ? `, validation AUC ${validation.auc.toFixed(4)}` : ''}`,
  );
  const sources = Object.fromEntries(
    featureNames.map((f) => [f, opts.data.schema.fields.find((x) => x.name === f)?.metadata.get(SOURCE_KEY)]),
  );
  return {
    featureNames,
    label,
    stages,
    model: fitted,
    metrics: { train: trainMetrics, ...(validation ? { validation } : {}) },
    importance: featureNames
      .map((f, j) => ({ feature: f, importance: Math.abs(fitted.coefficients[j]) }))
      .sort((a, b) => b.importance - a.importance),
    sources,
    config: {
      model,
      C: opts.C ?? 1.0,
      maxIter,
      label,
      features: featureNames,
      preprocessing: ['imputer(mean)', 'standardScaler'],
    },
  };
}

/**
 * The pipeline document of a trained model: each feature becomes an input read from the
 * online store (by its example-set source `view:feature`), unless listed in `requestFeatures`.
 *
 * @example
 * const spec = pipelineSpec('ctr', result);
 */
export function pipelineSpec(
  name: string,
  result: TrainResult,
  opts: { requestFeatures?: string[]; defaults?: Record<string, number>; description?: string } = {},
): Pipeline {
  const inputs: PipelineInput[] = result.featureNames.map((f) => {
    const source = result.sources[f];
    const isRequest = opts.requestFeatures?.includes(f);
    if (!isRequest && !source)
      throw new Error(
        `feature '${f}' has no example-set source; list it in requestFeatures or train on an example set`,
      );
    const [view, feature] = (source ?? ':').split(':');
    return {
      name: f,
      source: isRequest ? { kind: 'request' } : { kind: 'online', view, feature },
      type: 'float64',
      ...(opts.defaults && f in opts.defaults ? { default: opts.defaults[f] } : {}),
    };
  });
  return {
    name,
    ...(opts.description ? { description: opts.description } : {}),
    inputs,
    transformer: result.stages,
    model: result.model,
    postprocessor: { kind: 'identity' },
    outputs: [{ name: 'probability', type: 'float32' }],
  };
}
