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
import { GraphBuilder } from './graph-builder';
import { checkParams } from './emit-stages';

/** sigmoid(x W + b) reshaped to [N] as `probability`. */
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

export function validateLogisticRegression(model: LogisticRegressionModel, where: string): void {
  checkParams(where, 'coefficients', model.coefficients, model.featureNames);
  if (!Number.isFinite(model.intercept)) throw new Error(`${where}: intercept ${model.intercept} is not finite`);
}

/** `probabilities` [N, K] (softmax) and `label` [N]. */
export function emitMultinomialLogisticRegression(
  b: GraphBuilder,
  model: MultinomialLogisticRegressionModel,
  x: string,
): EmittedOutput[] {
  void b;
  void x;
  throw new Error(`compiling '${model.kind}' is not supported yet`);
}

/** `prediction` [N]. */
export function emitLinearRegression(b: GraphBuilder, model: LinearRegressionModel, x: string): EmittedOutput[] {
  void b;
  void x;
  throw new Error(`compiling '${model.kind}' is not supported yet`);
}
