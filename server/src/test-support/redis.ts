/**
 * A throwaway redis-server (Debian's `redis-server`, installed by scripts/test-all.sh) on
 * 127.0.0.1:<free port>, without persistence. Nothing is mocked (DESIGN.md).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { freePort } from './net';

export interface RunningRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then waits for exit). Safe to call twice. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.write('PING\r\n');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });

export async function startRedis(extraArgs: string[] = []): Promise<RunningRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) =>
      reject(new Error(`cannot start redis-server (${e.message}); scripts/test-all.sh installs it on Debian`)),
    );
  });
  await spawned;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; !(await answers(port)); i++) {
    if (child.exitCode !== null || i > 200) throw new Error(`redis-server did not start on ${port}: ${log}`);
    await sleep(25);
  }
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface RunningRedisCluster {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/**
 * A throwaway Redis Cluster of `masters` redis-server processes (no replicas), slots assigned
 * with `redis-cli --cluster create`.
 */
export async function startRedisCluster(masters = 3): Promise<RunningRedisCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-redis-cluster-'));
  const servers: RunningRedis[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const nodeDir = path.join(dir, String(i));
      fs.mkdirSync(nodeDir);
      servers.push(
        await startRedis([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(nodeDir, 'nodes.conf'),
          '--dir',
          nodeDir,
        ]),
      );
    }
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    // Slots are assigned; wait until every node agrees the cluster is up.
    for (const s of servers) {
      for (let i = 0; ; i++) {
        const info = spawnSync('redis-cli', ['-p', String(s.port), 'cluster', 'info'], { encoding: 'utf8' });
        if (info.stdout.includes('cluster_state:ok')) break;
        if (i > 200) throw new Error(`Redis Cluster node ${s.port} never reached cluster_state:ok: ${info.stdout}`);
        await sleep(50);
      }
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
