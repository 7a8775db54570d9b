/**
 * A throwaway redis-server (Debian's `redis-server`, installed by scripts/test-all.sh) on
 * 127.0.0.1:<free port>, without persistence. Nothing is mocked (DESIGN.md).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { freePort } from './net';

export interface RunningRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then waits for exit). Safe to call twice. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True once the server answers PING (a NOAUTH refusal counts: it is up, it wants a password). */
const answers = (port: number, tlsFiles?: RedisTlsFiles) =>
  new Promise<boolean>((resolve) => {
    const s = tlsFiles
      ? tls.connect({ port, host: '127.0.0.1', ca: fs.readFileSync(tlsFiles.caFile), servername: 'localhost' })
      : net.connect(port, '127.0.0.1');
    s.once(tlsFiles ? 'secureConnect' : 'connect', () => {
      s.write('PING\r\n');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()));
    });
    s.once('error', () => resolve(false));
  });

export interface RedisTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface StartRedisOptions {
  /** Extra redis-server arguments. */
  args?: string[];
  /** Listen here (e.g. to restart a server on its old port); default a free port. */
  port?: number;
  /** `requirepass`: clients must AUTH. */
  password?: string;
  /** Serve TLS only (no plain port), with this certificate; see `makeTlsFiles`. */
  tls?: RedisTlsFiles;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RunningRedis> {
  const port = opts.port ?? (await freePort());
  const listen = opts.tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        opts.tls.certFile,
        '--tls-key-file',
        opts.tls.keyFile,
        '--tls-ca-cert-file',
        opts.tls.caFile,
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  const child = spawn(
    'redis-server',
    [
      ...listen,
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
      ...(opts.password ? ['--requirepass', opts.password] : []),
      ...(opts.args ?? []),
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
  for (let i = 0; !(await answers(port, opts.tls)); i++) {
    if (child.exitCode !== null || i > 200) throw new Error(`redis-server did not start on ${port}: ${log}`);
    await sleep(25);
  }
  let stopped = false;
  return {
    url: `${opts.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
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
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            path.join(nodeDir, 'nodes.conf'),
            '--dir',
            nodeDir,
          ],
        }),
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

/**
 * A throwaway CA and a server certificate for localhost / 127.0.0.1, made with the openssl
 * command line, in `dir`.
 */
export function makeTlsFiles(dir: string): RedisTlsFiles {
  const f = (n: string) => path.join(dir, n);
  const openssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  };
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=plinth-test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    f('redis.key'),
    '-out',
    f('redis.csr'),
  );
  fs.writeFileSync(f('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    f('redis.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
    '-out',
    f('redis.crt'),
  );
  return { caFile: f('ca.crt'), certFile: f('redis.crt'), keyFile: f('redis.key') };
}
