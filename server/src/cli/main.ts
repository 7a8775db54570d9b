import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  PlinthClient,
  ProblemError,
  formatProblem,
  registryKinds,
  type CatalogQuery,
  type ExampleSet,
  type Job,
  type MaterializationResult,
  type RegistryPath,
} from '@plinth/schema';
import { ConfigError, defaultDataDir, loadConfig, parsePort, type ConfigOverrides } from '../config';
import { VERSION } from '../version';
import { closeObjectStore, openObjectStore, openPlatform } from '../platform';
import { createControlPlane } from '../http/control-plane';
import { createInferenceServer } from '../inference/server';
import { isClusterWorker, runPrimary } from '../inference/cluster';
import { openOnlineStore } from '@plinth/kernel-lib';
import { createLogger, onlineStoreLogger } from './logger';
import { ProgressLine } from './progress';
import { registerOnlineCommands } from './online-commands';
import { registerRunCommands } from './run-commands';
import { registerModelCommands } from './model-commands';
import { registerBatchCommands } from './batch-commands';
import { registerDeploymentCommands } from './deployment-commands';
import { JobRunner } from '../jobs/runner';
import { jobHandlers } from '../jobs/handlers';
import { remoteMeta, remoteQueue } from '../jobs/remote';
import { mergeDefinitions, readDefinitions } from './apply';
import { writeDemoLake, yesterday, type DemoSize } from './demo-data';
import { repoRoot, up } from './up';

