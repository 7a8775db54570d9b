import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PlinthClient, ProblemError, formatProblem, type Job, type MaterializationResult } from '@plinth/schema';
import { ConfigError, defaultDataDir, loadConfig, parsePort, type ConfigOverrides } from '../config';
import { VERSION } from '../version';
import { closeObjectStore, openObjectStore, openPlatform } from '../platform';
import { createControlPlane } from '../http/control-plane';
import { createInferenceServer } from '../inference/server';
import { LmdbOnlineStore } from '../stores/online/lmdb-store';
import { createLogger } from './logger';
import { ProgressLine } from './progress';
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

/** For the commands that open the object store themselves. */
const withObjectStore = (cmd: Command): Command =>
  cmd.option(
    '--object-store <url>',
    'object store: s3://bucket/prefix or a local directory (env PLINTH_OBJECT_STORE, default <data-dir>/objects)',
  );

const overrides = (f: CommonFlags & { controlPlane?: string }): ConfigOverrides => ({
  dataDir: f.dataDir,
  objectStore: f.objectStore,
  config: f.config,
  host: f.host,
  port: f.port,
  inferPort: f.inferPort,
  logLevel: f.logLevel,
  controlPlaneUrl: f.controlPlane,
});

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

  withCommon(program.command('up'))
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
        });
      },
    );

  withObjectStore(withCommon(program.command('serve')))
    .description('run the control plane (registry, jobs, example sets, model repository, deployments)')
    .option('--no-jobs', 'do not run jobs in this process (leave them to `plinth worker` processes)')
    .action(async (f: CommonFlags & { jobs: boolean }) => {
      const config = loadConfig(overrides(f));
      const log = createLogger(config.logLevel, 'plinth-control-plane');
      const platform = await openPlatform(config);
      const cp = await createControlPlane(platform, log, { runJobs: f.jobs });
      await cp.app.listen({ host: config.host, port: config.port });
      onSignals(async () => {
        await cp.close();
        await platform.close();
      });
    });

  withObjectStore(withCommon(program.command('infer')))
    .description('run the inference tier: serves the deployed pipelines, reading online features itself')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL, default http://<host>:<port>)')
    .option('--poll <ms>', 'how often to look for deployment changes', positiveInt, 2000)
    .action(async (f: CommonFlags & { controlPlane?: string; poll: number }) => {
      const config = loadConfig(overrides(f));
      const log = createLogger(config.logLevel, 'plinth-inference');
      const online = LmdbOnlineStore.open(config.onlineStore.path, { readOnly: true });
      const objects = openObjectStore(config);
      const srv = await createInferenceServer({
        controlPlaneUrl: config.controlPlaneUrl,
        token: config.token,
        online,
        objects,
        log,
        pollMs: f.poll,
      });
      await srv.app.listen({ host: config.host, port: config.inferPort });
      onSignals(async () => {
        await srv.close();
        await online.close();
        closeObjectStore(objects);
      });
    });

  withObjectStore(withCommon(program.command('worker')))
    .description(
      'run background jobs (materialization, example sets) leased from the control plane; pair with `serve --no-jobs`',
    )
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .option('--concurrency <n>', 'jobs run at once', positiveInt, 2)
    .action(async (f: CommonFlags & { controlPlane?: string; concurrency: number }) => {
      const config = loadConfig(overrides(f));
      const log = createLogger(config.logLevel, 'plinth-worker');
      const client = new PlinthClient({ baseUrl: config.controlPlaneUrl, token: config.token });
      await client.health();
      const online = LmdbOnlineStore.open(config.onlineStore.path);
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
      const config = loadConfig(overrides(f));
      const client = new PlinthClient({ baseUrl: config.controlPlaneUrl, token: config.token });
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
      const config = loadConfig(overrides(f));
      const client = new PlinthClient({ baseUrl: config.controlPlaneUrl, token: config.token });
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
        const config = loadConfig(overrides(f));
        const client = new PlinthClient({ baseUrl: config.controlPlaneUrl, token: config.token });
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
        const config = loadConfig(overrides(f));
        const client = new PlinthClient({ baseUrl: config.controlPlaneUrl, token: config.token });
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
  }
}
