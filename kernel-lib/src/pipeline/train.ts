import type { Table } from 'apache-arrow';
import type { Pipeline, PipelineInput, Postprocessor } from '@plinth/schema';
import { fitImputer, fitOneHotEncoder, fitStandardScaler, applyStages, stageOutputNames } from '../train/preprocess';
import { fitLogisticRegression, fitMultinomialLogisticRegression } from '../train/logistic';
import { fitLinearRegression, type LinearRegressionOptions } from '../train/linear';
import { fitGbt, type GbtOptions, type GbtObjective } from '../train/gbt';
import { fitRandomForest, type RandomForestOptions } from '../train/forest';
import { predict } from '../train/predict';
import { accuracy, calibrationError, f1, logLoss, mae, multiLogLoss, prAuc, r2, rmse, rocAuc } from '../train/metrics';
import type { Columns, Model, Predictions, TransformerStage } from '../train/types';
import { graphOutputs } from '../onnx/compile';
import { columnsWithRole, exampleSetOf, featureColumns, numericColumns, SOURCE_KEY } from '../example-store';
import { progress, type Progress } from '../display';

/** The models {@link train} fits. */
export type TrainModel = 'logisticRegression' | 'linearRegression' | 'gbt' | 'randomForest';
/** What the label is: 0/1 (or any two values), a few classes, or a number. */
export type Task = 'binary' | 'multiclass' | 'regression';

/** Hyperparameters of the gradient-boosted trees (LightGBM's names and defaults; see docs/training.md). */
export type GbtParams = Partial<
  Omit<GbtOptions, 'featureNames' | 'columns' | 'y' | 'validation' | 'onIteration' | 'sampleWeight' | 'numClass'>
> & { objective?: GbtObjective };
/** Hyperparameters of the random forest (scikit-learn's defaults). */
export type RandomForestParams = Partial<
  Omit<RandomForestOptions, 'featureNames' | 'columns' | 'y' | 'task' | 'onTree' | 'sampleWeight'>
>;
/** Hyperparameters of linear regression: penalty 'none' (OLS), 'l2' (ridge), 'l1' (lasso), 'elasticnet'. */
export type LinearParams = Partial<Pick<LinearRegressionOptions, 'penalty' | 'alpha' | 'l1Ratio' | 'maxIter' | 'tol'>>;
/** Hyperparameters of logistic regression (scikit-learn's): C, penalty 'l2' | 'l1' | 'none'. */
export interface LogisticParams {
  C?: number;
  penalty?: 'l2' | 'l1' | 'none';
  maxIter?: number;
  tol?: number;
}

export interface TrainOptions {
  /** Training rows (e.g. an example set loaded with `loadExampleSet`). */
  data: Table;
  /** Rows to evaluate on (and to stop early on, for gbt); metrics are computed on both. */
  validation?: Table;
  /** The label column (default: the example set's only label). */
  label?: string;
  /** Feature columns (default: every feature column of the example set). */
  features?: string[];
  /** Default 'logisticRegression'. */
  model?: TrainModel;
  /**
   * Default: 'regression' for linearRegression; else 'binary' when the label takes exactly two
   * values, 'regression' when it has non-integer values; a label with more than two integer
   * values must say 'multiclass' or 'regression'.
   */
  task?: Task;
  /** The model's hyperparameters (see the Params types and docs/training.md). */
  params?: GbtParams | RandomForestParams | LinearParams | LogisticParams;
  /** Inverse L2 strength of logistic regression, as in scikit-learn (default 1.0); same as params.C. */
  C?: number;
  /** Iterations of logistic regression's solver (default 100); same as params.maxIter. */
  maxIter?: number;
  /** Show progress as an updating notebook display (default true). */
  display?: boolean;
}

/** Metrics of one split; which ones are present depends on the task. */
export interface Metrics {
  rows: number;
  /** binary */
  auc?: number;
  prAuc?: number;
  logLoss?: number;
  accuracy?: number;
  f1?: number;
  calibrationError?: number;
  positiveRate?: number;
  /** multiclass: accuracy, logLoss and macro-averaged F1 */
  macroF1?: number;
  /** regression */
  rmse?: number;
  mae?: number;
  r2?: number;
}

