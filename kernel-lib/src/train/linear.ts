/**
 * Linear regression: ordinary least squares, ridge, lasso and elastic net (scikit-learn's
 * LinearRegression, Ridge, Lasso, ElasticNet).
 */
import type { Columns, LinearRegressionModel } from './types';

/** prediction = intercept + sum_j coefficients[j] * x[j]. */
export function predictLinearRegression(model: LinearRegressionModel, columns: Columns): Float64Array {
  void model;
  void columns;
  throw new Error('predictLinearRegression: not implemented yet');
}
