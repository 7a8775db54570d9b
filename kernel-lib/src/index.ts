/**
 * @plinth/kernel-lib: what a notebook imports.
 *
 * @example
 * import * as plinth from '@plinth/kernel-lib';
 * const p = plinth.connect();
 */
export * from './plinth';
export * from './display';
export * from './example-store';
export * from './pipeline/assemble';
export * from './pipeline/document';
export * from './pipeline/vocabulary';
export * from './pipeline/train';
export * from './train';
export * from './onnx';
export * from './online';
export { PlinthClient, InferenceClient, ProblemError, formatProblem } from '@plinth/schema';
export type * from '@plinth/schema';
export * from './pipeline/model-file';
export * from './tracking';
