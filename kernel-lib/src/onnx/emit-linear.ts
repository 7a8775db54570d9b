/**
 * ONNX emission of the linear models: binary and multinomial logistic regression and linear
 * regression. Each reads the float32 feature matrix [N, F] and writes the public outputs of its
 * task (train/types.ts `Predictions`), named exactly so.
 */
import type {
  LinearRegressionModel,
  LogisticRegressionModel,
  MultinomialLogisticRegressionModel,
} from '../train/types';
import type { EmittedOutput } from './emitted';
import { GraphBuilder, attr } from './graph-builder';
import { checkParams } from './emit-stages';

/**
 * Emits `probability` [N] = sigmoid(x w + b), P(y = classes[1]) (the class labels themselves
 * are metadata of the model and do not enter the graph).
 *
 * @example
 * ```ts
 * const outputs = emitLogisticRegression(b, model, 'features'); // [{ name: 'probability', shape: ['N'] }]
 * ```
 */
export function emitLogisticRegression(b: GraphBuilder, model: LogisticRegressionModel, x: string): EmittedOutput[] {
  const f = model.featureNames.length;
  const w = b.addFloatInitializer('logreg_coefficients', model.coefficients, [f, 1]);
  const bias = b.addFloatInitializer('logreg_intercept', [model.intercept], [1]);
  const [dot] = b.addNode('MatMul', [x, w], { name: 'logreg_matmul' });
  const [logit] = b.addNode('Add', [dot, bias], { name: 'logreg_logit' });
  const [p] = b.addNode('Sigmoid', [logit], { name: 'logreg_sigmoid' });
  const flat = b.addInt64Initializer('probability_shape', [-1], [1]);
  b.addNode('Reshape', [p, flat], { name: 'probability_reshape', outputs: ['probability'] });
  return [{ name: 'probability', shape: ['N'] }];
}

/**
 * Checks a binary logistic regression's parameters: one finite coefficient per feature, a
 * finite intercept and, if given, two distinct finite `classes`. Throws naming the parameter.
 *
 * @example
 * ```ts
 * validateLogisticRegression({ ...model, classes: [1, 1] }, 'model'); // throws: model: classes must be two distinct finite numbers, got [1, 1]
 * ```
 */
export function validateLogisticRegression(model: LogisticRegressionModel, where: string): void {
  checkParams(where, 'coefficients', model.coefficients, model.featureNames);
  if (!Number.isFinite(model.intercept)) throw new Error(`${where}: intercept ${model.intercept} is not finite`);
  const classes = model.classes;
  if (
    classes !== undefined &&
    (!Array.isArray(classes) || classes.length !== 2 || !classes.every(Number.isFinite) || classes[0] === classes[1])
  ) {
    throw new Error(`${where}: classes must be two distinct finite numbers, got [${String(classes)}]`);
  }
}

/**
 * Checks a multinomial model's parameters: at least two distinct, finite classes, one row of
 * `featureNames.length` finite coefficients and one finite intercept per class. Throws naming
 * the parameter (and class or feature).
 *
 * @example
 * ```ts
 * validateMultinomialLogisticRegression({ ...model, intercepts: [0] }, 'model'); // throws: model: intercepts has 1 entries for 3 classes
 * ```
 */
export function validateMultinomialLogisticRegression(model: MultinomialLogisticRegressionModel, where: string): void {
  const { classes, coefficients, intercepts, featureNames } = model;
  if (!Array.isArray(classes) || classes.length < 2)
    throw new Error(
      `${where}: classes needs at least 2 entries, got ${Array.isArray(classes) ? classes.length : classes}`,
    );
  classes.forEach((c, k) => {
    if (!Number.isFinite(c)) throw new Error(`${where}: classes[${k}] is ${c}, expected a finite number`);
    if (classes.indexOf(c) !== k)
      throw new Error(`${where}: classes has ${c} twice (at ${classes.indexOf(c)} and ${k})`);
  });
  const K = classes.length;
  if (!Array.isArray(coefficients) || coefficients.length !== K)
    throw new Error(`${where}: coefficients has ${coefficients?.length} rows for ${K} classes`);
  coefficients.forEach((row, k) => checkParams(where, `coefficients[${k}] (class ${classes[k]})`, row, featureNames));
  if (!Array.isArray(intercepts) || intercepts.length !== K)
    throw new Error(`${where}: intercepts has ${intercepts?.length} entries for ${K} classes`);
  intercepts.forEach((b, k) => {
    if (!Number.isFinite(b))
      throw new Error(`${where}: intercepts[${k}] (class ${classes[k]}) is ${b}, expected a finite number`);
  });
}