const port = (what: string) => (v: string) => {
  try {
    return parsePort(v, what);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${v}'`);
  return n;
};
const nonNegativeInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number >= 0, got '${v}'`);
  return n;
};
const isoDate = (v: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v)))
    throw new InvalidArgumentError(`expected a date YYYY-MM-DD, got '${v}'`);
  return v;
};
const isoTime = (flag: string) => (v: string) => {
  if (Number.isNaN(Date.parse(v))) throw new InvalidArgumentError(`${flag}: expected an ISO 8601 time, got '${v}'`);
  return v;
};
const sizes = ['tiny', 'small', 'medium', 'large'];

interface CommonFlags {
  dataDir?: string;
  config?: string;
  host?: string;
  port?: number;
  inferPort?: number;
  logLevel?: string;
  objectStore?: string;
  onlineStore?: string;
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', `data directory (env PLINTH_DATA_DIR, default ${defaultDataDir()})`)
    .option('--config <file>', 'config file, YAML (env PLINTH_CONFIG, default <data-dir>/plinth.yaml)')
    .option('--host <host>', 'interface to listen on (env PLINTH_HOST, default 127.0.0.1)')
    .option('--port <port>', 'control plane port (env PLINTH_PORT, default 8787)', port('--port'))
    .option('--infer-port <port>', 'inference tier port (env PLINTH_INFER_PORT, default 8788)', port('--infer-port'))
    .option('--log-level <level>', 'log level (env PLINTH_LOG_LEVEL, default info)');
}

/** For the commands that open the object and online stores themselves. */
const withObjectStore = (cmd: Command): Command =>
  cmd
    .option(
      '--object-store <url>',
      'object store: s3://bucket/prefix or a local directory (env PLINTH_OBJECT_STORE, default <data-dir>/objects)',
    )
    .option(
      '--online-store <url>',
      'online store: lmdb, redis://host:port, rediss://host:port or redis-cluster://host:port,host:port (env PLINTH_ONLINE_STORE, default lmdb in <data-dir>/online; password from PLINTH_REDIS_PASSWORD)',
    );

const overrides = (f: CommonFlags & { controlPlane?: string }): ConfigOverrides => ({
  dataDir: f.dataDir,
  objectStore: f.objectStore,
  onlineStore: f.onlineStore,
  config: f.config,
  host: f.host,
  port: f.port,
  inferPort: f.inferPort,
  logLevel: f.logLevel,
  controlPlaneUrl: f.controlPlane,
});

/** A client of the control plane the flags, environment and config file point at. */
function clientOf(f: CommonFlags & { controlPlane?: string }): PlinthClient {
  const config = loadConfig(overrides(f));
  return new PlinthClient({ baseUrl: config.controlPlaneUrl, token: config.token });
}

function onSignals(close: () => Promise<void>): void {
  const handler = () => void close().then(() => process.exit(0));
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export function buildProgram(): Command {
  const program = new Command('plinth')
    .description(
      'Plinth: features, training examples, models, deployments, experiments and monitoring for notebook teams',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)');

  withObjectStore(withCommon(program.command('up')))
    .description(
      'bring the whole platform up on one machine with embedded stores (demo lake, control plane, inference tier, JupyterLab)',
    )
    .option('--no-jupyter', 'do not start JupyterLab')
    .option('--jupyter-port <port>', 'JupyterLab port', port('--jupyter-port'), 8888)
    .option('--no-demo', 'do not generate the demo lake or apply the demo definitions')
    .addOption(
      new Option('--demo-size <size>', 'size of the demo lake generated on first run').choices(sizes).default('small'),
    )
    .option(
      '--venv <dir>',
      'Python virtual environment with JupyterLab (env PLINTH_VENV)',
      process.env.PLINTH_VENV ?? path.join(repoRoot, '.venv'),
    )
    .option('--notebook-dir <dir>', 'folder JupyterLab opens', path.join(repoRoot, 'examples'))
    .action(
      async (
        f: CommonFlags & {
          jupyter: boolean;
          jupyterPort: number;
          demo: boolean;
          demoSize: DemoSize;
          venv: string;
          notebookDir: string;
        },
      ) => {
        await up(loadConfig(overrides(f)), {
          jupyter: f.jupyter,
          jupyterPort: f.jupyterPort,
          demo: f.demo,
          demoSize: f.demoSize,
          venv: path.resolve(f.venv),
          notebookDir: path.resolve(f.notebookDir),
          storeFlags: { objectStore: f.objectStore, onlineStore: f.onlineStore },
        });
      },
    );

  withObjectStore(withCommon(program.command('serve')))
    .description('run the control plane (registry, jobs, example sets, model repository, deployments)')
    .option('--no-jobs', 'do not run jobs in this process (leave them to `plinth worker` processes)')
    .option('--no-streams', "do not consume feature views' streams in this process (another replica does)")
    .action(async (f: CommonFlags & { jobs: boolean; streams: boolean }) => {
      const config = loadConfig(overrides(f));
      const log = createLogger(config.logLevel, 'plinth-control-plane');
      const platform = await openPlatform(config, { onOnlineStoreEvent: onlineStoreLogger(log) });
      const cp = await createControlPlane(platform, log, { runJobs: f.jobs, streams: f.streams });
      await cp.app.listen({ host: config.host, port: config.port });
      onSignals(async () => {
        await cp.close();
        await platform.close();
      });
    });

  withObjectStore(withCommon(program.command('infer')))
    .description('run the inference tier: serves the deployed pipelines, reading online features itself')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL, default http://<host>:<port>)')
    .option('--poll <ms>', 'fallback poll for deployment changes (changes are also pushed at once)', positiveInt, 5000)
    .option(
      '--workers <n>',
      'processes serving the port (default: one per core)',
      positiveInt,
      os.availableParallelism(),
    )
    .option('--max-batch <n>', 'most instances per onnxruntime run (micro-batching)', positiveInt, 256)
    .option('--max-wait-ms <ms>', 'how long a request may wait to be batched with others', nonNegativeInt, 0)
    .option('--timeout-ms <ms>', 'a prediction not answered by then gets a 503', positiveInt, 2000)
    .option('--max-body-bytes <n>', 'largest request body', positiveInt, 8 * 1024 * 1024)
    .option('--no-prediction-log', 'do not write the prediction log')
    .action(
      async (
        f: CommonFlags & {
          controlPlane?: string;
          poll: number;
          workers: number;
          maxBatch: number;
          maxWaitMs: number;
          timeoutMs: number;
          maxBodyBytes: number;
          predictionLog: boolean;
        },
      ) => {
        const config = loadConfig(overrides(f));
        const log = createLogger(config.logLevel, 'plinth-inference');
        // Even one worker runs under a primary: it restarts a worker that dies and tunes its heap.
        if (!isClusterWorker()) {
          runPrimary(f.workers, log);
          return;
        }
        const online = await openOnlineStore(config.onlineStore, { readOnly: true, onEvent: onlineStoreLogger(log) });
        const objects = openObjectStore(config);
        const srv = await createInferenceServer({
          controlPlaneUrl: config.controlPlaneUrl,
          token: config.token,
          online,
          objects,
          log,
          pollMs: f.poll,
          batch: { maxBatch: f.maxBatch, maxWaitMs: f.maxWaitMs },
          timeoutMs: f.timeoutMs,
          bodyLimit: f.maxBodyBytes,
          ...(f.predictionLog ? {} : { predictionLog: false as const }),
          // /metrics answers with every worker's metrics, summed by the primary.
          clusterWorker: true,
        });
        await srv.app.listen({ host: config.host, port: config.inferPort });
        onSignals(async () => {
          await srv.close();
          await online.close();
          closeObjectStore(objects);
        });
      },
    );

  withObjectStore(withCommon(program.command('worker')))
    .description(
      'run background jobs (materialization, example sets, batch inference) leased from the control plane; pair with `serve --no-jobs`',
    )
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .option('--concurrency <n>', 'jobs run at once', positiveInt, 2)
    .action(async (f: CommonFlags & { controlPlane?: string; concurrency: number }) => {
      const config = loadConfig(overrides(f));
      const log = createLogger(config.logLevel, 'plinth-worker');
      const client = new PlinthClient({ baseUrl: config.controlPlaneUrl, token: config.token });
      await client.health();
      const online = await openOnlineStore(config.onlineStore, { onEvent: onlineStoreLogger(log) });
      const objects = openObjectStore(config);
      const env = {
        config: { lakeDir: config.lakeDir },
        objects,
        online,
        meta: remoteMeta(client),
      };
      const runner = new JobRunner(remoteQueue(client), jobHandlers(env), log, f.concurrency);
      runner.start();
      log.info({ controlPlane: config.controlPlaneUrl, owner: runner.owner }, 'worker started');
      onSignals(async () => {
        await runner.stop();
        await online.close();
        closeObjectStore(objects);
      });
    });

  withCommon(program.command('demo-data'))
    .description(
      'generate the synthetic e-commerce data lake (users, products, sessions, impressions, clicks, purchases)',
    )
    .option('--lake-dir <dir>', 'where to write the lake (default <data-dir>/lake)')
    .addOption(new Option('--size <size>', 'how much data').choices(sizes).default('small'))
    .option('--seed <n>', 'random seed; the same seed gives the same data', positiveInt, 42)
    .option('--days <n>', 'number of days', positiveInt, 30)
    .option('--end-date <date>', 'last day, YYYY-MM-DD (default yesterday)', isoDate)
    .option('--overwrite', 'replace an existing lake', false)
    .action(
      async (
        f: CommonFlags & {
          lakeDir?: string;
          size: DemoSize;
          seed: number;
          days: number;
          endDate?: string;
          overwrite: boolean;
        },
      ) => {
        const config = loadConfig(overrides(f));
        await writeDemoLake({
          lakeDir: path.resolve(f.lakeDir ?? config.lakeDir),
          size: f.size,
          seed: f.seed,
          days: f.days,
          endDate: f.endDate ?? yesterday(),
          overwrite: f.overwrite,
        });
      },
    );

  withCommon(program.command('plan'))
    .description(
      'show what `apply` would change for definition files (create, update with the changed fields, unchanged); writes nothing',
    )
    .argument('<files...>', 'definition files (YAML or JSON)')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (files: string[], f: CommonFlags & { controlPlane?: string }) => {
      const client = clientOf(f);
      const defs = mergeDefinitions(files.map(readDefinitions));
      const { changes } = await client.plan(defs);
      for (const c of changes) {
        const what =
          c.action === 'update'
            ? `update (version ${c.currentVersion} -> new version): ${c.changes.join(', ')}`
            : c.action;
        process.stdout.write(`${c.kind} ${c.name}: ${what}\n`);
      }
      const n = (a: string) => changes.filter((c) => c.action === a).length;
      process.stdout.write(`Plan: ${n('create')} to create, ${n('update')} to update, ${n('unchanged')} unchanged.\n`);
    });

  withCommon(program.command('apply'))
    .description(
      'apply definitions (entities, dataSources, featureViews, featureServices, labelViews) from YAML or JSON files',
    )
    .argument('<files...>', 'definition files')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (files: string[], f: CommonFlags & { controlPlane?: string }) => {
      const client = clientOf(f);
      for (const file of files) {
        const defs = readDefinitions(file);
        for (const r of await client.applyDefinitions(defs)) {
          process.stdout.write(`${r.kind} ${r.name}: version ${r.version}${r.created ? '' : ' (unchanged)'}\n`);
        }
      }
    });
  withCommon(program.command('materialize'))
    .description(
      'materialize a feature or label view and wait: a full refresh, a backfill of --start..--end (replacing that range), or --incremental (rows after the last committed event time)',
    )
    .argument('<view>', 'feature or label view')
    .option('--start <time>', 'backfill from this event time (ISO 8601, inclusive)', isoTime('--start'))
    .option('--end <time>', 'backfill up to this event time (ISO 8601, exclusive)', isoTime('--end'))
    .option('--incremental', 'only rows newer than the last committed event time')
    .option('--no-wait', 'print the job id and return at once')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(
      async (
        view: string,
        f: CommonFlags & { controlPlane?: string; start?: string; end?: string; incremental?: boolean; wait: boolean },
      ) => {
        const client = clientOf(f);
        const job = await client.materialize({ view, start: f.start, end: f.end, incremental: f.incremental });
        if (!f.wait) {
          process.stdout.write(`${job.id}\n`);
          return;
        }
        const bar = new ProgressLine(`materialize ${view}`);
        const done = await client.waitForJob(job.id, (j) => bar.update(j.progress, 1, j.status));
        const r = done.result as MaterializationResult;
        bar.done(
          `${view}@${r.version}: ${r.mode ?? 'full'} run, ${r.rows} rows committed, ${r.onlineWritten} entities written online (job ${done.id})`,
        );
      },
    );

  withCommon(program.command('jobs'))
    .description('list jobs, newest first (a view name as --subject shows its materialization history)')
    .option('--kind <kind>', 'materialize, example-set...')
    .option('--status <status>', 'queued, running, succeeded or failed')
    .option('--subject <view>', 'jobs of one view')
    .option('--limit <n>', 'at most this many (default 20)', positiveInt, 20)
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(
      async (
        f: CommonFlags & {
          controlPlane?: string;
          kind?: string;
          status?: Job['status'];
          subject?: string;
          limit: number;
        },
      ) => {
        const client = clientOf(f);
        const { items } = await client.listJobs({ kind: f.kind, status: f.status, subject: f.subject, limit: f.limit });
        for (const j of items) {
          const what = j.subject ? `${j.kind} ${j.subject}` : j.kind;
          const err = j.error ? `  ${j.error.split('\n')[0]}` : '';
          process.stdout.write(
            `${j.id}  ${j.createdAt}  ${what.padEnd(32)} ${j.status.padEnd(9)} attempt ${j.attempts}/${j.maxAttempts}${err}\n`,
          );
        }
      },
    );
  withCommon(program.command('catalog'))
    .description("search every team's definitions, best match first")
    .argument('[query...]', 'words to match in names, features, descriptions, tags, entities, team, owner')
    .option('--kind <kind>', 'feature-view, label-view, feature-service, entity or data-source')
    .option('--team <team>')
    .option('--owner <owner>')
    .option('--entity <entity>')
    .option('--tag <tag>', 'key or key:value')
    .option('--limit <n>', 'at most this many (default 20)', positiveInt, 20)
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (words: string[], f: CommonFlags & CatalogQuery & { controlPlane?: string }) => {
      const { items } = await clientOf(f).searchCatalog({
        q: words.join(' ') || undefined,
        kind: f.kind,
        team: f.team,
        owner: f.owner,
        entity: f.entity,
        tag: f.tag,
        limit: f.limit,
      });
      for (const e of items) {
        const dup = e.duplicates.length ? `  (same definition as ${e.duplicates.map((d) => d.name).join(', ')})` : '';
        process.stdout.write(
          `${e.kind.padEnd(16)} ${`${e.name}@${e.version}`.padEnd(32)} ${e.description ?? ''}${dup}\n`,
        );
      }
      if (!items.length) process.stdout.write('no matches\n');
    });

  withCommon(program.command('describe'))
    .description("a view's schema, committed data, freshness, last run and consumers")
    .argument('<view>', 'feature or label view')
    .option('--label', 'the view is a label view')
    .option('--version <n>', 'a view version (default latest)', positiveInt)
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (view: string, f: CommonFlags & { controlPlane?: string; label?: boolean; version?: number }) => {
      const m = await clientOf(f).getViewMetadata(view, {
        kind: f.label ? 'label-view' : 'feature-view',
        version: f.version,
      });
      const out: string[] = [
        `${m.kind} ${m.name}@${m.version}${m.team ? `  team ${m.team}` : ''}${m.owner ? `  owner ${m.owner}` : ''}`,
      ];
      if (m.description) out.push(m.description);
      out.push('columns:', ...m.schema.map((c) => `  ${c.name.padEnd(28)} ${c.type.padEnd(10)} ${c.role}`));
      out.push(
        m.offline
          ? `offline: ${m.offline.rows} rows in ${m.offline.files} files${m.offline.bytes === null ? '' : `, ${m.offline.bytes} bytes`}, committed ${m.offline.committedAt}`
          : 'offline: not materialized yet',
      );
      const fr = m.freshness;
      out.push(
        `freshness: newest event ${fr.lastEventTime ?? 'none'}${fr.lagSeconds === null ? '' : ` (${Math.round(fr.lagSeconds)} s ago)`}` +
          (fr.schedule
            ? `; schedule ${fr.schedule} UTC, next run ${fr.nextRunAt}${fr.stale ? '; STALE' : ''}`
            : '; no schedule'),
      );
      if (m.lastRun)
        out.push(
          `last run: ${m.lastRun.status} (job ${m.lastRun.jobId}, attempt ${m.lastRun.attempts})${m.lastRun.error ? `: ${m.lastRun.error}` : ''}`,
        );
      const c = m.consumers;
      const names = (xs: { name: string; version: number }[]) =>
        xs.map((x) => `${x.name}@${x.version}`).join(', ') || 'none';
      out.push(
        `used by: feature services ${names(c.featureServices)}; example sets ${names(c.exampleSets)}; models ${names(c.models)}`,
      );
      process.stdout.write(`${out.join('\n')}\n`);
    });

  withCommon(program.command('build-example-set'))
    .description('build a new version of an example set (point-in-time join) and wait')
    .argument('<name>', 'example set name')
    .requiredOption('--label-view <view>', 'the spine: label rows with entity keys and event time')
    .option('--features <refs>', 'comma-separated view or view:feature references')
    .option('--feature-service <name>', 'take the features of a feature service instead')
    .option('--start <time>', 'label event time from (ISO 8601, inclusive)', isoTime('--start'))
    .option('--end <time>', 'label event time up to (ISO 8601, exclusive)', isoTime('--end'))
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(
      async (
        name: string,
        f: CommonFlags & {
          controlPlane?: string;
          labelView: string;
          features?: string;
          featureService?: string;
          start?: string;
          end?: string;
        },
      ) => {
        const client = clientOf(f);
        const job = await client.buildExampleSet({
          name,
          labelView: f.labelView,
          ...(f.features ? { features: f.features.split(',').map((x) => x.trim()) } : {}),
          ...(f.featureService ? { featureService: f.featureService } : {}),
          ...(f.start ? { start: f.start } : {}),
          ...(f.end ? { end: f.end } : {}),
        });
        const bar = new ProgressLine(`example set ${name}`);
        const done = await client.waitForJob(job.id, (j) => bar.update(j.progress, 1, j.status));
        const es = done.result as ExampleSet;
        bar.done(`${es.name}@${es.version}: ${es.rows} rows at ${es.location.uri}`);
      },
    );

  withCommon(program.command('delete'))
    .description('remove a definition explicitly (its versions stay readable); refused while something uses it')
    .argument(
      '<kind>',
      Object.values(registryKinds)
        .map((k) => k.kind)
        .join(', '),
    )
    .argument('<name>')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (kind: string, name: string, f: CommonFlags & { controlPlane?: string }) => {
      const plural = (Object.keys(registryKinds) as RegistryPath[]).find((p) => registryKinds[p].kind === kind);
      if (!plural)
        throw new InvalidArgumentError(
          `unknown kind '${kind}' (one of ${Object.values(registryKinds)
            .map((k) => k.kind)
            .join(', ')})`,
        );
      await clientOf(f).remove(plural, name);
      process.stdout.write(`${kind} ${name}: removed\n`);
    });

  registerOnlineCommands(program, withCommon, clientOf);
  registerRunCommands(program, withCommon, clientOf);
  registerModelCommands(program, withCommon, clientOf);
  registerBatchCommands(program, withCommon, clientOf);
  registerDeploymentCommands(program, withCommon, clientOf);
  return program;
}

/** Runs the CLI; errors print one readable message and exit non-zero. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    const msg =
      e instanceof ProblemError
        ? formatProblem(e.problem)
        : e instanceof ConfigError
          ? `configuration: ${e.message}`
          : (e as Error).message;
    process.stderr.write(`plinth: ${msg}\n`);
    process.exitCode = 1;
    // An inference worker's IPC channel would keep it alive; its primary needs to see it exit.
    if (isClusterWorker()) process.exit(1);
  }
}
