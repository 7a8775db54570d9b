/**
 * Run tracking from notebooks: a run records parameters, metrics by step, tags, artifacts, the
 * example set it read, where it came from (notebook, git commit) and the environment (package
 * versions). `Plinth.train` records one by itself; `Plinth.startRun` is for anything else.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { PlinthClient, Run, RunArtifact, RunEnvironment, RunSource } from '@plinth/schema';

/** A parameter value as given; it is stored as a string (numbers in their shortest form). */
export type ParamValue = string | number | boolean;

/** Parameters as the run stores them: strings (numbers in their shortest form). */
export const paramStrings = (params: Record<string, ParamValue>): Record<string, string> =>
  Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));

/**
 * Where the code runs from: the notebook (JupyterLab gives kernels JPY_SESSION_NAME), the git
 * commit of the working directory (and whether it has uncommitted changes), the host.
 *
 * @example
 * runSource(); // { notebook: 'work/ctr.ipynb', gitCommit: '3f2c1d0...', gitDirty: false, host: 'jupyter-alice' }
 */
export function runSource(cwd = process.cwd()): RunSource {
  const source: RunSource = { host: os.hostname().slice(0, 255) };
  const notebook = process.env.JPY_SESSION_NAME;
  if (notebook) source.notebook = notebook.slice(0, 1000);
  else if (process.argv[1]) source.command = path.basename(process.argv[1]).slice(0, 1000);
  try {
    const git = (args: string[]) =>
      execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
        .toString()
        .trim();
    const commit = git(['rev-parse', 'HEAD']);
    if (/^[0-9a-f]{7,64}$/.test(commit)) {
      source.gitCommit = commit;
      source.gitDirty = git(['status', '--porcelain', '--untracked-files=no']).length > 0;
    }
  } catch {
    // not a git checkout, or no git: nothing to record
  }
  return source;
}

/** Versions of what shapes a run's results: Node, Plinth's kernel library and the libraries it trains with. */
export function runEnvironment(): RunEnvironment {
  const env: RunEnvironment = { node: process.version, platform: `${process.platform}-${process.arch}` };
  for (const pkg of ['@plinth/kernel-lib', 'onnxruntime-node', 'apache-arrow', '@duckdb/node-api', 'tslab']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      env[pkg] = (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      // not installed where this kernel runs
    }
  }
  return env;
}

/**
 * A run being recorded. Metrics are sent as they are logged; `end()` marks the run finished
 * (or failed). Parameters cannot change once logged: logging another value is an error (409).
 *
 * @example
 * const run = await p.startRun({ experiment: 'ctr', name: 'baseline', params: { model: 'logistic' } });
 * for (let epoch = 0; epoch < 3; epoch++) await run.logMetrics({ loss: 0.5 / (epoch + 1) }, epoch);
 * await run.end();
 */
export class TrackedRun {
  constructor(
    private readonly client: PlinthClient,
    /** The run as last read or written. */
    public run: Run,
  ) {}

  get id(): string {
    return this.run.id;
  }

  /** Records parameters (strings; numbers and booleans are converted). */
  async logParams(params: Record<string, ParamValue>): Promise<void> {
    await this.client.logRun(this.id, { params: paramStrings(params) });
  }

  /** Records metric values at a step (default 0). */
  async logMetrics(metrics: Record<string, number>, step = 0): Promise<void> {
    await this.client.logRun(this.id, {
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step })),
    });
  }

  /** Records one metric's series in one call: `values[i]` at step `i` (or at `steps[i]`). */
  async logSeries(key: string, values: number[], steps?: number[]): Promise<void> {
    for (let i = 0; i < values.length; i += 10_000)
      await this.client.logRun(this.id, {
        metrics: values.slice(i, i + 10_000).map((value, j) => ({ key, value, step: steps?.[i + j] ?? i + j })),
      });
  }

  /** Sets tags (they may be overwritten later). */
  async setTags(tags: Record<string, string>): Promise<void> {
    await this.client.logRun(this.id, { tags });
  }

  /** Stores a file of the run content-addressed (sha256) and records it under `path`. */
  async logArtifact(artifactPath: string, bytes: Uint8Array): Promise<RunArtifact> {
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    await this.client.putArtifact(sha256, bytes);
    const artifact = { path: artifactPath, sha256, bytes: bytes.length };
    await this.client.logRun(this.id, { artifacts: [artifact] });
    return artifact;
  }

  /** Ends the run ('finished' unless told otherwise) and returns it as stored. */
  async end(status: 'finished' | 'failed' | 'killed' = 'finished'): Promise<Run> {
    this.run = await this.client.updateRun(this.id, { status });
    return this.run;
  }

  /** Reads the run back (latest metrics, tags, artifacts). */
  async refresh(): Promise<Run> {
    this.run = await this.client.getRun(this.id);
    return this.run;
  }
}

/**
 * Runs side by side: one row per parameter and metric (latest value), one column per run
 * (its name, else the first 8 characters of its id), ready for `showTable`.
 *
 * @example
 * showTable(compareRunsTable(runs), 'GBT vs logistic');
 */
export function compareRunsTable(runs: Run[]): Record<string, string | number | null>[] {
  const label = (r: Run) => r.name ?? r.id.slice(0, 8);
  const columns = runs.map(label);
  const rows: Record<string, string | number | null>[] = [];
  const keys = (pick: (r: Run) => Record<string, unknown>) =>
    [...new Set(runs.flatMap((r) => Object.keys(pick(r))))].sort();
  for (const k of keys((r) => r.params))
    rows.push({ field: `params.${k}`, ...Object.fromEntries(runs.map((r, i) => [columns[i], r.params[k] ?? null])) });
  for (const k of keys((r) => r.metrics))
    rows.push({
      field: `metrics.${k}`,
      ...Object.fromEntries(runs.map((r, i) => [columns[i], r.metrics[k]?.value ?? null])),
    });
  return rows;
}
