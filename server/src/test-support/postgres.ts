/**
 * Starts a throwaway PostgreSQL server for integration tests: fresh cluster in a temp dir,
 * 127.0.0.1 on a free port, trust auth, default `postgres` database. Nothing is mocked
 * (DESIGN.md): tests that need PostgreSQL fail, not skip, when it is not installed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';

export interface RunningPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** Stops the server and deletes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const PG_USER = 'postgres';

/**
 * Directory holding `initdb` and `postgres`: pg_config, then Debian's layout (highest
 * version), then PATH. `where` overrides those places (for tests).
 */
export function findPostgresBinDir(where: { pgConfig?: string; debianRoot?: string; path?: string } = {}): string {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  try {
    const dir = execFileSync(where.pgConfig ?? 'pg_config', ['--bindir'], {
      encoding: 'utf8',
    }).trim();
    if (dir && has(dir)) return dir;
  } catch {
    // no pg_config: try the other places
  }
  const debian = where.debianRoot ?? '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && has(join(debian, v, 'bin')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  for (const dir of (where.path ?? process.env.PATH ?? '').split(delimiter)) {
    if (dir && has(dir)) return dir;
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, postgres) not found: looked at `pg_config --bindir`, ' +
      '/usr/lib/postgresql/*/bin and PATH. Install PostgreSQL (e.g. `apt-get install postgresql`) ' +
      'to run the PostgreSQL integration tests.',
  );
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function userIds(user: string): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      `running as root, and PostgreSQL refuses to run as root, but there is no "${user}" OS user ` +
        'to run it as; install PostgreSQL from the distribution (it creates the user) or run as non-root',
    );
  }
}

/** argv that runs `bin args...` as the postgres OS user when we are root, as is otherwise. */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [bin, args];
  if (existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser') || onPath('runuser')) {
    return ['runuser', ['-u', PG_USER, '--', bin, ...args]];
  }
  const quoted = [bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['su', [PG_USER, '-s', '/bin/sh', '-c', `exec ${quoted}`]];
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}

function runSync(bin: string, args: string[], what: string): void {
  const [cmd, argv] = asServerUser(bin, args);
  try {
    execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${what} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPostgres(): Promise<RunningPostgres> {
  const bin = findPostgresBinDir();
  const root = await mkdtemp(join(tmpdir(), 'plinth-pg-'));
  const dataDir = join(root, 'data');
  let child: ChildProcess | undefined;
  let stopped = false;
  let output = '';

  // Killing by the postmaster's own pid works whether or not runuser/su sits in between.
  const killNow = (signal: NodeJS.Signals) => {
    const pid = postmasterPid(dataDir) ?? child?.pid;
    if (pid && alive(pid)) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  // Last resort if the test process exits without calling stop(): no orphan servers or dirs.
  const onExit = () => {
    killNow('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    const pid = postmasterPid(dataDir) ?? child?.pid;
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGINT'); // "fast" shutdown: abort sessions, exit cleanly
      const deadline = Date.now() + 10_000;
      while (alive(pid) && Date.now() < deadline) await sleep(50);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      while (alive(pid)) await sleep(20);
    }
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child?.once('exit', () => resolve());
        setTimeout(resolve, 2_000);
      });
    }
    await rm(root, { recursive: true, force: true });
  };

  try {
    if (isRoot()) {
      const { uid, gid } = userIds(PG_USER);
      await chownTree(root, uid, gid);
    }
    runSync(
      join(bin, 'initdb'),
      ['-D', dataDir, '-U', PG_USER, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      'initdb',
    );
    const port = await freePort();
    const [cmd, argv] = asServerUser(join(bin, 'postgres'), [
      '-D',
      dataDir,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-k',
      root, // unix socket in our temp dir, not /var/run/postgresql
      // Durability is pointless for a throwaway cluster; speed matters.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=100',
    ]);
    child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));

    const url = `postgres://${PG_USER}@127.0.0.1:${port}/postgres`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited) throw new Error(`postgres exited during startup:\n${output}`);
      const client = new Client({ connectionString: url });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        break;
      } catch (err) {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) {
          throw new Error(`postgres did not accept connections within 30s: ${String(err)}\n${output}`);
        }
        await sleep(100);
      }
    }
    return { url, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
