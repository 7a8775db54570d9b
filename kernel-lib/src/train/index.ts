/**
 * Local training: preprocessing stages, linear and logistic regression, gradient-boosted trees,
 * random forests, k-means, evaluation metrics, cross-validation and feature importance. Every
 * fitted stage and model is plain JSON that the ONNX compiler (onnx/) turns into one graph.
 */
export * from './types';
export {
  fitImputer,
  fitStandardScaler,
  fitMinMaxScaler,
  fitOneHotEncoder,
  fitLabelEncoder,
  fitSelectFeatures,
  featureScores,
  applyStages,
  stageOutputNames,
  type SelectFeaturesSpec,
} from './preprocess';
export {
  fitLogisticRegression,
  predictProba,
  fitMultinomialLogisticRegression,
  predictMultinomial,
  type LogisticRegressionOptions,
  type MultinomialLogisticRegressionOptions,
} from './logistic';
export {
  fitLinearRegression,
  predictLinearRegression,
  type LinearRegressionOptions,
  type LinearPenalty,
} from './linear';
export { fitGbt, type GbtOptions, type GbtResult, type GbtObjective } from './gbt';
export { fitRandomForest, type RandomForestOptions, type RandomForestResult } from './forest';
export { fitKMeans, predictKMeans, type KMeansOptions, type KMeansResult } from './kmeans';
export { predictTreeEnsemble, validateTreeEnsemble } from './tree-ensemble';
export { predict } from './predict';
export * from './metrics';
export {
  kFold,
  crossValidate,
  type Fold,
  type KFoldOptions,
  type CrossValidateOptions,
  type CrossValidateResult,
} from './cv';
export {
  permutationImportance,
  type PermutationImportanceOptions,
  type PermutationImportanceResult,
} from './importance';
