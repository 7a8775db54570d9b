/**
 * Fitted stages and models as plain JSON-able objects. Trainers (train/) produce them, the
 * ONNX compiler (onnx/) turns a sequence of them into one graph, and the TypeScript
 * predictors (`predict.ts`, `applyStages`) evaluate them directly so the two can be compared.
 * Their shapes are the pipeline document's (schema/schemas/pipeline.json), so a fitted stage or
 * model is stored as is.
 *
 * Columns are numeric feature columns in a fixed order (`featureNames`); NaN means missing.
 */
import type { ModelSpec } from '@plinth/schema';

export type {
  ImputerStage,
  StandardScalerStage,
  MinMaxScalerStage,
  OneHotEncoderStage,
  LabelEncoderStage,
  SelectFeaturesStage,
  TransformerStage,
  LogisticRegressionModel,
  LinearRegressionModel,
  MultinomialLogisticRegressionModel,
  TreeEnsembleModel,
  DecisionTree,
  KMeansModel,
} from '@plinth/schema';

/** Any fitted model (the pipeline document's `model`). */
export type Model = ModelSpec;

/** Column-major numeric data: columns[j][i] is feature j of row i. */
export type Columns = Float64Array[];

/**
 * What a model outputs, by task; the compiled ONNX graph has outputs of the same names
 * (float32), and the TypeScript predictors return them as Float64Array:
 *
 * - binary classifiers: `probability` [N], P(y = classes[1]);
 * - multiclass classifiers: `probabilities` [N, K] row-major, and `label` [N], the class value
 *   (from `classes`) of the highest probability;
 * - regressors: `prediction` [N];
 * - k-means: `cluster` [N], the index of the nearest centroid, and `distances` [N, K] row-major,
 *   Euclidean distance to each centroid (scikit-learn's `transform`).
 */
export interface Predictions {
  probability?: Float64Array;
  probabilities?: Float64Array;
  label?: Float64Array;
  prediction?: Float64Array;
  cluster?: Float64Array;
  distances?: Float64Array;
}

/** The names of {@link Predictions}: the public outputs of a compiled graph. */
export type OutputName = keyof Predictions;
