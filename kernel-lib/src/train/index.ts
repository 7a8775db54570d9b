/** Local training: preprocessing stages, logistic regression and evaluation metrics. */
export * from './types';
export { fitImputer, fitStandardScaler, applyStages } from './preprocess';
export { fitLogisticRegression, predictProba } from './logistic';
export type { LogisticRegressionOptions } from './logistic';
export { rocAuc, logLoss, accuracy } from './metrics';
