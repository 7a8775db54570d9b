import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from 'pino';

/**
 * One inference process per core (DESIGN.md: onnxruntime's run blocks the event loop, so the
 * tier scales by processes). The primary (which serves nothing itself) forks the workers,
 * which share the listening port, restarts a worker that dies, forwards SIGTERM/SIGINT for a
 * graceful drain, and sums the workers' metrics for /metrics.
 */
export function runPrimary(workers: number, log: Logger): void {
  // Serving allocates many short-lived objects per request; a larger young generation means
  // fewer scavenges (measured: about 19% more predictions/s on bench/inference's model).
  const execArgv = process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))
    ? process.execArgv
    : [...process.execArgv, '--max-semi-space-size=64'];
  cluster.setupPrimary({ execArgv });
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const listened = new Set<number>();
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('listening', () => listened.add(w.id));
    w.on('message', (msg: { type?: string; id?: number }) => {
      if (msg?.type !== 'plinth:metrics') return;
      aggregator.clusterMetrics().then(
        (text) => w.send({ type: 'plinth:metrics-reply', id: msg.id, text }),
        (e: unknown) => w.send({ type: 'plinth:metrics-reply', id: msg.id, error: (e as Error).message }),
      );
    });
    return w;
  };
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (w, code, signal) => {
    if (!stopping && !listened.has(w.id)) {
      // It failed before serving (bad configuration, port taken): restarting would only loop.
      log.error({ pid: w.process.pid, code, signal }, 'an inference worker failed to start; stopping');
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = code || 1;
      if (!Object.keys(cluster.workers ?? {}).length) process.exit(process.exitCode);
      return;
    }
    if (stopping) {
      if (!Object.keys(cluster.workers ?? {}).length) process.exit(process.exitCode ?? 0);
      return;
    }
    log.error({ pid: w.process.pid, code, signal }, 'inference worker died; starting another');
    fork();
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log.info('draining the inference workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** In a worker: the metrics of every worker, summed by the primary. */
export function clusterMetricsText(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's worker-side listener that answers the primary.
  new AggregatorRegistry();
  let next = 0;
  const pending = new Map<number, { resolve(t: string): void; reject(e: Error): void }>();
  process.on('message', (msg: { type?: string; id?: number; text?: string; error?: string }) => {
    if (msg?.type !== 'plinth:metrics-reply' || msg.id === undefined) return;
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error !== undefined) p?.reject(new Error(msg.error));
    else p?.resolve(msg.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      process.send?.({ type: 'plinth:metrics', id });
    });
}

export const isClusterWorker = (): boolean => cluster.isWorker;
