import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The inference tier's Prometheus metrics (DESIGN.md: `plinth_` prefix, base units, `_total`
 * counters). One registry per process; with several worker processes, /metrics answers with
 * the sum over all of them (see cluster.ts).
 */
export class InferenceMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'plinth_inference_requests_total',
    help: 'Prediction requests answered, by deployment, model, version, protocol and HTTP status',
    labelNames: ['deployment', 'model', 'version', 'protocol', 'status'] as const,
    registers: [this.registry],
  });
  readonly predictions = new Counter({
    name: 'plinth_inference_predictions_total',
    help: 'Instances scored, by deployment, model, version and variant (primary, canary, shadow)',
    labelNames: ['deployment', 'model', 'version', 'variant'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'plinth_inference_request_duration_seconds',
    help: 'Time from a prediction request arriving to its answer, by deployment and version',
    labelNames: ['deployment', 'model', 'version'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'plinth_inference_batch_size',
    help: 'Instances per onnxruntime run after micro-batching, by model and version',
    labelNames: ['model', 'version'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'plinth_inference_errors_total',
    help: 'Failed prediction requests, by deployment, model, version and kind (client: 4xx, server: 5xx)',
    labelNames: ['deployment', 'model', 'version', 'kind'] as const,
    registers: [this.registry],
  });
  readonly logWritten = new Counter({
    name: 'plinth_prediction_log_rows_total',
    help: 'Predictions written to the prediction log',
    registers: [this.registry],
  });
  readonly logDropped = new Counter({
    name: 'plinth_prediction_log_dropped_total',
    help: 'Predictions not logged because the log buffer was full or a write failed',
    registers: [this.registry],
  });
  readonly logPending = new Gauge({
    name: 'plinth_prediction_log_pending_rows',
    help: 'Predictions waiting to be written to the prediction log',
    registers: [this.registry],
  });
  readonly modelsLoaded = new Gauge({
    name: 'plinth_inference_models_loaded',
    help: 'Model versions loaded in this process',
    registers: [this.registry],
  });
}
