import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { problem, ProblemError } from '@plinth/schema';
import type { BatchSlice } from './batcher';
import type { InferenceMetrics } from './metrics';
import type { LoadedModel, ServedDeployment } from './model-cache';
import type { PredictionLog } from './prediction-log';
import type { Instance } from './score';

export type Variant = 'primary' | 'canary' | 'shadow';

export interface Prediction {
  model: LoadedModel;
  variant: Variant;
  ids: string[];
  slice: BatchSlice;
}

export interface PredictOptions {
  experiment?: string;
  /** Serve this version of the deployment (it must be its primary, canary or shadow). */
  version?: number;
  /** For metrics: 'json' or 'v2'. */
  protocol: string;
}

/**
 * Answers a request for a deployment: picks the variant (the canary for its share of requests),
 * scores through the version's micro-batcher within the time limit, then hands the result to
 * the prediction log and runs the shadow version on a copy, both after the answer is built so
 * neither can delay or fail it.
 */
export class Predictor {
  constructor(
    private readonly metrics: InferenceMetrics,
    private readonly predictionLog: PredictionLog | null,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  async predict(s: ServedDeployment, instances: Instance[], opts: PredictOptions): Promise<Prediction> {
    const started = performance.now();
    const { model, variant } = pick(s, opts.version);
    const labels = { deployment: s.deployment.name, model: model.model.name, version: String(model.model.version) };
    let status = 200;
    try {
      const slice = await withTimeout(model.batcher.submit(instances), this.timeoutMs);
      const ids = instances.map(() => crypto.randomUUID());
      const latencyMs = performance.now() - started;
      this.metrics.predictions.inc({ ...labels, variant }, instances.length);
      this.record(s, model, variant, ids, instances, slice, latencyMs, opts.experiment);
      if (s.shadow && variant !== 'shadow') this.shadow(s, s.shadow, instances, opts.experiment);
      return { model, variant, ids, slice };
    } catch (e) {
      status = e instanceof ProblemError ? e.problem.status : 500;
      this.metrics.errors.inc({ ...labels, kind: status < 500 ? 'client' : 'server' });
      throw e;
    } finally {
      this.metrics.requests.inc({ ...labels, protocol: opts.protocol, status: String(status) });
      this.metrics.latency.observe(labels, (performance.now() - started) / 1000);
    }
  }

  private record(
    s: ServedDeployment,
    m: LoadedModel,
    variant: Variant,
    ids: string[],
    instances: Instance[],
    slice: BatchSlice,
    latencyMs: number,
    experiment?: string,
  ): void {
    this.predictionLog?.append({
      at: Date.now(),
      deployment: s.deployment.name,
      model: m.model.name,
      version: m.model.version,
      variant,
      ...(experiment ? { experiment } : {}),
      latencyMs,
      ids,
      instances,
      columns: slice.columns,
      offset: slice.offset,
      outputs: slice.outputs,
    });
  }

  /** The shadow scores a copy of the request after the answer; its outputs go only to the log. */
  private shadow(s: ServedDeployment, m: LoadedModel, instances: Instance[], experiment?: string): void {
    setImmediate(() => {
      const started = performance.now();
      m.batcher.submit(instances).then(
        (slice) => {
          const labels = { deployment: s.deployment.name, model: m.model.name, version: String(m.model.version) };
          this.metrics.predictions.inc({ ...labels, variant: 'shadow' }, instances.length);
          const ids = instances.map(() => crypto.randomUUID());
          this.record(s, m, 'shadow', ids, instances, slice, performance.now() - started, experiment);
        },
        (e: unknown) => this.log.debug({ err: e, deployment: s.deployment.name }, 'shadow prediction failed'),
      );
    });
  }
}

function pick(s: ServedDeployment, version?: number): { model: LoadedModel; variant: Variant } {
  if (version !== undefined) {
    for (const [m, variant] of [
      [s.primary, 'primary'],
      [s.canary?.model, 'canary'],
      [s.shadow, 'shadow'],
    ] as const)
      if (m && m.model.version === version) return { model: m, variant };
    throw new ProblemError(
      problem(
        404,
        'Unknown version',
        `deployment '${s.deployment.name}' does not serve version ${version} (it serves ${s.primary.model.version})`,
      ),
    );
  }
  if (s.canary && Math.random() < s.canary.share) return { model: s.canary.model, variant: 'canary' };
  return { model: s.primary, variant: 'primary' };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProblemError(problem(503, 'Prediction timed out', `no answer within ${ms} ms; try again`))),
      ms,
    );
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
