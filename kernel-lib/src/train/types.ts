/**
 * Fitted stages and models as plain JSON-able objects. Trainers (train/) produce them, the
 * ONNX compiler (onnx/) turns a sequence of them into one graph, and the TypeScript
 * `predict*` functions evaluate them directly so the two can be compared. Their shapes are
 * the pipeline document's (schema/schemas/pipeline.json), so a fitted stage is stored as is.
 *
 * - ImputerStage: replaces NaN in column j with `values[j]` (fitted: the training mean).
 * - StandardScalerStage: (x - mean[j]) / scale[j]; a zero-variance column gets scale 1.
 * - LogisticRegressionModel: p = sigmoid(intercept + sum_j coefficients[j] * x[j]).
 *
 * Columns are numeric feature columns in a fixed order (`featureNames`); NaN means missing.
 */
import type { LogisticRegressionModel } from '@plinth/schema';

export type { ImputerStage, StandardScalerStage, TransformerStage, LogisticRegressionModel } from '@plinth/schema';

export type Model = LogisticRegressionModel;

/** Column-major numeric data: columns[j][i] is feature j of row i. */
export type Columns = Float64Array[];
