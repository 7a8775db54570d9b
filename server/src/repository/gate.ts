import { randomUUID } from 'node:crypto';
import {
  problem,
  ProblemError,
  type Evaluation,
  type ExampleSet,
  type ExampleSetRef,
  type GatePolicy,
  type ModelVersion,
  type Pipeline,
} from '@plinth/schema';
import {
  evaluatePredictions,
  numericColumns,
  pipelineColumns,
  readParquetAsArrow,
  type Predictions,
  type Task,
} from '@plinth/kernel-lib';
import type { Table } from 'apache-arrow';
import type { Platform } from '../platform';
import type { RegistryRecord } from '../stores/types';
import { sessionOf } from './load';

type Metric = GatePolicy['metric'];

/** Metrics where smaller is better; the others are better larger. */
const LOWER_IS_BETTER: readonly Metric[] = ['logLoss', 'rmse', 'mae'];

const unprocessable = (detail: string, pointer: string) =>
  new ProblemError(problem(422, 'Cannot evaluate', detail, [{ pointer, detail }]));

/** What a model predicts, and its classes (original label values) for classifiers. */
function taskOf(model: Pipeline['model'], where: string): { task: Task; classes: number[] } {
  switch (model.kind) {
    case 'logisticRegression':
      return { task: 'binary', classes: model.classes ?? [0, 1] };
    case 'multinomialLogisticRegression':
      return { task: 'multiclass', classes: model.classes };
    case 'linearRegression':
      return { task: 'regression', classes: [] };
    case 'treeEnsemble':
      return { task: model.task, classes: model.classes ?? (model.task === 'binary' ? [0, 1] : []) };
    default:
      throw unprocessable(`${where} is a ${model.kind} model: it has no label to be evaluated against`, '/version');
  }
}

export const refText = (ref: ExampleSetRef): string => `${ref.name}${ref.version ? `@${ref.version}` : ''}`;

/** A holdout by name and version, or its newest version; null when there is none (or it was removed). */
export async function findExampleSet(p: Platform, ref: ExampleSetRef): Promise<RegistryRecord<ExampleSet> | null> {
  const es = ref.version
    ? await p.meta.getVersion<ExampleSet>('example-set', ref.name, ref.version)
    : await p.meta.getLatest<ExampleSet>('example-set', ref.name);
  return es && !es.deletedAt ? es : null;
}

/** The default gate metric of a task. */
export const defaultMetric = (task: Task): Metric =>
  task === 'binary' ? 'auc' : task === 'multiclass' ? 'accuracy' : 'rmse';

/** The holdout must have every input of the version as a column. */
function checkColumns(table: Table, v: ModelVersion, es: RegistryRecord<ExampleSet>): void {
  for (const input of v.pipeline.inputs)
    if (!table.getChild(input.name))
      throw unprocessable(
        `example set ${es.name}@${es.version} has no column '${input.name}', an input of ${v.name}@${v.version}`,
        '/exampleSet',
      );
}

async function scoreVersion(
  p: Platform,
  v: ModelVersion,
  table: Table,
  y: Float64Array,
  es: RegistryRecord<ExampleSet>,
): Promise<Record<string, number>> {
  const { task, classes } = taskOf(v.pipeline.model, `${v.name}@${v.version}`);
  const session = await sessionOf(p, v);
  checkColumns(table, v, es);
  const out = await session.run(pipelineColumns(table, v.pipeline.inputs));
  const preds: Predictions = {};
  for (const k of ['probability', 'probabilities', 'label', 'prediction'] as const)
    if (out[k]) preds[k] = Float64Array.from(out[k]);
  const m = evaluatePredictions(task, y, preds, classes);
  return Object.fromEntries(Object.entries(m).filter(([, x]) => typeof x === 'number' && Number.isFinite(x)));
}

/**
 * Scores a candidate version and the incumbent (the version behind an alias, if any) on the
 * same holdout example set, and applies the policy: the candidate must not be worse than the
 * incumbent by more than `maxRegression`, must beat it by `minImprovement`, and must reach
 * `minValue`. Returns the comparison (the caller records it); `passed` says what the policy decided.
 */
export async function evaluateVersions(
  p: Platform,
  candidate: ModelVersion,
  baseline: ModelVersion | null,
  ref: ExampleSetRef,
  actor: string,
  opts: { alias?: string; policy?: GatePolicy; metric?: Metric } = {},
): Promise<Evaluation> {
  const es = await findExampleSet(p, ref);
  if (!es) throw unprocessable(`example set ${refText(ref)} does not exist`, '/exampleSet');
  const { task } = taskOf(candidate.pipeline.model, `${candidate.name}@${candidate.version}`);
  const label =
    (candidate.trainingConfig as { label?: string } | undefined)?.label ??
    es.spec.columns.find((c) => c.role === 'label')?.name;
  if (!label) throw unprocessable(`example set ${es.name}@${es.version} has no label column`, '/exampleSet');
  const table = await readParquetAsArrow(es.spec.location.files, es.spec);
  if (!table.getChild(label))
    throw unprocessable(`example set ${es.name}@${es.version} has no label column '${label}'`, '/exampleSet');
  const y = numericColumns(table, [label])[0];

  const metric = opts.policy?.metric ?? opts.metric ?? defaultMetric(task);
  const cand = await scoreVersion(p, candidate, table, y, es);
  const base = baseline ? await scoreVersion(p, baseline, table, y, es) : null;
  const reasons: string[] = [];
  const c = cand[metric];
  const b = base?.[metric];
  const lower = LOWER_IS_BETTER.includes(metric);
  const fmt = (x: number) => Number(x.toPrecision(6));
  let delta: number | undefined;
  if (c === undefined)
    reasons.push(`${metric} cannot be computed for ${candidate.name}@${candidate.version} on this holdout`);
  else if (baseline && b !== undefined) {
    delta = c - b;
    const gain = lower ? -delta : delta;
    const policy = opts.policy;
    if (policy) {
      const allowed = policy.maxRegression ?? 0;
      if (gain < -allowed)
        reasons.push(
          `${metric} ${fmt(c)} is worse than version ${baseline.version}'s ${fmt(b)} by ${fmt(-gain)} (allowed: ${allowed})`,
        );
      if (policy.minImprovement !== undefined && gain < policy.minImprovement)
        reasons.push(
          `${metric} ${fmt(c)} improves on version ${baseline.version}'s ${fmt(b)} by ${fmt(gain)}, less than the required ${policy.minImprovement}`,
        );
    }
  }
  const minValue = opts.policy?.minValue;
  if (c !== undefined && minValue !== undefined && (lower ? c > minValue : c < minValue))
    reasons.push(
      `${metric} ${fmt(c)} is ${lower ? 'above' : 'below'} the policy's ${lower ? 'ceiling' : 'floor'} ${minValue}`,
    );

  return {
    id: randomUUID(),
    model: candidate.name,
    ...(opts.alias ? { alias: opts.alias } : {}),
    candidate: { version: candidate.version, metrics: cand },
    baseline: baseline && base ? { version: baseline.version, metrics: base } : null,
    exampleSet: { name: es.name, version: es.version },
    rows: table.numRows,
    metric,
    ...(delta !== undefined ? { delta } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
    passed: reasons.length === 0,
    ...(reasons.length ? { reasons } : {}),
    at: new Date().toISOString(),
    actor,
  };
}