/** A trained pipeline: fitted stages and model, ready to compile and publish. */
export interface TrainResult {
  featureNames: string[];
  label: string;
  task: Task;
  stages: TransformerStage[];
  model: Model;
  metrics: { train: Metrics; validation?: Metrics };
  /**
   * How much each feature matters, largest first: total split gain (gbt), mean impurity
   * decrease (randomForest), |coefficient| on standardised features (linear models).
   */
  importance: { feature: string; importance: number }[];
  /** Per iteration (gbt): the objective's loss on the training and validation rows. */
  history?: { iteration: number; trainLoss?: number; validLoss?: number }[];
  /** Where each feature comes from (`view:feature`), from the example set's metadata. */
  sources: Record<string, string | undefined>;
  /** The example set the training rows were read from (`loadExampleSet`), when they were. */
  exampleSet?: { name: string; version: number };
  /**
   * The vocabulary of each string (Utf8 or dictionary) feature, sorted, learned from the
   * training rows: the model sees a value's index here (NaN for unknown or missing values), and
   * `pipelineSpec` makes the feature a `string` input whose graph does the same encoding.
   */
  vocabularies?: Record<string, string[]>;
  config: Record<string, unknown>;
}

/** The label column as numbers, with a clear error for a missing value. */
function labelsOf(table: Table, label: string, split: string): Float64Array {
  const [y] = numericColumns(table, [label]);
  for (let i = 0; i < y.length; i++)
    if (!Number.isFinite(y[i])) throw new Error(`label '${label}' has no finite value in ${split} row ${i} (${y[i]})`);
  return y;
}

function inferTask(model: TrainModel, label: string, y: Float64Array): Task {
  if (model === 'linearRegression') return 'regression';
  const distinct = new Set<number>();
  let integral = true;
  for (const v of y) {
    if (!Number.isInteger(v)) integral = false;
    if (distinct.size <= 2) distinct.add(v);
  }
  if (distinct.size === 2) return 'binary';
  if (!integral) return 'regression';
  if (distinct.size < 2) throw new Error(`label '${label}' has a single value (${[...distinct][0]}): nothing to learn`);
  throw new Error(`label '${label}' has more than two integer values: pass task: 'multiclass' or task: 'regression'`);
}

/** Distinct label values, sorted: the classes of a classifier (index = encoded label). */
function classesOf(y: Float64Array): number[] {
  return [...new Set(y)].sort((a, b) => a - b);
}

/** Labels as class indices; a value not among `classes` (validation only) is named. */
function encode(y: Float64Array, classes: number[], label: string, split: string): Float64Array {
  const index = new Map(classes.map((c, k) => [c, k]));
  return Float64Array.from(y, (v, i) => {
    const k = index.get(v);
    if (k === undefined)
      throw new Error(
        `label '${label}' in ${split} row ${i} is ${v}, not a class seen in training (${classes.join(', ')})`,
      );
    return k;
  });
}

/**
 * The metrics `train` reports, for any predictions of a model of `task` (e.g. a published
 * version scored on a holdout): AUC, log-loss, accuracy... for classifiers (`classes` are the
 * original label values), RMSE, MAE and R2 for regression.
 *
 * @example
 * const m = evaluatePredictions('binary', y, { probability }, [0, 1]); // m.auc
 */
export function evaluatePredictions(task: Task, y: Float64Array, out: Predictions, classes: number[]): Metrics {
  const rows = y.length;
  if (task === 'regression') {
    const p = out.prediction!;
    return { rows, rmse: rmse(y, p), mae: mae(y, p), r2: r2(y, p) };
  }
  if (task === 'binary') {
    const t = encode(y, classes, 'label', 'evaluation');
    const p = out.probability!;
    const pred = Float64Array.from(p, (v) => (v >= 0.5 ? 1 : 0));
    let pos = 0;
    for (const v of t) pos += v;
    const m: Metrics = { rows, logLoss: logLoss(t, p), accuracy: accuracy(t, pred), positiveRate: pos / rows };
    // AUC needs both classes; a validation split may lack one.
    if (pos > 0 && pos < rows) Object.assign(m, { auc: rocAuc(t, p), prAuc: prAuc(t, p) });
    return { ...m, f1: f1(t, pred), calibrationError: calibrationError(t, p) };
  }
  const t = encode(y, classes, 'label', 'evaluation');
  const labels = Float64Array.from(out.label!, (v) => classes.indexOf(v));
  return {
    rows,
    accuracy: accuracy(t, labels),
    logLoss: multiLogLoss(t, out.probabilities!, classes.length),
    macroF1: f1(t, labels, { average: 'macro', labels: classes.map((_, k) => k) }),
  };
}

