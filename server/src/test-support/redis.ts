/**
 * A throwaway redis-server (Debian's `redis-server`, installed by scripts/test-all.sh) on
 * 127.0.0.1:<free port>, without persistence. Nothing is mocked (DESIGN.md).
 */
import { spawn } from 'node:child_process';
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

export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
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