/**
 * Emits `probabilities` [N, K] = Softmax(x W^T + b) and `label` [N], the class value of the
 * largest logit (ArgMax takes the first on ties, as the reference; ArgMax runs on the logits,
 * which do not saturate in float32 as probabilities do), gathered from a float32 `classes` table.
 * Validates the model first ({@link validateMultinomialLogisticRegression}).
 *
 * @example
 * ```ts
 * const outputs = emitMultinomialLogisticRegression(b, model, 'features'); // [{ name: 'probabilities', … }, { name: 'label', … }]
 * ```
 */
export function emitMultinomialLogisticRegression(
  b: GraphBuilder,
  model: MultinomialLogisticRegressionModel,
  x: string,
): EmittedOutput[] {
  validateMultinomialLogisticRegression(model, `model (${model.kind})`);
  const f = model.featureNames.length;
  const K = model.classes.length;
  // W^T, [F, K]: column k holds class k's coefficients.
  const wt: number[] = [];
  for (let j = 0; j < f; j++) for (let k = 0; k < K; k++) wt.push(model.coefficients[k][j]);
  const w = b.addFloatInitializer('multinomial_coefficients', wt, [f, K]);
  const bias = b.addFloatInitializer('multinomial_intercepts', model.intercepts, [K]);
  const [dot] = b.addNode('MatMul', [x, w], { name: 'multinomial_matmul' });
  const [logits] = b.addNode('Add', [dot, bias], { name: 'multinomial_logits' });
  b.addNode('Softmax', [logits], {
    name: 'multinomial_softmax',
    attributes: { axis: attr.int(1) },
    outputs: ['probabilities'],
  });
  const [best] = b.addNode('ArgMax', [logits], {
    name: 'multinomial_argmax',
    attributes: { axis: attr.int(1), keepdims: attr.int(0), select_last_index: attr.int(0) },
  });
  const classes = b.addFloatInitializer('multinomial_classes', model.classes, [K]);
  b.addNode('Gather', [classes, best], { name: 'label_gather', attributes: { axis: attr.int(0) }, outputs: ['label'] });
  return [
    { name: 'probabilities', shape: ['N', K] },
    { name: 'label', shape: ['N'] },
  ];
}

/**
 * Checks a linear regression's parameters: one finite coefficient per feature and a finite
 * intercept. Throws naming the parameter.
 *
 * @example
 * ```ts
 * validateLinearRegression({ ...model, intercept: NaN }, 'model'); // throws: model: intercept NaN is not finite
 * ```
 */
export function validateLinearRegression(model: LinearRegressionModel, where: string): void {
  checkParams(where, 'coefficients', model.coefficients, model.featureNames);
  if (!Number.isFinite(model.intercept)) throw new Error(`${where}: intercept ${model.intercept} is not finite`);
}

/**
 * Emits `prediction` [N] = x w + b (MatMul + Add, reshaped from [N, 1]). Validates the model
 * first ({@link validateLinearRegression}).
 *
 * @example
 * ```ts
 * const outputs = emitLinearRegression(b, model, 'features'); // [{ name: 'prediction', shape: ['N'] }]
 * ```
 */
export function emitLinearRegression(b: GraphBuilder, model: LinearRegressionModel, x: string): EmittedOutput[] {
  validateLinearRegression(model, `model (${model.kind})`);
  const f = model.featureNames.length;
  const w = b.addFloatInitializer('linreg_coefficients', model.coefficients, [f, 1]);
  const bias = b.addFloatInitializer('linreg_intercept', [model.intercept], [1]);
  const [dot] = b.addNode('MatMul', [x, w], { name: 'linreg_matmul' });
  const [sum] = b.addNode('Add', [dot, bias], { name: 'linreg_add' });
  const flat = b.addInt64Initializer('prediction_shape', [-1], [1]);
  b.addNode('Reshape', [sum, flat], { name: 'prediction_reshape', outputs: ['prediction'] });
  return [{ name: 'prediction', shape: ['N'] }];
}