const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(4));

/** The headline metric of a task, for progress lines. */
function headline(task: Task, m: Metrics): string {
  return task === 'regression'
    ? `RMSE ${fmt(m.rmse)}`
    : task === 'binary'
      ? `AUC ${fmt(m.auc)}`
      : `accuracy ${fmt(m.accuracy)}`;
}

interface Fitted {
  model: Model;
  stages: TransformerStage[];
  importance: number[];
  history?: TrainResult['history'];
  config: Record<string, unknown>;
}

/**
 * Linear models' stages: a one-hot encoder for the codes of each string feature (unknown and
 * missing give all zeros), then imputer + standard scaler (linear models need both; trees
 * handle NaN, codes and scale themselves). `names` are the model's features.
 */
function linearStages(
  featureNames: string[],
  X: Columns,
  categorical: readonly string[],
): { stages: TransformerStage[]; Z: Columns; names: string[] } {
  const oneHot: TransformerStage[] = [];
  let names = featureNames;
  let columns = X;
  for (const column of categorical) {
    const stage = fitOneHotEncoder(names, columns, column);
    oneHot.push(stage);
    columns = applyStages([stage], columns);
    names = stageOutputNames(stage);
  }
  const imputer = fitImputer(names, columns);
  const imputed = applyStages([imputer], columns);
  const scaler = fitStandardScaler(names, imputed);
  return { stages: [...oneHot, imputer, scaler], Z: applyStages([scaler], imputed), names };
}

/** Importance per feature from per-model-feature values: a one-hot encoded feature takes its largest indicator's. */
function perFeature(featureNames: string[], names: string[], values: number[]): number[] {
  return featureNames.map((f) => {
    const own = names.indexOf(f);
    if (own >= 0) return values[own];
    return Math.max(0, ...names.flatMap((n, c) => (n.startsWith(`${f}=`) ? [values[c]] : [])));
  });
}

