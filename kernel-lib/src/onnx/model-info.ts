/** What a model predicts, read off its document: task, classes, and the outputs it writes. */
import type { Model, OutputName } from '../train/types';
import type { GraphValue } from './emitted';

/** The task of a model, with its classes (classifiers) or cluster count (k-means). */
export interface ModelInfo {
  kind: Model['kind'];
  task: 'binary' | 'multiclass' | 'regression' | 'clustering';
  /** Classifiers: the label value of each class index. */
  classes?: number[];
  /** The number of classes (classifiers) or clusters (k-means). */
  size?: number;
}

/**
 * The task, classes and size of a model.
 *
 * @example
 * modelInfo({ kind: 'kmeans', featureNames: ['x'], centroids: [[0], [1]] }); // { kind: 'kmeans', task: 'clustering', size: 2 }
 */
export function modelInfo(model: Model): ModelInfo {
  switch (model.kind) {
    case 'logisticRegression':
      return { kind: model.kind, task: 'binary', classes: model.classes ?? [0, 1], size: 2 };
    case 'multinomialLogisticRegression':
      return { kind: model.kind, task: 'multiclass', classes: model.classes, size: model.classes.length };
    case 'linearRegression':
      return { kind: model.kind, task: 'regression' };
    case 'kmeans':
      return { kind: model.kind, task: 'clustering', size: model.centroids.length };
    case 'treeEnsemble': {
      if (model.task === 'regression') return { kind: model.kind, task: 'regression' };
      const size = model.task === 'binary' ? 2 : model.nOutputs;
      const classes = model.classes ?? Array.from({ length: size }, (_, k) => k);
      return { kind: model.kind, task: model.task, classes, size };
    }
    default:
      throw new Error(`unsupported model kind '${(model as { kind: string }).kind}'`);
  }
}

/** The model's kind, with the task where the kind does not say it (e.g. `treeEnsemble (multiclass)`). */
export function describeModel(model: Model): string {
  return model.kind === 'treeEnsemble' ? `treeEnsemble (${model.task})` : model.kind;
}

/** The public outputs a model writes, in graph order. */
export function outputsOf(model: Model): OutputName[] {
  switch (model.kind) {
    case 'logisticRegression':
      return ['probability'];
    case 'multinomialLogisticRegression':
      return ['probabilities', 'label'];
    case 'linearRegression':
      return ['prediction'];
    case 'kmeans':
      return ['cluster', 'distances'];
    case 'treeEnsemble':
      return model.task === 'regression'
        ? ['prediction']
        : model.task === 'binary'
          ? ['probability']
          : ['probabilities', 'label'];
    default:
      throw new Error(`unsupported model kind '${(model as { kind: string }).kind}'`);
  }
}

/**
 * The model's outputs with their element type (all float32) and shape: [N], or [N, K] for
 * `probabilities` (K classes) and `distances` (K clusters).
 *
 * @example
 * modelOutputs(multinomial); // [{ name: 'probabilities', elementType: 'float32', shape: ['N', 3] }, { name: 'label', … }]
 */
export function modelOutputs(model: Model): GraphValue[] {
  const size = modelInfo(model).size;
  return outputsOf(model).map((name) => ({
    name,
    elementType: 'float32',
    shape: name === 'probabilities' || name === 'distances' ? ['N', size ?? 0] : ['N'],
  }));
}
