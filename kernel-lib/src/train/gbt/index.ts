/**
 * Gradient-boosted decision trees, LightGBM's algorithm with LightGBM's parameter defaults,
 * producing a {@link TreeEnsembleModel} for `predictTreeEnsemble` and the ONNX compiler.
 *
 * - binary: task 'binary', one output, logistic transform, classes [0, 1];
 * - multiclass: one tree per class per iteration (`tree.outputs` = [class]), softmax;
 * - regression, regression_l1, huber: task 'regression', no transform.
 *
 * Thresholds are float32 values and rows go left when `Math.fround(x) <= threshold`; missing
 * values (NaN) go the way learned for each split. Leaf values include the learning rate.
 *
 * Files: binning.ts (quantile bins), histogram.ts (gradient histograms, row- and column-wise),
 * split.ts (best split, regularised gain), grow-tree.ts (leaf-wise growth), objectives.ts,
 * gbt.ts (the boosting loop), workers.ts (histograms on worker threads), random.ts.
 *
 * @example
 * ```ts
 * import { fitGbt } from './train/gbt';
 * const { model, bestIteration, history } = fitGbt({
 *   featureNames: ['age', 'income'],
 *   columns: [age, income], // Float64Array each, NaN = missing
 *   y: clicked, // 0/1
 *   objective: 'binary',
 *   numIterations: 500,
 *   validation: { columns: [ageV, incomeV], y: clickedV },
 *   earlyStoppingRounds: 20,
 *   threads: 2,
 * });
 * predictTreeEnsemble(model, [ageT, incomeT]).probability;
 * ```
 */
export { fitGbt } from './gbt';
export type { GbtOptions, GbtResult } from './gbt';
export type { GbtObjective } from './objectives';