function fitModel(
  kind: TrainModel,
  task: Task,
  featureNames: string[],
  X: Columns,
  t: Float64Array,
  classes: number[],
  opts: TrainOptions,
  valid: { X: Columns; t: Float64Array } | undefined,
  show: Progress | null,
  categorical: string[] = [],
): Fitted {
  const params = (opts.params ?? {}) as Record<string, unknown>;
  if (kind === 'logisticRegression' || kind === 'linearRegression') {
    const { stages, Z, names } = linearStages(featureNames, X, categorical);
    const maxIter =
      (params.maxIter as number | undefined) ?? opts.maxIter ?? (kind === 'linearRegression' ? 1000 : 100);
    const onIteration = (it: number, loss: number) =>
      show?.update(Math.min(0.95, it / Math.min(maxIter, 30)), `iteration ${it}, loss ${loss.toFixed(5)}`);
    let model: Model;
    let config: Record<string, unknown>;
    if (kind === 'linearRegression') {
      if (task !== 'regression')
        throw new Error(
          `linearRegression predicts a number; task '${task}' needs logisticRegression, gbt or randomForest`,
        );
      const p = params as LinearParams;
      config = {
        penalty: p.penalty ?? 'none',
        alpha: p.alpha ?? 1,
        l1Ratio: p.l1Ratio ?? 0.5,
        maxIter,
        tol: p.tol ?? 1e-4,
      };
      model = fitLinearRegression({ featureNames: names, columns: Z, y: t, ...p, maxIter });
    } else {
      if (task === 'regression')
        throw new Error(
          `logisticRegression is a classifier; for task 'regression' use linearRegression, gbt or randomForest`,
        );
      const p = params as LogisticParams;
      const C = p.C ?? opts.C ?? 1.0;
      config = { C, penalty: p.penalty ?? 'l2', maxIter, tol: p.tol ?? 1e-4 };
      // Fitted on the original label values: the model's classes are then the real ones.
      const y = Float64Array.from(t, (k) => classes[k]);
      const common = { featureNames: names, columns: Z, y, C, maxIter, tol: p.tol, onIteration };
      if (task === 'binary') model = fitLogisticRegression({ ...common, penalty: p.penalty });
      else model = fitMultinomialLogisticRegression({ ...common, penalty: p.penalty });
    }
    const fittedModel = model;
    const coef =
      fittedModel.kind === 'multinomialLogisticRegression'
        ? names.map((_, j) => Math.max(...fittedModel.coefficients.map((row) => Math.abs(row[j]))))
        : (fittedModel as { coefficients: number[] }).coefficients.map(Math.abs);
    return {
      model,
      stages,
      importance: perFeature(featureNames, names, coef),
      config: {
        ...config,
        preprocessing: [
          ...(categorical.length ? ['oneHotEncoder(string features)'] : []),
          'imputer(mean)',
          'standardScaler',
        ],
      },
    };
  }
  if (kind === 'gbt') {
    const p = params as GbtParams;
    const objective: GbtObjective =
      p.objective ?? (task === 'binary' ? 'binary' : task === 'multiclass' ? 'multiclass' : 'regression');
    const isClassifier = objective === 'binary' || objective === 'multiclass';
    if (isClassifier !== (task !== 'regression') || (objective === 'binary') !== (task === 'binary'))
      throw new Error(`objective '${objective}' does not fit task '${task}'`);
    const total = p.numIterations ?? 100;
    const r = fitGbt({
      ...p,
      objective,
      featureNames,
      columns: X,
      y: t,
      ...(task === 'multiclass' ? { numClass: classes.length } : {}),
      ...(valid ? { validation: { columns: valid.X, y: valid.t } } : {}),
      onIteration: ({ iteration, trainLoss, validLoss }) =>
        show?.update(
          iteration / total,
          `iteration ${iteration}/${total}` +
            (trainLoss !== undefined ? `, train loss ${trainLoss.toFixed(5)}` : '') +
            (validLoss !== undefined ? `, validation loss ${validLoss.toFixed(5)}` : ''),
        ),
    });
    const model = task === 'regression' ? r.model : { ...r.model, classes };
    return {
      model,
      stages: [],
      importance: r.featureImportance.gain,
      history: r.history,
      config: { ...(r.model.params ?? {}), bestIteration: r.bestIteration },
    };
  }
  if (kind === 'randomForest') {
    const p = params as RandomForestParams;
    const y = task === 'regression' ? t : Float64Array.from(t, (k) => classes[k]);
    const r = fitRandomForest({
      ...p,
      featureNames,
      columns: X,
      y,
      task: task === 'regression' ? 'regression' : 'classification',
      onTree: (done, total) => show?.update(done / total, `tree ${done}/${total}`),
    });
    return {
      model: r.model,
      stages: [],
      importance: r.featureImportance,
      config: { ...(r.model.params ?? {}), ...(r.oobScore !== undefined ? { oobScore: r.oobScore } : {}) },
    };
  }
  throw new Error(`unknown model '${String(kind)}' (one of logisticRegression, linearRegression, gbt, randomForest)`);
}

/**
 * Trains a model locally on an Arrow table (an example set, or any table with a label and
 * numeric feature columns): logistic or linear regression (with mean imputation and standard
 * scaling), gradient-boosted trees or a random forest (missing values handled by the trees).
 * Computes the task's metrics on the training and validation rows and feature importances,
 * and shows progress (iterations, validation loss) as an updating notebook display.
 *
 * @example
 * const examples = await plinth.loadExampleSet('clicks_train');
 * const { train: tr, test } = splitByTime(examples, 0.8);
 * const result = train({ data: tr, validation: test, model: 'gbt', params: { numLeaves: 15, earlyStoppingRounds: 10 } });
 * result.metrics.validation?.auc; // e.g. 0.78
 */
