/**
 * The TypeScript reference predictor: any fitted model (types.ts) on column-major data. The
 * compiled ONNX graph is tested against it output by output, so each model family's predictor
 * lives beside its trainer and this file only dispatches.
 */
import type { Columns, Model, Predictions } from './types';
import { predictProba, predictMultinomial } from './logistic';
import { predictLinearRegression } from './linear';
import { predictTreeEnsemble } from './tree-ensemble';
import { predictKMeans } from './kmeans';

/**
 * Predicts with any fitted model; `columns[j]` is the column of `model.featureNames[j]`.
 * Returns the outputs of the model's task (see {@link Predictions}).
 *
 * @example
 * ```ts
 * import { predict } from '@plinth/kernel-lib';
 * const model = { kind: 'linearRegression', featureNames: ['x'], coefficients: [2], intercept: 1 } as const;
 * predict(model, [Float64Array.from([0, 3])]).prediction; // Float64Array [1, 7]
 * ```
 */
export function predict(model: Model, columns: Columns): Predictions {
  switch (model.kind) {
    case 'logisticRegression':
      return { probability: predictProba(model, columns) };
    case 'multinomialLogisticRegression':
      return predictMultinomial(model, columns);
    case 'linearRegression':
      return { prediction: predictLinearRegression(model, columns) };
    case 'treeEnsemble':
      return predictTreeEnsemble(model, columns);
    case 'kmeans':
      return predictKMeans(model, columns);
    default:
      throw new Error(`predict: unknown model kind '${(model as { kind: string }).kind}'`);
  }
}
