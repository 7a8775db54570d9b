import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PlinthClient } from '@plinth/schema';
import type { PlinthConfig } from '../config';
import { openPlatform } from '../platform';
import { createControlPlane } from '../http/control-plane';
import { createLogger, onlineStoreLogger } from './logger';
import { demoEntities, demoFeatureViews, demoLabelViews, demoSources } from './demo-definitions';
import { ensureDemoLake } from './demo-data';

export interface UpOptions {
  jupyter: boolean;
  jupyterPort: number;
  demo: boolean;
  demoSize: 'tiny' | 'small' | 'medium' | 'large';
  venv: string;
  notebookDir: string;
  /** Store flags given to `up`, passed on to the inference tier it starts. */
  storeFlags?: { objectStore?: string; onlineStore?: string };
}

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

async function waitForHttp(url: string, child: ChildProcess | null, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null)
      throw new Error(`${what} exited with code ${child.exitCode} before it was ready`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Points the JupyterLab extension at this control plane when it is not on the default port. */
function writeLabOverrides(venv: string, port: number): void {
  const dir = path.join(venv, 'share', 'jupyter', 'lab', 'settings');
  const file = path.join(dir, 'overrides.json');
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // none yet
  }
  current['@plinth/jupyterlab:plugin'] = {
    ...((current['@plinth/jupyterlab:plugin'] as object) ?? {}),
    serverUrl: `proxy/${port}/`,
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(current, null, 2));
}

/**
 * `plinth up`: the whole platform on one machine with embedded stores: demo lake (first run),
 * control plane (in this process), inference tier (a child process, since onnxruntime's run
 * blocks its event loop) and JupyterLab with the Plinth extension and the tslab kernel.
 */
export async function up(config: PlinthConfig, opts: UpOptions): Promise<void> {
  const logDir = path.join(config.dataDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  if (opts.demo) await ensureDemoLake(config.lakeDir, opts.demoSize);

  const log = createLogger(config.logLevel, 'plinth-control-plane', path.join(logDir, 'control-plane.log'));
  const platform = await openPlatform(config, { onOnlineStoreEvent: onlineStoreLogger(log) });
  const cp = await createControlPlane(platform, log);
  await cp.app.listen({ host: config.host, port: config.port });
  const client = new PlinthClient({ baseUrl: config.controlPlaneUrl, token: config.token });
  if (opts.demo) {
    const applied = await client.applyDefinitions({
      entities: demoEntities,
      dataSources: demoSources,
      featureViews: demoFeatureViews,
      labelViews: demoLabelViews,
    });
    const created = applied.filter((a) => a.created).length;
    out(`Demo definitions: ${applied.length} applied (${created} new or changed).`);
  }

  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await cp.close();
    await platform.close();
    process.exit(code);
  };
  const spawnLogged = (what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv) => {
    const logFile = fs.openSync(path.join(logDir, `${what}.log`), 'a');
    const child = spawn(cmd, args, { env, stdio: ['ignore', logFile, logFile] });
    child.on('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(
          `${what} stopped unexpectedly (${signal ?? `exit ${code}`}); see ${path.join(logDir, `${what}.log`)}\n`,
        );
        void stop(1);
      }
    });
    children.push(child);
    return child;
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const plinthBin = path.join(repoRoot, 'server', 'bin', 'plinth.js');
  const infer = spawnLogged(
    'inference',
    process.execPath,
    [
      plinthBin,
      'infer',
      '--data-dir',
      config.dataDir,
      '--infer-port',
      String(config.inferPort),
      '--host',
      config.host,
      '--control-plane',
      config.controlPlaneUrl,
      ...(opts.storeFlags?.objectStore ? ['--object-store', opts.storeFlags.objectStore] : []),
      ...(opts.storeFlags?.onlineStore ? ['--online-store', opts.storeFlags.onlineStore] : []),
    ],
    process.env,
  );
  await waitForHttp(`${config.inferenceUrl}/v1/health`, infer, 'the inference tier');

  out(`Plinth is up. Data: ${config.dataDir}   Logs: ${logDir}`);
  out(
    `  control plane  ${config.controlPlaneUrl}/api/v1/health   (API: ${config.controlPlaneUrl}/api/v1/openapi.json)`,
  );
  out(`  inference      ${config.inferenceUrl}/v1/health`);
  if (opts.jupyter) {
    const jupyter = path.join(opts.venv, 'bin', 'jupyter');
    if (!fs.existsSync(jupyter))
      throw new Error(
        `JupyterLab is not installed in ${opts.venv}; run the README's up command (npm run up), or pass --no-jupyter`,
      );
    if (config.port !== 8787) writeLabOverrides(opts.venv, config.port);
    const token = crypto.randomBytes(24).toString('hex');
    const env = {
      ...process.env,
      PATH: `${path.join(opts.venv, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
      PLINTH_URL: config.controlPlaneUrl,
      PLINTH_INFERENCE_URL: config.inferenceUrl,
      ...(config.token ? { PLINTH_TOKEN: config.token } : {}),
    };
    const lab = spawnLogged(
      'jupyterlab',
      jupyter,
      [
        'lab',
        '--no-browser',
        `--ServerApp.ip=${config.host}`,
        `--ServerApp.port=${opts.jupyterPort}`,
        '--ServerApp.port_retries=0',
        `--ServerApp.root_dir=${opts.notebookDir}`,
        `--IdentityProvider.token=${token}`,
        // Containers and CI machines often run as root, which JupyterLab refuses by default.
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      ],
      env,
    );
    const base = `http://${config.host}:${opts.jupyterPort}`;
    await waitForHttp(`${base}/api/status?token=${token}`, lab, 'JupyterLab');
    out(`  JupyterLab     ${base}/lab/tree/quickstart.ipynb?token=${token}`);
    out('');
    out(`Open the JupyterLab link above: the quickstart notebook goes from the lake to a deployed model.`);
  }
  out('Press Ctrl-C to stop.');
}