export function train(opts: TrainOptions): TrainResult {
  const label = opts.label ?? columnsWithRole(opts.data, 'label')[0];
  if (!label) throw new Error('no label column: pass `label`, or train on an example set');
  const featureNames = opts.features ?? columnsWithRole(opts.data, 'feature');
  if (featureNames.length === 0) throw new Error('no feature columns: pass `features`, or train on an example set');
  if (featureNames.includes(label)) throw new Error(`label '${label}' cannot also be a feature`);
  const kind = opts.model ?? 'logisticRegression';
  if (!['logisticRegression', 'linearRegression', 'gbt', 'randomForest'].includes(kind))
    throw new Error(`unknown model '${String(kind)}' (one of logisticRegression, linearRegression, gbt, randomForest)`);

  // String features become codes in their sorted vocabulary (the graph encodes the same way).
  const { columns: X, vocabularies } = featureColumns(opts.data, featureNames);
  const y = labelsOf(opts.data, label, 'training');
  const task = opts.task ?? inferTask(kind, label, y);
  const classes = task === 'regression' ? [] : classesOf(y);
  if (task === 'binary' && classes.length !== 2)
    throw new Error(`task 'binary' needs exactly two label values; '${label}' has ${classes.length}`);
  if (task === 'multiclass' && classes.length < 3)
    throw new Error(`task 'multiclass' needs at least three label values; '${label}' has ${classes.length}`);
  const t = task === 'regression' ? y : encode(y, classes, label, 'training');
  let valid: { X: Columns; y: Float64Array; t: Float64Array } | undefined;
  if (opts.validation) {
    const yv = labelsOf(opts.validation, label, 'validation');
    valid = {
      X: featureColumns(opts.validation, featureNames, vocabularies).columns,
      y: yv,
      t: task === 'regression' ? yv : encode(yv, classes, label, 'validation'),
    };
  }

  const show = opts.display !== false ? progress(`Training ${kind} (${task})`) : null;
  const fitted = fitModel(kind, task, featureNames, X, t, classes, opts, valid, show, Object.keys(vocabularies));
  const score = (cols: Columns, yy: Float64Array) =>
    evaluatePredictions(task, yy, predict(fitted.model, applyStages(fitted.stages, cols)), classes);
  const trainMetrics = score(X, y);
  const validation = valid ? score(valid.X, valid.y) : undefined;
  show?.done(
    `done: train ${headline(task, trainMetrics)}${validation ? `, validation ${headline(task, validation)}` : ''}`,
  );
  const sources = Object.fromEntries(
    featureNames.map((f) => [f, opts.data.schema.fields.find((x) => x.name === f)?.metadata.get(SOURCE_KEY)]),
  );
  const exampleSet = exampleSetOf(opts.data);
  return {
    featureNames,
    label,
    task,
    stages: fitted.stages,
    model: fitted.model,
    metrics: { train: trainMetrics, ...(validation ? { validation } : {}) },
    importance: featureNames
      .map((f, j) => ({ feature: f, importance: fitted.importance[j] }))
      .sort((a, b) => b.importance - a.importance),
    ...(fitted.history ? { history: fitted.history } : {}),
    sources,
    ...(exampleSet ? { exampleSet } : {}),
    ...(Object.keys(vocabularies).length ? { vocabularies } : {}),
    config: { model: kind, task, label, features: featureNames, ...fitted.config },
  };
}

/**
 * The pipeline document of a trained model: each feature becomes an input read from the
 * online store (by its example-set source `view:feature`), unless listed in `requestFeatures`.
 * A string feature (one with a vocabulary in the result) becomes a `string` input with its
 * categories; `defaults` gives missing values a number, or a category for a string input. The
 * outputs are the model's, then the post-processor's (default `identity`).
 *
 * @example
 * const spec = pipelineSpec('ctr', result, {
 *   requestFeatures: ['country'],
 *   defaults: { country: 'us' },
 *   postprocessor: { kind: 'threshold', threshold: 0.3, labels: ['skip', 'show'] },
 * });
 */
export function pipelineSpec(
  name: string,
  result: TrainResult,
  opts: {
    requestFeatures?: string[];
    defaults?: Record<string, number | string>;
    description?: string;
    postprocessor?: Postprocessor;
  } = {},
): Pipeline {
  const inputs: PipelineInput[] = result.featureNames.map((f) => {
    const source = result.sources[f];
    const isRequest = opts.requestFeatures?.includes(f);
    if (!isRequest && !source)
      throw new Error(
        `feature '${f}' has no example-set source; list it in requestFeatures or train on an example set`,
      );
    const [view, feature] = (source ?? ':').split(':');
    const categories = result.vocabularies?.[f];
    return {
      name: f,
      source: isRequest ? { kind: 'request' } : { kind: 'online', view, feature },
      ...(categories ? { type: 'string', categories: [...categories] } : { type: 'float64' }),
      ...(opts.defaults && f in opts.defaults ? { default: opts.defaults[f] } : {}),
    };
  });
  const postprocessor = opts.postprocessor ?? { kind: 'identity' };
  return {
    name,
    ...(opts.description ? { description: opts.description } : {}),
    inputs,
    transformer: result.stages,
    model: result.model,
    postprocessor,
    outputs: graphOutputs({ model: result.model, postprocessor }).map((o) => ({ name: o.name, type: o.elementType })),
  };
}
